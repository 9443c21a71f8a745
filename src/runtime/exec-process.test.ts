import { describe, expect, test } from "bun:test";
import { execProcessSpec, parseUser, type ExecFlags } from "./exec-process.ts";

const flags = (over: Partial<ExecFlags> = {}): ExecFlags => ({
  args: ["ls"], env: [], additionalGids: [], caps: [], noNewPrivs: false, tty: false, ...over,
});
const never = () => {
  throw new Error("not parsed here");
};

describe("exec -u", () => {
  test("UID and UID:GID", () => {
    expect(parseUser("1000")).toEqual({ uid: 1000, gid: undefined });
    expect(parseUser("1000:100")).toEqual({ uid: 1000, gid: 100 });
    expect(parseUser("0:0")).toEqual({ uid: 0, gid: 0 });
  });

  for (const bad of ["1000:", ":1000", "1000:1000:1", "-1", "4294967296", "4294967295", "12a", " 1", "0x10", "01", ""]) {
    test(`refuses ${JSON.stringify(bad)}`, () => expect(() => parseUser(bad)).toThrow(/--user/));
  }
});

describe("the exec process", () => {
  const template = { args: ["sh"], cwd: "/work", env: ["PATH=/bin", "A=1"], user: { uid: 5, gid: 6 }, capabilities: { bounding: ["CAP_KILL"], effective: ["CAP_KILL"], permitted: ["CAP_KILL"] } } as never;

  test("takes the container's process and lays the flags over it", async () => {
    const p = await execProcessSpec(template, flags({ args: ["id"], env: ["B=2"], cwd: "/tmp", user: "7:8" }), never);
    expect(p.args).toEqual(["id"]);
    expect(p.env).toEqual(["PATH=/bin", "A=1", "B=2"]);
    expect(p.cwd).toBe("/tmp");
    expect(p.user).toMatchObject({ uid: 7, gid: 8 });
  });

  test("--cap adds to bounding, effective and permitted, never to inheritable", async () => {
    const p = await execProcessSpec(template, flags({ caps: ["CAP_NET_RAW"] }), never);
    expect(p.capabilities!.effective).toEqual(["CAP_KILL", "CAP_NET_RAW"]);
    expect(p.capabilities!.inheritable).toBeUndefined();
  });

  test("an unknown --cap is refused", async () => {
    await expect(execProcessSpec(template, flags({ caps: ["CAP_FLY"] }), never)).rejects.toThrow(/CAP_FLY/);
  });
});
