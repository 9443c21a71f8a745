import { describe, expect, test } from "bun:test";
import { DEFAULT_PATH, processArgs, processCwd, processEnv } from "./process-fields.ts";

describe("Entrypoint and Cmd → process.args", () => {
  test("Cmd is appended to Entrypoint", () => {
    expect(processArgs(["/bin/tini", "--"], ["nginx", "-g", "daemon off;"], undefined, "img")).toEqual(["/bin/tini", "--", "nginx", "-g", "daemon off;"]);
  });
  test("Entrypoint alone, Cmd alone", () => {
    expect(processArgs(["/app"], null, undefined, "img")).toEqual(["/app"]);
    expect(processArgs(null, ["sh"], undefined, "img")).toEqual(["sh"]);
  });
  test("the caller's args replace Cmd and keep Entrypoint", () => {
    expect(processArgs(["/app"], ["--help"], ["--version"], "img")).toEqual(["/app", "--version"]);
    expect(processArgs(undefined, ["sh"], ["id", "-u"], "img")).toEqual(["id", "-u"]);
  });
  test("empty args keep Cmd", () => {
    expect(processArgs([], ["sh"], [], "img")).toEqual(["sh"]);
  });
  test("nothing to run names the image", () => {
    expect(() => processArgs(null, [], undefined, "example.com/app:1")).toThrow(
      "image config: Config.Entrypoint, Config.Cmd: image example.com/app:1 has neither, and no command was given",
    );
  });
});

describe("Env → process.env", () => {
  test("image env first, overrides replace by name in place, new names appended", () => {
    expect(processEnv(["A=1", "PATH=/x", "B=2"], ["B=3", "C=4", "A="], {})).toEqual(["A=", "PATH=/x", "B=3", "C=4"]);
  });
  test("a later image entry of the same name wins", () => {
    expect(processEnv(["A=1", "A=2"], undefined, {})).toEqual(["A=2", `PATH=${DEFAULT_PATH}`]);
  });
  test("PATH defaults as runc and podman give it, when absent", () => {
    expect(processEnv(null, undefined, {})).toEqual([`PATH=${DEFAULT_PATH}`]);
  });
  test("defaults never change a name the image or the caller set", () => {
    expect(processEnv(["HOME=/srv"], ["TERM=dumb"], { HOME: "/root", TERM: "xterm" })).toEqual(["HOME=/srv", "TERM=dumb", `PATH=${DEFAULT_PATH}`]);
  });
  test("values keep their = signs", () => {
    expect(processEnv(["OPTS=a=b=c"], undefined, {})[0]).toBe("OPTS=a=b=c");
  });
  test("entries without a name or = are refused, naming where they came from", () => {
    expect(() => processEnv(["NOEQUALS"], undefined, {})).toThrow('image config: Config.Env[0]: "NOEQUALS" is not NAME=value');
    expect(() => processEnv([], ["=x"], {})).toThrow('env override [0]: "=x" is not NAME=value');
    expect(() => processEnv(["A=\0"], undefined, {})).toThrow(/Config\.Env\[0\]/);
  });
});

describe("WorkingDir → process.cwd", () => {
  test("defaults to /", () => {
    expect(processCwd(undefined, undefined)).toBe("/");
    expect(processCwd("", undefined)).toBe("/");
  });
  test("taken verbatim; the override wins", () => {
    expect(processCwd("/srv/app", undefined)).toBe("/srv/app");
    expect(processCwd("/srv/app", "/tmp")).toBe("/tmp");
  });
  test("a relative path is refused, naming the field", () => {
    expect(() => processCwd("app", undefined)).toThrow('image config: Config.WorkingDir: "app" is not an absolute path');
    expect(() => processCwd("/ok", "rel")).toThrow('cwd override: "rel" is not an absolute path');
  });
});
