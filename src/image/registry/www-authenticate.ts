// WWW-Authenticate as RFC 7235 writes it: one or more challenges, each a scheme followed by
// comma-separated auth-params (name=token or name="quoted string" with \-escapes), e.g.
//   Bearer realm="https://auth.example/token",service="registry.example",scope="repository:a:pull"
//   Basic realm="Registry Realm"
// Scheme and parameter names are case-insensitive: both are returned lowercased.
import { registryError, shown } from "./registry-error.ts";

export interface Challenge {
  scheme: string;
  params: Record<string, string>;
}

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+/;
const TOKEN68 = /^[A-Za-z0-9._~+/-]+=*/;

/** Parse a WWW-Authenticate header value into its challenges, in order. */
export function parseWwwAuthenticate(header: string): Challenge[] {
  const fail = (why: string) => registryError(`WWW-Authenticate ${shown(header)}: ${why}`);
  const challenges: Challenge[] = [];
  let s = header;
  const skipSpace = () => {
    s = s.replace(/^[ \t]+/, "");
  };
  skipSpace();
  while (s !== "") {
    if (s.startsWith(",")) {
      s = s.slice(1);
      skipSpace();
      continue;
    }
    const scheme = TOKEN.exec(s)?.[0];
    if (!scheme) throw fail(`expected an auth scheme at ${shown(s, 40)}`);
    s = s.slice(scheme.length);
    skipSpace();
    const challenge: Challenge = { scheme: scheme.toLowerCase(), params: {} };
    challenges.push(challenge);
    // token68 form (`Negotiate abc==`): kept as the "" parameter.
    const t68 = TOKEN68.exec(s)?.[0];
    if (t68 && !/^\s*=/.test(s.slice(t68.length)) && (s.length === t68.length || /^\s*,/.test(s.slice(t68.length)))) {
      challenge.params[""] = t68;
      s = s.slice(t68.length);
      skipSpace();
      continue;
    }
    while (s !== "") {
      const save = s;
      const name = TOKEN.exec(s)?.[0];
      if (!name) break;
      s = s.slice(name.length);
      skipSpace();
      if (!s.startsWith("=")) {
        // A bare token: the next challenge's scheme.
        s = save;
        break;
      }
      s = s.slice(1);
      skipSpace();
      let value: string;
      if (s.startsWith('"')) {
        value = "";
        let i = 1;
        for (; i < s.length && s[i] !== '"'; i++) {
          if (s[i] === "\\" && i + 1 < s.length) i++;
          value += s[i];
        }
        if (i >= s.length) throw fail(`unterminated quoted value of ${shown(name)}`);
        s = s.slice(i + 1);
      } else {
        const token = TOKEN.exec(s)?.[0];
        if (token === undefined) throw fail(`expected a value for ${shown(name)}`);
        value = token;
        s = s.slice(token.length);
      }
      challenge.params[name.toLowerCase()] = value;
      skipSpace();
      if (!s.startsWith(",")) break;
      s = s.slice(1);
      skipSpace();
    }
    if (s !== "" && !TOKEN.test(s) && !s.startsWith(",")) throw fail(`unexpected ${shown(s, 40)}`);
  }
  return challenges;
}
