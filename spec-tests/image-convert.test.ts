// image-spec conversion.md, end to end: an image config converted against a busybox rootfs
// with its own users and groups, written as config.json, run by bunc. What the container
// sees (id, pwd, env, its volume's filesystem) is what the image config asked for.
import { describe, expect, test } from "bun:test";
import { chownSync, existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { runtimeConfigFromImage, writeBundleConfig } from "../src/image/convert/runtime-config.ts";
import { containerFixture, expectOk } from "./support/assertions.ts";

const fx = containerFixture();

const PASSWD = ["root:x:0:0:root:/root:/bin/sh", "app:x:1234:1234:app:/home/app:/bin/sh", ""].join("\n");
const GROUP = ["root:x:0:", "app:x:1234:", "audio:x:29:app", "video:x:44:other,app", "staff:x:50:", ""].join("\n");

const SCRIPT = [
  'echo "uid=$(id -u) gid=$(id -g) groups=$(id -G)"',
  'echo "pwd=$(pwd)"',
  'echo "args=$*"',
  'echo "GREETING=$GREETING HOME=$HOME PATH=$PATH"',
  'echo "data=$(stat -f -c %T /data)"',
  "grep ' /data ' /proc/self/mountinfo",
  'if touch /data/written 2>/dev/null; then w=writable; else w=read-only; fi; echo "volume=$(stat -c \'%u:%g %a\' /data) $w"',
].join("; ");

function imageConfig(config: Record<string, unknown>) {
  return {
    architecture: "amd64",
    os: "linux",
    created: "2024-05-06T07:08:09Z",
    rootfs: { type: "layers", diff_ids: [] },
    config: {
      User: "app",
      WorkingDir: "/srv/app",
      Env: ["GREETING=hello image", "PATH=/bin:/usr/bin"],
      Entrypoint: ["/bin/sh", "-c", SCRIPT, "entry"],
      Cmd: ["from-cmd"],
      Volumes: { "/data": {} },
      StopSignal: "SIGTERM",
      ...config,
    },
  };
}

describe("an image config run as a bundle", () => {
  test("User, WorkingDir, Env, Entrypoint, Cmd and Volumes reach the container", () => {
    const b = fx.bundle({ busybox: true, files: { "etc/passwd": PASSWD, "etc/group": GROUP, "srv/app/.keep": "" } });
    // The image prepared its volume for its user: the tmpfs keeps that owner and mode.
    mkdirSync(join(b.rootfs, "data"), { mode: 0o750 });
    chownSync(join(b.rootfs, "data"), 1234, 1234);
    const spec = runtimeConfigFromImage(imageConfig({}), b.rootfs, { env: ["GREETING=hello override"] });
    writeBundleConfig(b.dir, spec);

    const out = expectOk(fx.rt.bunc(["run", "--bundle", b.dir, fx.rt.id()])).trimEnd().split("\n");
    expect(out[0]).toBe("uid=1234 gid=1234 groups=1234 29 44");
    expect(out[1]).toBe("pwd=/srv/app");
    expect(out[2]).toBe("args=from-cmd");
    expect(out[3]).toBe("GREETING=hello override HOME=/home/app PATH=/bin:/usr/bin");
    expect(out[4]).toBe("data=tmpfs");
    // mountinfo: "... /data <mount options> ... - tmpfs tmpfs <super options>"
    const [mountOpts, superPart] = [out[5]!.split(" ")[5]!, out[5]!.split(" - ")[1]!];
    expect(mountOpts.split(",")).toEqual(expect.arrayContaining(["rw", "nosuid", "nodev"]));
    expect(superPart.split(" ")[0]).toBe("tmpfs");
    expect(superPart).toContain("mode=750");
    expect(out[6]).toBe("volume=1234:1234 750 writable");
    // What the container wrote there went to the tmpfs, not to the rootfs.
    expect(existsSync(join(b.rootfs, "data/written"))).toBe(false);
  });

  test("caller's args replace Cmd; a uid:group User resolves the group by name", () => {
    const b = fx.bundle({ busybox: true, files: { "etc/passwd": PASSWD, "etc/group": GROUP } });
    const spec = runtimeConfigFromImage(imageConfig({ User: "4321:staff", WorkingDir: "/" }), b.rootfs, { args: ["one", "two"] });
    writeBundleConfig(b.dir, spec);
    const out = expectOk(fx.rt.bunc(["run", "--bundle", b.dir, fx.rt.id()])).trimEnd().split("\n");
    expect(out[0]).toBe("uid=4321 gid=50 groups=50");
    expect(out[1]).toBe("pwd=/");
    expect(out[2]).toBe("args=one two");
    expect(out[3]).toBe("GREETING=hello image HOME=/ PATH=/bin:/usr/bin");
    // No directory in the image there: root's, mode 755, not writable by this user.
    expect(out[6]).toBe("volume=0:0 755 read-only");
  });

  test("an unknown user is refused before anything runs, naming the user and the file", () => {
    const b = fx.bundle({ busybox: true, files: { "etc/passwd": PASSWD, "etc/group": GROUP } });
    expect(() => runtimeConfigFromImage(imageConfig({ User: "ghost" }), b.rootfs)).toThrow(
      'image config: Config.User: no user "ghost" in the rootfs\'s /etc/passwd',
    );
  });
});
