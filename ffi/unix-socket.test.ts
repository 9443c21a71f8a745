import { expect, test } from "bun:test";
import { closeSync, mkdtempSync, readFileSync, rmSync, writeSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { closeFd, openRaw, socketPair } from "./io.ts";
import { O } from "./constants.ts";
import { connectUnix, receiveWithFds, rightsMessage, sendWithFds } from "./unix-socket.ts";

test("the rights message has the kernel's layout", () => {
  const m = Buffer.from(rightsMessage([7, 9]));
  expect(m.length).toBe(24);
  expect(m.readBigUInt64LE(0)).toBe(24n);
  expect([m.readInt32LE(8), m.readInt32LE(12), m.readInt32LE(16), m.readInt32LE(20)]).toEqual([1, 1, 7, 9]);
});

test("an fd sent with SCM_RIGHTS arrives usable, with its data", () => {
  const dir = mkdtempSync(join(tmpdir(), "bunc-unit-"));
  try {
    const file = join(dir, "f");
    const fd = openRaw(file, O.WRONLY | O.CREAT, 0o600);
    const [a, b] = socketPair();
    sendWithFds(a, Buffer.from('{"x":1}'), [fd], "test");
    closeFd(fd);
    const got = receiveWithFds(b);
    expect(Buffer.from(got.data).toString()).toBe('{"x":1}');
    expect(got.fds.length).toBe(1);
    writeSync(got.fds[0]!, "through the passed fd");
    closeSync(got.fds[0]!);
    expect(readFileSync(file, "utf8")).toBe("through the passed fd");
    closeFd(a);
    closeFd(b);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("connectUnix reaches a listening socket and names the path when nothing listens", async () => {
  const dir = mkdtempSync(join(tmpdir(), "bunc-unit-"));
  const path = join(dir, "sock");
  const server = createServer(() => {});
  await new Promise<void>((r) => server.listen(path, r));
  try {
    const fd = connectUnix(path);
    expect(fd).toBeGreaterThan(2);
    closeFd(fd);
    expect(() => connectUnix(join(dir, "none"))).toThrow(/connect .*none: ENOENT/);
  } finally {
    server.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
