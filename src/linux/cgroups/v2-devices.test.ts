// Real device programs on a real cgroup2 directory: needs root and a cgroup2 mount (a
// hybrid host's cgroup2 tree, without controllers, does: device programs need none).
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { closeBpfFd, detachDeviceProgram, loadDeviceProgram, openProgramById, queryDevicePrograms } from "../../../ffi/bpf.ts";
import { O } from "../../../ffi/constants.ts";
import { SysError } from "../../../ffi/errors.ts";
import { closeFd, openRaw } from "../../../ffi/io.ts";
import { EBPF, encodeProgram } from "./device-bpf.ts";
import { parseCgroupMounts } from "./detect.ts";
import { effectiveDeviceRules, type DeviceRule } from "./device-rules.ts";
import { applyV2Devices } from "./v2-devices.ts";

const unified = parseCgroupMounts(readFileSync("/proc/self/mountinfo", "utf8")).unified;
const usable = process.getuid?.() === 0 && unified !== undefined;

const made: string[] = [];
afterAll(() => {
  for (const dir of made.reverse()) removeCgroup(dir);
});

function newCgroup(): string {
  const dir = join(unified!, `bunc-test-${process.pid}-${Math.random().toString(36).slice(2, 8)}`);
  mkdirSync(dir);
  made.push(dir);
  return dir;
}

/** rmdir, with a few retries: a reaped process may leave the cgroup a moment later. */
function removeCgroup(dir: string) {
  for (let i = 0; i < 50 && existsSync(dir); i++) {
    try {
      rmdirSync(dir);
    } catch {
      Bun.sleepSync(20);
    }
  }
}

/** Runs `script` in a shell that first moves itself into `dir`. */
function inCgroup(dir: string, script: string) {
  const r = Bun.spawnSync(["sh", "-c", `echo $$ > '${dir}/cgroup.procs' || exit 99\n${script}`], { stdout: "pipe", stderr: "pipe" });
  expect(r.exitCode).not.toBe(99);
  return { out: r.stdout.toString(), err: r.stderr.toString() };
}

const rule = (allow: boolean, type: string, major: number, minor: number, access = "rwm"): DeviceRule => ({ allow, type, major, minor, access });

describe.skipIf(!usable)("cgroup v2 device programs (root)", () => {
  test("denying read of c 1:5: /dev/zero cannot be opened for reading, the rest works", () => {
    const dir = newCgroup();
    const state = applyV2Devices(dir, [rule(false, "c", 1, 5, "r")]);
    expect(state).toEqual({ defaultAllow: true, rules: [{ type: "c", major: 1, minor: 5, access: "r" }], ignored: [] });
    const { out, err } = inCgroup(
      dir,
      [
        "head -c1 /dev/zero > /dev/null; echo zero=$?",
        "echo x > /dev/zero; echo write-zero=$?",
        "head -c1 /dev/null; echo null=$?",
        "head -c1 /dev/urandom > /dev/null; echo urandom=$?",
      ].join("\n"),
    );
    expect(out).toContain("zero=1");
    expect(err).toContain("Operation not permitted");
    expect(out).toContain("write-zero=0");
    expect(out).toContain("null=0");
    expect(out).toContain("urandom=0");
    // Outside the cgroup nothing changed.
    expect(Bun.spawnSync(["head", "-c1", "/dev/zero"]).exitCode).toBe(0);
  });

  test("the usual container rules: default devices work, others and mknod as configured", () => {
    const dir = newCgroup();
    const nodes = mkdtempSync(join(tmpdir(), "bunc-devices-"));
    try {
      applyV2Devices(dir, effectiveDeviceRules([{ allow: false, access: "rwm" }]));
      const { out } = inCgroup(
        dir,
        [
          "head -c1 /dev/zero > /dev/null; echo zero=$?",
          "echo x > /dev/null; echo null=$?",
          "head -c1 /dev/kmsg > /dev/null 2>&1; echo kmsg=$?", // c 1:11: not allowed
          `mknod '${nodes}/kmsg' c 1 11; echo mknod=$?`, // mknod of any char device is
          `head -c1 '${nodes}/kmsg' > /dev/null 2>&1; echo kmsg-node=$?`, // but the node is useless
        ].join("\n"),
      );
      expect(out).toContain("zero=0");
      expect(out).toContain("null=0");
      expect(out).toContain("kmsg=1");
      expect(out).toContain("mknod=0");
      expect(out).toContain("kmsg-node=1");

      // Deny all but reading and writing /dev/null: mknod is refused too.
      applyV2Devices(dir, [rule(false, "a", -1, -1), rule(true, "c", 1, 3, "rw")]);
      const second = inCgroup(dir, [`mknod '${nodes}/null' c 1 3; echo mknod=$?`, "echo x > /dev/null; echo null=$?", "head -c1 /dev/zero; echo zero=$?"].join("\n"));
      expect(second.out).toContain("mknod=1");
      expect(second.err).toContain("Operation not permitted");
      expect(second.out).toContain("null=0");
      expect(second.out).toContain("zero=1");
    } finally {
      rmSync(nodes, { recursive: true, force: true });
    }
  });

  test("applying again replaces the program: one attached at a time", () => {
    const dir = newCgroup();
    const fd = openRaw(dir, O.DIRECTORY | O.RDONLY);
    try {
      expect(queryDevicePrograms(fd)).toEqual([]);
      applyV2Devices(dir, [rule(false, "c", 1, 5, "r")]);
      const first = queryDevicePrograms(fd);
      expect(first.length).toBe(1);
      applyV2Devices(dir, [rule(false, "c", 1, 7, "r")]);
      const second = queryDevicePrograms(fd);
      expect(second.length).toBe(1);
      expect(second[0]).not.toBe(first[0]);
      const { out } = inCgroup(dir, "head -c1 /dev/zero > /dev/null; echo zero=$?\nhead -c1 /dev/full > /dev/null; echo full=$?");
      expect(out).toContain("zero=0");
      expect(out).toContain("full=1");

      // Detach by hand: the cgroup is unrestricted again.
      const prog = openProgramById(second[0]!);
      detachDeviceProgram(fd, prog, dir);
      closeBpfFd(prog);
      expect(queryDevicePrograms(fd)).toEqual([]);
      expect(inCgroup(dir, "head -c1 /dev/full > /dev/null; echo full=$?").out).toContain("full=0");
    } finally {
      closeFd(fd);
    }
  });

  test("a refused program: the error names the call and carries the verifier's log", () => {
    const mov = (imm: number) => ({ code: EBPF.ALU | EBPF.MOV | EBPF.K, dst: 0, src: 0, off: 0, imm });
    const exit = { code: EBPF.JMP | EBPF.EXIT, dst: 0, src: 0, off: 0, imm: 0 };
    const attempt = (insns: Parameters<typeof encodeProgram>[0]) => {
      try {
        closeBpfFd(loadDeviceProgram(encodeProgram(insns)));
      } catch (err) {
        return err as SysError;
      }
      throw new Error("the verifier took it");
    };
    const range = attempt([mov(2), exit]);
    expect(range).toBeInstanceOf(SysError);
    expect(range.message).toStartWith("bpf(BPF_PROG_LOAD) cgroup device program of 2 instructions: EINVAL");
    expect(range.message).toMatch(/R0 .*should have been in \[0, 1\]/);
    const unset = attempt([exit]);
    expect(unset.message).toContain("EACCES");
    expect(unset.message).toContain("R0 !read_ok");
  });
});
