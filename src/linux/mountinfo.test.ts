import { expect, test } from "bun:test";
import { mountOf, mountsUnder, parseMountinfo } from "./mountinfo.ts";

const text = [
  "22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw",
  "30 22 0:5 / /tmp rw shared:5 - tmpfs tmpfs rw",
  "31 30 0:6 / /tmp/b/rootfs rw - tmpfs tmpfs rw",
  "32 31 0:7 / /tmp/b/rootfs/proc rw - proc proc rw",
  "33 22 0:8 / /with\\040space rw - tmpfs tmpfs rw",
].join("\n");

test("parses mount points, optional fields and escapes", () => {
  const mounts = parseMountinfo(text);
  expect(mounts[0]).toEqual({ mountPoint: "/", optional: ["shared:1"] });
  expect(mounts[2]!.optional).toEqual([]);
  expect(mounts[4]!.mountPoint).toBe("/with space");
});

test("finds the mount a path lives on", () => {
  const mounts = parseMountinfo(text);
  expect(mountOf("/tmp/x", mounts)!.mountPoint).toBe("/tmp");
  expect(mountOf("/tmpfoo", mounts)!.mountPoint).toBe("/");
  expect(mountOf("/tmp/b/rootfs", mounts)!.mountPoint).toBe("/tmp/b/rootfs");
});

test("lists the mounts under a directory", () => {
  expect(mountsUnder("/tmp/b/rootfs", parseMountinfo(text))).toEqual(["/tmp/b/rootfs", "/tmp/b/rootfs/proc"]);
});
