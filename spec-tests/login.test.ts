// `bunc login` and `bunc logout` against the real distribution registry with htpasswd auth on
// loopback: credentials are checked before they are saved, saved in docker's auth-file format
// where `bunc pull` finds them, and removed again.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buncPath } from "./support/bunc.ts";
import { image, layer, writeLayout } from "./support/registry-images.ts";
import { type TestRegistry, pushLayout, startRegistry } from "./support/registry.ts";

let work: string;
let secured: TestRegistry;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), "bunc-login-"));
  secured = await startRegistry({ user: "alice", password: "s3cret" });
  const img = image([await layer({ "hello.txt": "hello\n" }, "gzip")]);
  const layout = join(work, "layout");
  writeLayout(layout, [img.config, img.manifest, ...img.layers], { "1": img.manifest });
  pushLayout(layout, "1", secured, "private/app", { creds: "alice:s3cret" });
}, 120_000);

afterAll(async () => {
  await secured?.stop();
  rmSync(work, { recursive: true, force: true });
});

function bunc(args: string[], stdin?: string) {
  // Only the auth file the test names: none of the host's.
  const env = { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: join(work, "home"), XDG_RUNTIME_DIR: "" };
  const r = Bun.spawnSync([buncPath(), ...args], { env, stdin: stdin === undefined ? "ignore" : Buffer.from(stdin), stdout: "pipe", stderr: "pipe", timeout: 60_000 });
  return { exitCode: r.exitCode, stdout: r.stdout.toString(), stderr: r.stderr.toString() };
}

describe("login and logout", () => {
  test("wrong credentials are refused and nothing is written; right ones are saved and let pull in; logout removes them", () => {
    const authfile = join(work, "auth.json");
    const store = join(work, "store");
    const pull = () => bunc(["--store", store, "pull", "--quiet", `${secured.host}/private/app:1`]);
    // Anonymous: the registry says 401.
    const anonymous = pull();
    expect(anonymous.exitCode).toBe(1);
    expect(anonymous.stderr).toContain("401");

    const wrong = bunc(["login", "-u", "alice", "--password-stdin", "--authfile", authfile, secured.host], "wrong\n");
    expect(wrong.exitCode).toBe(1);
    expect(wrong.stderr).toContain("401 unauthorized with the credentials given");
    expect(existsSync(authfile)).toBe(false);

    const ok = bunc(["login", "-u", "alice", "--password-stdin", "--authfile", authfile, secured.host], "s3cret\n");
    expect(ok.stderr).toContain(`Login Succeeded: ${secured.host}`);
    expect(ok.exitCode).toBe(0);
    const saved = JSON.parse(readFileSync(authfile, "utf8"));
    expect(saved.auths[secured.host].auth).toBe(Buffer.from("alice:s3cret").toString("base64"));

    // pull reads the same file through REGISTRY_AUTH_FILE.
    const env = { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: join(work, "home"), XDG_RUNTIME_DIR: "", REGISTRY_AUTH_FILE: authfile };
    const pulled = Bun.spawnSync([buncPath(), "--store", store, "pull", "--quiet", `${secured.host}/private/app:1`], { env, stdout: "pipe", stderr: "pipe", timeout: 60_000 });
    expect(pulled.stderr.toString()).toBe("");
    expect(pulled.exitCode).toBe(0);

    expect(bunc(["logout", "--authfile", authfile, secured.host]).exitCode).toBe(0);
    expect(JSON.parse(readFileSync(authfile, "utf8")).auths[secured.host]).toBeUndefined();
    const again = bunc(["logout", "--authfile", authfile, secured.host]);
    expect(again.exitCode).toBe(1);
    expect(again.stderr).toContain(`not logged in to ${secured.host}`);
  });

  test("other entries of the auth file are kept", () => {
    const authfile = join(work, "shared.json");
    writeFileSync(authfile, JSON.stringify({ auths: { "other.example": { auth: "eDp5" } }, credHelpers: {} }));
    expect(bunc(["login", "-u", "alice", "-p", "s3cret", "--authfile", authfile, secured.host]).exitCode).toBe(0);
    const saved = JSON.parse(readFileSync(authfile, "utf8"));
    expect(Object.keys(saved.auths).sort()).toEqual(["other.example", secured.host].sort());
  });

  test("bad input: no user, no password, both password flags, a registry that is no host", () => {
    const authfile = join(work, "bad.json");
    const cases: [string[], string][] = [
      [["login", "--password-stdin", secured.host], "--username is required"],
      [["login", "-u", "alice", secured.host], "--password-stdin"],
      [["login", "-u", "alice", "-p", "x", "--password-stdin", secured.host], "exclude each other"],
      [["login", "-u", "alice", "-p", "x", "not a host"], '"not a host"'],
    ];
    for (const [args, message] of cases) {
      const r = bunc([...args.slice(0, 1), "--authfile", authfile, ...args.slice(1)], "");
      expect(r.exitCode).toBe(1);
      expect(r.stderr).toContain(message);
    }
    expect(existsSync(authfile)).toBe(false);
  });
});
