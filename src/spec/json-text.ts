// JSON.parse with an error that says where. JavaScriptCore's messages carry no position
// ("JSON Parse error: Expected '}'"), so on failure a small scanner walks the text again to
// find the first offending character.
import { BuncError, type ErrorCode } from "../errors.ts";

/** Parse JSON text; a syntax error names the file, line and column. */
export function parseJsonText(text: string, file: string, code: ErrorCode = "config"): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    const found = findJsonError(text);
    if (!found) throw new BuncError(code, `${file}: invalid JSON: ${(err as Error).message}`);
    const { line, column } = lineColumn(text, found.offset);
    throw new BuncError(code, `${file}: invalid JSON at line ${line}, column ${column}: ${found.reason}`);
  }
}

export function lineColumn(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < offset && i < text.length; i++) {
    if (text.charCodeAt(i) === 10) {
      line++;
      lineStart = i + 1;
    }
  }
  return { line, column: offset - lineStart + 1 };
}

const NUMBER = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/y;
const ESCAPES = new Set(['"', "\\", "/", "b", "f", "n", "r", "t"]);
const HEX4 = /^[0-9a-fA-F]{4}$/;

/**
 * The offset and cause of the first syntax error in `text`, or null when it is valid JSON.
 * Iterative, so deep nesting cannot overflow the stack.
 */
export function findJsonError(text: string): { offset: number; reason: string } | null {
  const n = text.length;
  let i = 0;
  const stack: ("{" | "[")[] = [];
  const at = (reason: string) => ({ offset: i, reason });
  const here = () => (i >= n ? "end of input" : JSON.stringify(text[i]));

  const ws = () => {
    while (i < n) {
      const c = text.charCodeAt(i);
      if (c !== 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) break;
      i++;
    }
  };

  // A string starting at text[i] === '"'; returns an error or null with i past the quote.
  const str = () => {
    i++;
    for (;;) {
      if (i >= n) return at("unterminated string");
      const c = text.charCodeAt(i);
      if (c === 0x22) {
        i++;
        return null;
      }
      if (c < 0x20) return at("control character in string (escape it)");
      if (c === 0x5c) {
        const e = text[i + 1];
        if (e === "u") {
          if (!HEX4.test(text.slice(i + 2, i + 6))) return at("invalid \\u escape in string");
          i += 6;
        } else if (e !== undefined && ESCAPES.has(e)) {
          i += 2;
        } else {
          return at("invalid escape in string");
        }
        continue;
      }
      i++;
    }
  };

  // A member name and its colon, leaving i at the value.
  const key = () => {
    ws();
    if (text[i] !== '"') return at(`expected a property name in double quotes, found ${here()}`);
    const e = str();
    if (e) return e;
    ws();
    if (text[i] !== ":") return at(`expected ':' after the property name, found ${here()}`);
    i++;
    return null;
  };

  for (;;) {
    // at a value
    ws();
    if (i >= n) return at("unexpected end of input, expected a value");
    const c = text[i]!;
    if (c === "{" || c === "[") {
      i++;
      ws();
      const close = c === "{" ? "}" : "]";
      if (text[i] !== close) {
        stack.push(c);
        if (c === "{") {
          const e = key();
          if (e) return e;
        }
        continue;
      }
      i++;
    } else if (c === '"') {
      const e = str();
      if (e) return e;
    } else if (c === "-" || (c >= "0" && c <= "9")) {
      NUMBER.lastIndex = i;
      if (!NUMBER.test(text)) return at("invalid number");
      i = NUMBER.lastIndex;
    } else if (text.startsWith("true", i)) {
      i += 4;
    } else if (text.startsWith("false", i)) {
      i += 5;
    } else if (text.startsWith("null", i)) {
      i += 4;
    } else {
      return at(`unexpected ${here()}, expected a value`);
    }

    // after a complete value: separators and closing brackets
    for (;;) {
      ws();
      const top = stack[stack.length - 1];
      if (top === undefined) return i < n ? at(`unexpected ${here()} after the end of the document`) : null;
      const close = top === "{" ? "}" : "]";
      if (text[i] === close) {
        i++;
        stack.pop();
        continue;
      }
      if (text[i] !== ",") return at(`expected ',' or '${close}', found ${here()}`);
      i++;
      if (top === "{") {
        const e = key();
        if (e) return e;
      }
      break;
    }
  }
}
