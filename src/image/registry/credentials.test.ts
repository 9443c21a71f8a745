import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { authFileCandidates, findCredentials, normalizeAuthKey, removeCredentials, saveCredentials } from "./credentials.ts";

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "bunc-creds-"));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

const b64 = (s: string) => Buffer.from(s).toString("base64");
function writeJson(path: string, value: unknown): string {
  mkdirSync(join(path, ".."), { recursive: true });
  writeFileSync(path, JSON.stringify(value));
  return path;
}
/** An environment with every lookup place inside the test's dir. */
function env(extra: Record<string, string> = {}) {
  return { HOME: join(dir, "home"), XDG_RUNTIME_DIR: join(dir, "run"), PATH: join(dir, "bin"), ...extra };
}

describe("auth file lookup order", () => {
  test("candidates in podman's and docker's order", () => {
    const e = env({ REGISTRY_AUTH_FILE: join(dir, "a.json"), DOCKER_CONFIG: join(dir, "dc") });
    expect(authFileCandidates(e)).toEqual([join(dir, "a.json"), join(dir, "run/containers/auth.json"), join(dir, "dc/config.json"), join(dir, "home/.docker/config.json")]);
  });

  test("the first file that knows the registry wins, later ones fill in", async () => {
    const e = env({ REGISTRY_AUTH_FILE: join(dir, "a.json"), DOCKER_CONFIG: join(dir, "dc") });
    writeJson(join(dir, "a.json"), { auths: { "one.example": { auth: b64("u1:p1") } } });
    writeJson(join(dir, "run/containers/auth.json"), { auths: { "one.example": { auth: b64("u2:p2") }, "two.example": { auth: b64("u2:p2") } } });
    writeJson(join(dir, "dc/config.json"), { auths: { "three.example": { auth: b64("u3:p3") }, "two.example": { auth: b64("u3:x") } } });
    writeJson(join(dir, "home/.docker/config.json"), { auths: { "four.example:5000": { auth: b64("u4:p:4") } } });
    expect(await findCredentials("one.example", "r", { env: e })).toEqual({ username: "u1", password: "p1" });
    expect(await findCredentials("two.example", "r", { env: e })).toEqual({ username: "u2", password: "p2" });
    expect(await findCredentials("three.example", "r", { env: e })).toEqual({ username: "u3", password: "p3" });
    expect(await findCredentials("four.example:5000", "r", { env: e })).toEqual({ username: "u4", password: "p:4" });
    expect(await findCredentials("five.example", "r", { env: e })).toBeUndefined();
  });

  test("repository-scoped keys, the most specific first; docker's legacy Hub key", async () => {
    const e = env();
    writeJson(join(dir, "home/.docker/config.json"), {
      auths: {
        "reg.example": { auth: b64("whole:1") },
        "reg.example/team": { auth: b64("team:2") },
        "reg.example/team/app": { auth: b64("app:3") },
        "https://index.docker.io/v1/": { auth: b64("hub:4") },
      },
    });
    expect(await findCredentials("reg.example", "team/app", { env: e })).toEqual({ username: "app", password: "3" });
    expect(await findCredentials("reg.example", "team/other", { env: e })).toEqual({ username: "team", password: "2" });
    expect(await findCredentials("reg.example", "solo", { env: e })).toEqual({ username: "whole", password: "1" });
    expect(await findCredentials("docker.io", "library/alpine", { env: e })).toEqual({ username: "hub", password: "4" });
    expect(normalizeAuthKey("https://index.docker.io/v1/")).toBe("docker.io");
    expect(normalizeAuthKey("http://reg:5000/v2/")).toBe("reg:5000");
  });

  test("an identity token", async () => {
    writeJson(join(dir, "a.json"), { auths: { "r.example": { auth: "", identitytoken: "tok" } } });
    expect(await findCredentials("r.example", "x", { env: env({ REGISTRY_AUTH_FILE: join(dir, "a.json") }) })).toEqual({ identityToken: "tok" });
  });

  test.each([
    ["{not json", "not valid JSON"],
    ['{"auths": []}', '"auths" must be an object'],
    ['{"auths": {"r.example": {"auth": "bm9jb2xvbg=="}}}', 'is not base64 of "user:password"'],
    ['{"credsStore": 3}', '"credsStore" must be a string'],
  ])("a bad file is an error naming it: %s", async (text, why) => {
    const file = join(dir, "bad.json");
    writeFileSync(file, text);
    const lookup = findCredentials("r.example", "x", { env: env({ REGISTRY_AUTH_FILE: file }) });
    await expect(lookup).rejects.toThrow(why);
    await expect(findCredentials("r.example", "x", { env: env({ REGISTRY_AUTH_FILE: file }) })).rejects.toThrow(file);
  });
});

describe("credential helpers", () => {
  function helper(name: string, secretFor: Record<string, [string, string]>) {
    mkdirSync(join(dir, "bin"), { recursive: true });
    const log = join(dir, `${name}.log`);
    const cases = Object.entries(secretFor)
      .map(([server, [user, secret]]) => `  ${JSON.stringify(server)}) printf '{"ServerURL":"%s","Username":"${user}","Secret":"${secret}"}' "$server";;`)
      .join("\n");
    const script = `#!/bin/sh
read server
echo "$1 $server" >> ${log}
case "$1" in
get) case "$server" in
${cases}
  *) echo "credentials not found in native keychain"; exit 1;;
  esac;;
store) echo "$server" > ${join(dir, `${name}.stored`)};;
erase) exit 0;;
esac
`;
    const path = join(dir, "bin", `docker-credential-${name}`);
    writeFileSync(path, script);
    chmodSync(path, 0o755);
    return log;
  }

  test("credHelpers for one registry, credsStore for the rest, Hub under its legacy URL", async () => {
    const log = helper("test", { "r.example": ["hu", "hs"], "https://index.docker.io/v1/": ["<token>", "idtok"] });
    helper("store", { "s.example": ["su", "ss"] });
    const e = env({ REGISTRY_AUTH_FILE: writeJson(join(dir, "a.json"), { credHelpers: { "r.example": "test", "docker.io": "test" }, credsStore: "store", auths: { "s.example": {} } }) });
    expect(await findCredentials("r.example", "app", { env: e })).toEqual({ username: "hu", password: "hs" });
    expect(await findCredentials("docker.io", "library/alpine", { env: e })).toEqual({ identityToken: "idtok" });
    expect(await findCredentials("s.example", "app", { env: e })).toEqual({ username: "su", password: "ss" });
    expect(await findCredentials("none.example", "app", { env: e })).toBeUndefined();
    expect(readFileSync(log, "utf8")).toBe("get r.example\nget https://index.docker.io/v1/\n");
  });

  test("a helper that is missing or fails is an error naming it", async () => {
    const e = env({ REGISTRY_AUTH_FILE: writeJson(join(dir, "a.json"), { credHelpers: { "r.example": "absent", "b.example": "bad/name" } }) });
    await expect(findCredentials("r.example", "x", { env: e })).rejects.toThrow("docker-credential-absent is not on PATH");
    await expect(findCredentials("b.example", "x", { env: e })).rejects.toThrow('credential helper name "bad/name" is not a plain name');
  });

  test("save and remove go through the file's helper", async () => {
    const log = helper("test", {});
    const file = writeJson(join(dir, "a.json"), { credHelpers: { "r.example": "test" } });
    await saveCredentials("r.example", "u", "p", { file, env: env() });
    expect(readFileSync(join(dir, "test.stored"), "utf8")).toContain('"ServerURL":"r.example"');
    expect(await removeCredentials("r.example", { file, env: env() })).toBe(true);
    expect(readFileSync(log, "utf8")).toContain("erase r.example");
  });
});

describe("save and remove entries", () => {
  test("save writes an auths entry, keeps other fields, 0600; remove deletes it and legacy spellings", async () => {
    const e = env({ REGISTRY_AUTH_FILE: join(dir, "new", "auth.json") });
    await saveCredentials("r.example:5000", "user", "pa:ss", { env: e });
    const file = join(dir, "new", "auth.json");
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(await findCredentials("r.example:5000", "x", { env: e })).toEqual({ username: "user", password: "pa:ss" });
    writeJson(file, { ...JSON.parse(readFileSync(file, "utf8")), other: { keep: true }, auths: { ...JSON.parse(readFileSync(file, "utf8")).auths, "https://index.docker.io/v1/": { auth: b64("a:b") } } });
    await saveCredentials("docker.io", "hub", "pw", { env: e });
    const saved = JSON.parse(readFileSync(file, "utf8"));
    expect(saved.other).toEqual({ keep: true });
    expect(Object.keys(saved.auths).sort()).toEqual(["docker.io", "r.example:5000"]);
    expect(await removeCredentials("docker.io", { env: e })).toBe(true);
    expect(await removeCredentials("docker.io", { env: e })).toBe(false);
    expect(Object.keys(JSON.parse(readFileSync(file, "utf8")).auths)).toEqual(["r.example:5000"]);
    expect(await removeCredentials("nothing.example", { env: env({ REGISTRY_AUTH_FILE: join(dir, "none.json") }) })).toBe(false);
  });

  test("a username with a colon is refused", async () => {
    await expect(saveCredentials("r.example", "a:b", "p", { file: join(dir, "x.json") })).rejects.toThrow('username "a:b": must not contain ":"');
  });
});
