// `--log FILE --log-format json`: where containerd's shim and conmon read the runtime's error.
// Each line is one JSON object with level, msg and an RFC 3339 time; a command that succeeds
// writes no error; a bad command line is logged too (else the client only says it could not
// find one).
import { afterAll, afterEach, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type BuncOptions, TestRuntime } from "./support/bunc.ts";
import { removeTree, TEMP_PREFIX } from "./support/bundle.ts";

const RFC3339 = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/;

const rt = new TestRuntime();
afterAll(() => rt.cleanup());
const bunc = (args: string[], opts: BuncOptions = {}) => rt.bunc(args, opts);

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) removeTree(d);
});

function logPath(): string {
  const dir = mkdtempSync(join(tmpdir(), `${TEMP_PREFIX}log-`));
  dirs.push(dir);
  return join(dir, "log.json");
}

const lines = (path: string) =>
  readFileSync(path, "utf8")
    .trimEnd()
    .split("\n")
    .map((l) => JSON.parse(l) as { level: string; msg: string; time: string });

describe("--log FILE --log-format json", () => {
  test("an error is one JSON line: level, msg naming the container, RFC 3339 time", () => {
    const log = logPath();
    const r = bunc(["--log", log, "--log-format", "json", "state", "nosuch-log-test"]);
    expect(r.exitCode).toBe(1);
    const [line, ...rest] = lines(log);
    expect(rest).toEqual([]);
    expect(line!.level).toBe("error");
    expect(line!.msg).toContain('"nosuch-log-test" does not exist');
    expect(line!.time).toMatch(RFC3339);
  });

  test("a command that succeeds logs no error", () => {
    const log = logPath();
    expect(bunc(["--log", log, "--log-format", "json", "list"]).exitCode).toBe(0);
    expect(existsSync(log) ? readFileSync(log, "utf8") : "").toBe("");
  });

  test("a bad command line is logged too: an unknown flag after the command, an unknown command", () => {
    const log = logPath();
    expect(bunc(["--log", log, "--log-format", "json", "exec", "--no-such-flag", "c", "true"]).exitCode).not.toBe(0);
    expect(bunc(["--log", log, "--log-format", "json", "no-such-command"]).exitCode).not.toBe(0);
    const [flag, command] = lines(log);
    expect(flag).toMatchObject({ level: "error", msg: expect.stringContaining("--no-such-flag") });
    expect(command).toMatchObject({ level: "error", msg: expect.stringContaining("no-such-command") });
    expect(command!.time).toMatch(RFC3339);
  });
});
