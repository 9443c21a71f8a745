// The init's filesystem plan, checked call by call through the recording Sys: no root needed.
import { describe, expect, test } from "bun:test";
import { MNT_DETACH, MS } from "../../ffi/constants.ts";
import { RecordingSys } from "../../ffi/recording-sys.ts";
import { setupRootfs, type RootfsPlan } from "./rootfs.ts";

const plan = (over: Partial<RootfsPlan> = {}): RootfsPlan => ({
  rootfs: "/b/rootfs",
  bundle: "/b",
  mounts: [],
  readonly: false,
  noPivot: false,
  devices: [],
  maskedPaths: [],
  readonlyPaths: [],
  userns: false,
  mountNamespace: true,
  cwd: "/",
  sysctl: {},
  ...over,
});

describe("setupRootfs", () => {
  test("makes the host tree a slave, binds the rootfs onto itself, then pivots and drops the old root", () => {
    const sys = new RecordingSys();
    setupRootfs(sys, plan());
    const mounts = sys.calls.filter((c) => c.call === "mount");
    expect(mounts[0]!.args).toEqual([null, "/", null, MS.SLAVE | MS.REC, null]);
    expect(mounts[1]!.args).toEqual(["/b/rootfs", "/b/rootfs", null, MS.BIND | MS.REC, null]);
    const names = sys.names();
    const pivot = names.indexOf("pivotRoot");
    expect(pivot).toBeGreaterThan(0);
    expect(sys.calls[pivot]!.args).toEqual([".", "."]);
    const umount = sys.calls.find((c) => c.call === "umount")!;
    expect(umount.args).toEqual([".", MNT_DETACH]);
    expect(names.indexOf("umount")).toBeGreaterThan(pivot);
  });

  test("creates the default devices with mknod, or binds them in a user namespace", () => {
    const sys = new RecordingSys();
    setupRootfs(sys, plan());
    const nodes = sys.calls.filter((c) => c.call === "mknodat").map((c) => c.args[1]);
    expect(nodes).toEqual(["null", "zero", "full", "random", "urandom", "tty"]);

    const userns = new RecordingSys();
    setupRootfs(userns, plan({ userns: true }));
    expect(userns.names()).not.toContain("mknodat");
    const binds = userns.calls.filter((c) => c.call === "mount" && c.args[0] === "/dev/null");
    expect(binds.length).toBe(1);
    expect(binds[0]!.args[3]).toBe(MS.BIND);
  });

  test("mounts each config mount on an fd of its in-root target, in order", () => {
    const sys = new RecordingSys();
    setupRootfs(
      sys,
      plan({
        mounts: [
          { destination: "/proc", type: "proc", source: "proc" },
          { destination: "/tmp", type: "tmpfs", source: "tmpfs", options: ["nosuid", "size=1m", "mode=1777"] },
        ],
      }),
    );
    const fsMounts = sys.calls.filter((c) => c.call === "mount" && (c.args[2] === "proc" || c.args[2] === "tmpfs"));
    expect(fsMounts.map((c) => c.args[2])).toEqual(["proc", "tmpfs"]);
    expect(String(fsMounts[0]!.args[1])).toMatch(/^\/proc\/self\/fd\/\d+$/);
    expect(fsMounts[1]!.args[3]).toBe(MS.NOSUID);
    expect(fsMounts[1]!.args[4]).toBe("size=1m,mode=1777");
    // proc must land on a real directory: looked up without following symlinks.
    const procLookup = sys.calls.find((c) => c.call === "openat2" && c.args[1] === "proc");
    expect(Number(procLookup!.args[4]) & 0x04).toBe(0x04);
  });

  test("refuses anything but procfs on /proc", () => {
    const sys = new RecordingSys();
    expect(() => setupRootfs(sys, plan({ mounts: [{ destination: "/proc", type: "tmpfs", source: "tmpfs" }] }))).toThrow(
      /mounts\[0\]\.destination: \/proc: nothing but a proc filesystem/,
    );
  });

  test("nothing may be mounted inside /proc but the allowed files, however the path is written", () => {
    for (const destination of ["/tmp/../proc", "/proc/self/attr", "//proc/1/attr/"]) {
      const sys = new RecordingSys();
      expect(() => setupRootfs(sys, plan({ mounts: [{ destination, type: "tmpfs", source: "tmpfs" }] }))).toThrow(/inside \/proc/);
    }
    const ok = new RecordingSys();
    setupRootfs(ok, plan({ mounts: [{ destination: "/proc/meminfo", type: "bind", source: "/proc/meminfo" }] }));
  });

  test("a target that resolves onto procfs is refused", () => {
    class OnProc extends RecordingSys {
      override fsType() {
        return 0x9fa0;
      }
    }
    expect(() => setupRootfs(new OnProc(), plan({ mounts: [{ destination: "/tmp/link", type: "tmpfs", source: "tmpfs" }] }))).toThrow(
      /\/tmp\/link: nothing but a proc filesystem/,
    );
  });

  test("bind mounts are cloned, given their attributes while detached, then attached", () => {
    const sys = new RecordingSys();
    setupRootfs(sys, plan({ mounts: [{ destination: "/data", type: "bind", source: "/tmp", options: ["rbind", "ro"] }] }));
    const names = sys.names();
    const tree = names.indexOf("openTree");
    const attr = names.indexOf("mountSetattr", tree);
    const move = names.indexOf("moveMount", tree);
    expect(tree).toBeGreaterThan(0);
    expect(attr).toBeGreaterThan(tree);
    expect(move).toBeGreaterThan(attr);
  });

  test("--no-pivot moves the rootfs onto / and chroots", () => {
    const sys = new RecordingSys();
    setupRootfs(sys, plan({ noPivot: true }));
    expect(sys.names()).not.toContain("pivotRoot");
    const move = sys.calls.find((c) => c.call === "mount" && c.args[3] === MS.MOVE)!;
    expect(move.args[0]).toBe("/b/rootfs");
    expect(sys.names()).toContain("chroot");
  });

  test("a read-only root is set after the pivot", () => {
    const sys = new RecordingSys();
    setupRootfs(sys, plan({ readonly: true }));
    const names = sys.names();
    expect(names.lastIndexOf("mountSetattr")).toBeGreaterThan(names.indexOf("pivotRoot"));
  });

  test("masked paths that do not exist are skipped; existing directories get a read-only tmpfs", () => {
    const sys = new RecordingSys();
    sys.missing.add("proc/acpi");
    setupRootfs(sys, plan({ maskedPaths: ["/proc/acpi", "/proc/scsi"] }));
    const tmpfs = sys.calls.filter((c) => c.call === "mount" && c.args[2] === "tmpfs" && c.args[3] === MS.RDONLY);
    expect(tmpfs.length).toBe(1);
  });

  describe("a cgroup mount waits for the init's placement, after all it can go behind", () => {
    const cgroupMount = { destination: "/sys/fs/cgroup", type: "cgroup", source: "cgroup", options: ["ro"] };
    /** Where the placement wait falls among the calls. */
    const run = (over: Partial<RootfsPlan>) => {
      const sys = new RecordingSys();
      let placed = -1;
      const p = plan({ mounts: [cgroupMount], maskedPaths: ["/proc/kcore"], beforeCgroupMount: () => (placed = sys.calls.length), ...over });
      setupRootfs(sys, p);
      // The masked path's lookup in the rootfs.
      const relative = p.maskedPaths[0]!.slice(1);
      const masked = sys.calls.findIndex((c) => c.args.includes(relative));
      return { placed, devices: sys.names().lastIndexOf("mknodat"), masked };
    };

    test("after the devices and the masked paths, with the cwd at /", () => {
      const { placed, devices, masked } = run({ cwd: "/" });
      expect(placed).toBeGreaterThan(devices);
      expect(placed).toBeGreaterThan(masked);
    });

    test("in its place when the cwd lies inside it", () => {
      const { placed, devices } = run({ cwd: "/sys/fs/cgroup/x" });
      expect(placed).toBeLessThanOrEqual(devices);
    });

    test("masked paths inside it still come after it", () => {
      const { placed, masked } = run({ maskedPaths: ["/sys/fs/cgroup/memory"] });
      expect(masked).toBeGreaterThan(placed);
    });
  });
});
