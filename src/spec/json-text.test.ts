import { describe, expect, test } from "bun:test";
import { BuncError } from "../errors.ts";
import { findJsonError, lineColumn, parseJsonText } from "./json-text.ts";

const valid = [
  "{}",
  "[]",
  " 0 ",
  '{"a": [1, -2.5e3, true, false, null, "x\\n\\u00e9"], "b": {"c": {}}}',
  '"\\"\\\\\\/\\b\\f\\n\\r\\t"',
  "[[[[[]]]]]",
  "[".repeat(20000) + "]".repeat(20000),
];

const invalid: [string, number, RegExp][] = [
  ["", 0, /end of input/],
  ['{"a": 1,, }', 8, /property name/],
  ['{"a": x}', 6, /unexpected "x"/],
  ['{"a": 1', 7, /expected ',' or '}'/],
  ["[1 2]", 3, /expected ',' or '\]'/],
  ['{"a" 1}', 5, /expected ':'/],
  ["[1,]", 3, /expected a value/],
  ['{"a":1,}', 7, /property name/],
  ["{'a':1}", 1, /double quotes/],
  ['["a\tb"]', 3, /control character/],
  ['["\\x"]', 2, /invalid escape/],
  ['["\\u12G4"]', 2, /\\u escape/],
  ['"abc', 4, /unterminated/],
  ["01", 1, /after the end/],
  ["-", 0, /invalid number/],
  ["1.", 1, /after the end/],
  ["{} {}", 3, /after the end/],
  ["tru", 0, /unexpected "t"/],
  ["\uFEFF{}", 0, /unexpected/],
];

describe("findJsonError", () => {
  test("agrees with JSON.parse on valid text", () => {
    for (const t of valid) {
      expect(() => JSON.parse(t)).not.toThrow();
      expect(findJsonError(t)).toBeNull();
    }
  });

  test("finds the first bad character", () => {
    for (const [t, offset, reason] of invalid) {
      expect(() => JSON.parse(t)).toThrow();
      const found = findJsonError(t);
      expect({ t, offset: found?.offset }).toEqual({ t, offset });
      expect(found!.reason).toMatch(reason);
    }
  });
});

describe("parseJsonText", () => {
  test("returns the value", () => {
    expect(parseJsonText('{"a":[1]}', "x.json")).toEqual({ a: [1] });
  });

  test("names the file, line and column", () => {
    const text = '{\n  "a": 1,\n  "b": oops\n}';
    let err: unknown;
    try {
      parseJsonText(text, "/b/config.json");
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(BuncError);
    expect((err as BuncError).code).toBe("config");
    expect((err as BuncError).message).toBe('/b/config.json: invalid JSON at line 3, column 8: unexpected "o", expected a value');
  });

  test("lineColumn counts from 1", () => {
    expect(lineColumn("ab\ncd", 0)).toEqual({ line: 1, column: 1 });
    expect(lineColumn("ab\ncd", 4)).toEqual({ line: 2, column: 2 });
  });
});
