import { describe, expect, test } from "bun:test";
import { parseWwwAuthenticate } from "./www-authenticate.ts";

describe("parseWwwAuthenticate", () => {
  test("docker's bearer challenge", () => {
    expect(parseWwwAuthenticate('Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/alpine:pull"')).toEqual([
      { scheme: "bearer", params: { realm: "https://auth.docker.io/token", service: "registry.docker.io", scope: "repository:library/alpine:pull" } },
    ]);
  });
  test("basic, case-insensitive names, tokens and spaces", () => {
    expect(parseWwwAuthenticate('BASIC Realm = "Registry Realm" , charset=UTF-8')).toEqual([{ scheme: "basic", params: { realm: "Registry Realm", charset: "UTF-8" } }]);
  });
  test("several challenges and escapes", () => {
    expect(parseWwwAuthenticate('Basic realm="a\\"b", Bearer realm="https://x/t",scope="repository:a:pull,push"')).toEqual([
      { scheme: "basic", params: { realm: 'a"b' } },
      { scheme: "bearer", params: { realm: "https://x/t", scope: "repository:a:pull,push" } },
    ]);
  });
  test("token68 and a bare scheme", () => {
    expect(parseWwwAuthenticate("Negotiate abc==, Bearer")).toEqual([
      { scheme: "negotiate", params: { "": "abc==" } },
      { scheme: "bearer", params: {} },
    ]);
  });
  test.each([
    ['Bearer realm="unterminated', "unterminated quoted value"],
    ["=x", "expected an auth scheme"],
    ['Bearer realm="x", service=', 'expected a value for "service"'],
  ])("refuses %p", (header, why) => {
    expect(() => parseWwwAuthenticate(header)).toThrow(why);
  });
});
