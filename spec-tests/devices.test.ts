// config-linux.md "Devices" and "Default Devices": the nodes every container gets, the /dev
// links, the nodes of linux.devices (char, block, fifo with their numbers, mode and owner),
// and, in a user namespace where mknod is not allowed, bind mounts of the host's nodes.
// Everything is checked from inside with busybox stat, readlink and /proc/self/mountinfo.
import { describe, expect, test } from "bun:test";
import { existsSync, statSync } from "node:fs";
import { containerFixture, expectOk, expectRefused } from "./support/assertions.ts";
import { expectNothingLeft as nothingLeft, withUserns } from "./support/config-checks.ts";
import type { BundleOptions, RuntimeConfig } from "./support/bundle.ts";

const fx = containerFixture();
const expectNothingLeft = () => nothingLeft(fx.rt);

const output = (opts: BundleOptions) => expectOk(fx.run(opts));
const lines = (s: string) => s.trimEnd().split("\n");

/** Mount points (field 5) of a mountinfo text. */
const mountPoints = (mountinfo: string) => lines(mountinfo).map((l) => l.split(" ")[4]);

const DEFAULTS = ["null 1,3", "zero 1,5", "full 1,7", "random 1,8", "urandom 1,9", "tty 5,0"];

const userns = (c: RuntimeConfig) => withUserns(c);

describe("default devices", () => {
  test("are character devices with their numbers, mode 0666, owned by root", () => {
    const out = output({ args: ["sh", "-c", "for d in null zero full random urandom tty; do stat -c '%n %F %t,%T %a %u:%g' /dev/$d; done"] });
    expect(lines(out)).toEqual(
      DEFAULTS.map((d) => {
        const [name, nums] = d.split(" ");
        return `/dev/${name} character special file ${nums} 666 0:0`;
      }),
    );
  });

  test("are made with mknod, not bound from the host: none is a mount point", () => {
    const points = mountPoints(output({ args: ["cat", "/proc/self/mountinfo"] }));
    for (const d of DEFAULTS) expect(points).not.toContain(`/dev/${d.split(" ")[0]}`);
  });

  test("replace whatever the image had at those paths", () => {
    const out = output({ args: ["stat", "-c", "%F %t,%T", "/dev/null"], files: { "dev/null": "a regular file in the image\n" } });
    expect(out).toBe("character special file 1,3\n");
  });
});

describe("/dev links", () => {
  test("fd, stdin, stdout, stderr and ptmx point where runc points them", () => {
    const out = output({ args: ["sh", "-c", "for l in fd stdin stdout stderr ptmx; do echo $l $(readlink /dev/$l); done"] });
    expect(lines(out)).toEqual(["fd /proc/self/fd", "stdin /proc/self/fd/0", "stdout /proc/self/fd/1", "stderr /proc/self/fd/2", "ptmx pts/ptmx"]);
  });

  test("/dev/stdout and /dev/fd work through the container's /proc", () => {
    expect(output({ args: ["sh", "-c", "echo through | cat /dev/stdin; ls /dev/fd/0 /dev/fd/1"] })).toBe("through\n/dev/fd/0\n/dev/fd/1\n");
  });

  test("ptmx is a link to pts/ptmx even without a /dev/pts mount, as runc makes it", () => {
    const out = output({
      args: ["readlink", "/dev/ptmx"],
      mutate: (c) => {
        c.mounts = c.mounts!.filter((m) => m.destination !== "/dev/pts");
      },
    });
    expect(out).toBe("pts/ptmx\n");
  });

  const kcore = existsSync("/proc/kcore");
  test(`core is a link to /proc/kcore only where the host has it (here: ${kcore ? "yes" : "no"})`, () => {
    const out = output({ args: ["sh", "-c", "readlink /dev/core || echo none"] });
    expect(out).toBe(kcore ? "/proc/kcore\n" : "none\n");
  });
});

describe("linux.devices", () => {
  test("char, block and fifo nodes with their numbers, fileMode, uid and gid", () => {
    const devices = [
      { path: "/dev/fuse", type: "c", major: 10, minor: 229, fileMode: 0o620, uid: 0, gid: 5 },
      { path: "/dev/loop-like", type: "b", major: 7, minor: 42, fileMode: 0o660, uid: 1000, gid: 100 },
      { path: "/dev/a-fifo", type: "p", fileMode: 0o640, uid: 65534, gid: 65534 },
      { path: "/dev/unbuffered", type: "u", major: 1, minor: 3, fileMode: 0o666 },
    ];
    const out = output({
      args: ["sh", "-c", "for d in fuse loop-like a-fifo unbuffered; do stat -c '%n|%F|%t,%T|%a|%u|%g' /dev/$d; done"],
      config: { linux: { devices } },
    });
    expect(lines(out)).toEqual([
      "/dev/fuse|character special file|a,e5|620|0|5",
      "/dev/loop-like|block special file|7,2a|660|1000|100",
      "/dev/a-fifo|fifo|0,0|640|65534|65534",
      "/dev/unbuffered|character special file|1,3|666|0|0",
    ]);
  });

  test("large major and minor numbers survive the encoding of dev_t", () => {
    const devices = [{ path: "/dev/big", type: "c", major: 4095, minor: 1048575, fileMode: 0o600 }];
    expect(output({ args: ["stat", "-c", "%t,%T", "/dev/big"], config: { linux: { devices } } })).toBe("fff,fffff\n");
  });

  test("a device below a subdirectory of /dev gets its parent directories", () => {
    const devices = [{ path: "/dev/net/tun", type: "c", major: 10, minor: 200, fileMode: 0o666 }];
    const out = output({ args: ["sh", "-c", "stat -c '%F' /dev/net; stat -c '%F %t,%T' /dev/net/tun"], config: { linux: { devices } } });
    expect(out).toBe("directory\ncharacter special file a,c8\n");
  });

  test("a configured device over a default one takes its place", () => {
    const devices = [{ path: "/dev/tty", type: "c", major: 5, minor: 0, fileMode: 0o600, uid: 0, gid: 5 }];
    expect(output({ args: ["stat", "-c", "%a %g", "/dev/tty"], config: { linux: { devices } } })).toBe("600 5\n");
  });

  test("a fifo made from the config is usable", () => {
    const devices = [{ path: "/dev/pipe", type: "p", fileMode: 0o600 }];
    expect(output({ args: ["sh", "-c", "echo through-the-fifo > /dev/pipe & cat /dev/pipe; wait"], config: { linux: { devices } } })).toBe(
      "through-the-fifo\n",
    );
  });
});

describe("linux.devices refused", () => {
  const refuse = (devices: unknown[], ...patterns: (string | RegExp)[]) => {
    const b = fx.bundle({ args: ["true"], config: { linux: { devices } } });
    const id = fx.rt.id();
    expectRefused(fx.rt.bunc(["run", "--bundle", b.dir, id]), ...patterns);
    expectRefused(fx.rt.bunc(["state", id]), id);
    expectNothingLeft();
  };

  test("an unknown type names the device and the type", () => {
    refuse([{ path: "/dev/odd", type: "x", major: 1, minor: 3 }], "linux.devices[0]", '"x"');
  });

  test("a char device without major and minor", () => {
    refuse([{ path: "/dev/nomajor", type: "c" }], "linux.devices[0]", "major");
  });

  test("a relative path", () => {
    refuse([{ path: "dev/relative", type: "c", major: 1, minor: 3 }], "linux.devices[0].path");
  });
});

describe("in a user namespace", () => {
  test("the default devices are bind mounts of the host's nodes", () => {
    const out = output({
      args: ["sh", "-c", "for d in null zero full random urandom tty; do stat -c '%n %F %t,%T' /dev/$d; done; cat /proc/self/mountinfo"],
      mutate: userns,
    });
    const all = lines(out);
    expect(all.slice(0, 6)).toEqual(
      DEFAULTS.map((d) => {
        const [name, nums] = d.split(" ");
        return `/dev/${name} character special file ${nums}`;
      }),
    );
    const mounts = all.slice(6).map((l) => l.split(" "));
    for (const d of DEFAULTS) {
      const name = d.split(" ")[0];
      const entry = mounts.find((f) => f[4] === `/dev/${name}`);
      // the mount's root is the host node it was bound from
      expect(`${name}: ${entry?.[3]}`).toBe(`${name}: /${name}`);
    }
  });

  test("a configured device is the host's node bound in, with the host's numbers", () => {
    const host = statSync("/dev/fuse", { throwIfNoEntry: false });
    if (!host?.isCharacterDevice()) throw new Error("this test needs the host's /dev/fuse");
    const devices = [{ path: "/dev/fuse", type: "c", major: 10, minor: 229, fileMode: 0o666 }];
    const out = output({ args: ["sh", "-c", "stat -c '%F %t,%T' /dev/fuse; grep -c ' /dev/fuse ' /proc/self/mountinfo"], config: { linux: { devices } }, mutate: userns });
    expect(out).toBe("character special file a,e5\n1\n");
  });
});
