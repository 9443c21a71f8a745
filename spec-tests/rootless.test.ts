// Rootless bunc: a user without root runs the runc-style lifecycle, exec and run as itself,
// with `bunc spec --rootless`'s config on a busybox bundle it owns. The user, its sub-id
// ranges and everything it made are created here and removed after, passed or failed.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chownSync, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { buncPath } from "./support/bunc.ts";
import { createTestUser, type TestUser } from "./support/rootless-user.ts";
import { OCI_CONFIG, OCI_MANIFEST, sha256, writeLayout } from "./support/images.ts";
import { tarOf } from "../src/image/unpack/test-layers.ts";
import { lgetxattr } from "../ffi/fs-at.ts";
import { rootfsImageArchive } from "./support/oci-archive.ts";

let user: TestUser;
let n = 0;
const id = () => `rl-${process.pid}-${++n}`;
const stateDir = () => join(user.runtimeDir, "bunc");
const listed = () => {
  const r = user.bunc(["list", "--format", "json"]);
  expect(r.stderr).toBe("");
  return JSON.parse(r.stdout || "[]") as { id: string }[];
};
const stateOf = (cid: string) => JSON.parse(user.bunc(["state", cid]).stdout) as { status: string; pid: number };
// A sub-id range of its own for this test process, away from useradd's defaults.
const subStart = 1_000_000 + (process.pid % 1000) * 65536;

beforeAll(() => {
  user = createTestUser();
});
afterAll(() => user?.remove());

describe("bunc spec --rootless", () => {
  test("maps the caller to root, drops the network namespace, binds sysfs, no cgroup mount or resources", () => {
    const bundle = user.makeBundle();
    const config = JSON.parse(readFileSync(join(bundle, "config.json"), "utf8"));
    const types = config.linux.namespaces.map((ns: { type: string }) => ns.type);
    expect(types).toContain("user");
    expect(types).not.toContain("network");
    expect(config.linux.uidMappings).toEqual([{ containerID: 0, hostID: user.uid, size: 1 }]);
    expect(config.linux.gidMappings).toEqual([{ containerID: 0, hostID: user.gid, size: 1 }]);
    const sys = config.mounts.find((m: { destination: string }) => m.destination === "/sys");
    expect(sys.options).toContain("rbind");
    expect(config.mounts.some((m: { destination: string }) => m.destination === "/sys/fs/cgroup")).toBe(false);
    expect(config.linux.resources).toBeUndefined();
  });
});

describe("as a user without root, with only its own id mapped", () => {
  test("run: the process is root in its user namespace; state under $XDG_RUNTIME_DIR/bunc, gone after", () => {
    const bundle = user.makeBundle((c) => (c.process.args = ["sh", "-c", "id -u; cat /proc/self/uid_map; touch /sys/x 2>/dev/null || echo sys-ro"]));
    const r = user.bunc(["run", id()], { cwd: bundle });
    expect(r.stderr).toBe("");
    expect(r.exitCode).toBe(0);
    const [uid, map, sys] = r.stdout.trim().split("\n");
    expect(uid).toBe("0");
    expect(map!.trim().split(/\s+/)).toEqual(["0", String(user.uid), "1"]);
    expect(sys).toBe("sys-ro");
    expect(statSync(stateDir()).uid).toBe(user.uid);
    expect(readdirSync(stateDir()).filter((e) => e.startsWith("rl-"))).toEqual([]);
  });

  test("create, start, state, exec, ps, kill, delete", () => {
    const bundle = user.makeBundle((c) => (c.process.args = ["sleep", "300"]));
    const cid = id();
    try {
      expect(user.bunc(["create", "--bundle", bundle, cid]).stderr).toBe("");
      expect(stateOf(cid).status).toBe("created");
      expect(user.bunc(["start", cid]).exitCode).toBe(0);
      const running = stateOf(cid);
      expect(running.status).toBe("running");
      // The container's init is the user's process on the host.
      expect(statSync(`/proc/${running.pid}`).uid).toBe(user.uid);

      const e = user.bunc(["exec", cid, "sh", "-c", "id -u; echo $$; hostname"]);
      expect(e.stderr).toBe("");
      expect(e.exitCode).toBe(0);
      const [uid, pid, hostname] = e.stdout.trim().split("\n");
      expect(uid).toBe("0");
      // In the container's pid namespace: not the host's pid.
      expect(Number(pid)).toBeLessThan(10);
      expect(hostname).toBe("bunc");
      expect(user.bunc(["exec", cid, "sh", "-c", "exit 7"]).exitCode).toBe(7);

      const ps = user.bunc(["ps", "--format", "json", cid]);
      expect(JSON.parse(ps.stdout)).toContain(running.pid);
      expect(listed().map((c) => c.id)).toEqual([cid]);

      expect(user.bunc(["kill", cid, "KILL"]).exitCode).toBe(0);
      for (let i = 0; i < 100 && stateOf(cid).status !== "stopped"; i++) Bun.sleepSync(20);
      expect(stateOf(cid).status).toBe("stopped");
      expect(user.bunc(["delete", cid]).exitCode).toBe(0);
      expect(listed()).toEqual([]);
    } finally {
      user.bunc(["delete", "--force", cid]);
    }
  });

  test("resources on a host without delegated cgroups are skipped with one warning", () => {
    const bundle = user.makeBundle((c) => {
      c.process.args = ["true"];
      c.linux.resources = { memory: { limit: 64 << 20 }, pids: { limit: 100 } };
    });
    const r = user.bunc(["run", id()], { cwd: bundle });
    expect(r.exitCode).toBe(0);
    const warnings = r.stderr.split("\n").filter((l) => l.includes("linux.resources: skipped, rootless"));
    expect(warnings).toHaveLength(1);
  });

  test("a config without a user namespace is refused, naming the field and the fix", () => {
    const bundle = user.makeBundle((c) => {
      c.linux.namespaces = c.linux.namespaces.filter((ns: { type: string }) => ns.type !== "user");
      delete c.linux.uidMappings;
      delete c.linux.gidMappings;
    });
    const r = user.bunc(["run", id()], { cwd: bundle });
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain("linux.namespaces: running without root needs a user namespace");
    expect(r.stderr).toContain("bunc spec --rootless");
    expect(listed()).toEqual([]);
  });

  test("a process user the single mapping does not map is refused, naming the field", () => {
    const bundle = user.makeBundle((c) => (c.process.user = { uid: 1000, gid: 0 }));
    const r = user.bunc(["run", id()], { cwd: bundle });
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain("process.user.uid: 1000 is not mapped in the user namespace (linux.uidMappings map 0)");
    expect(listed()).toEqual([]);
  });

  test("a bunc binary the user owns is refused rootless: the container could overwrite it", () => {
    const own = join(user.dir, "bunc-copy");
    Bun.spawnSync(["install", "-m", "755", "-o", String(user.uid), buncPath(), own]);
    try {
      const bundle = user.makeBundle((c) => (c.process.args = ["true"]));
      const r = user.run([own, "run", id()], { cwd: bundle });
      expect(r.exitCode).toBe(1);
      expect(r.stderr).toContain(`${own}: a rootless container must not be able to overwrite the runtime, and this binary is owned by you`);
      expect(listed()).toEqual([]);
    } finally {
      rmSync(own, { force: true });
    }
  });

  test("--rootless false makes cgroups mandatory again: create fails naming the cgroup, leaves nothing", () => {
    const bundle = user.makeBundle((c) => (c.process.args = ["true"]));
    const r = user.bunc(["--rootless", "false", "run", id()], { cwd: bundle });
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/cgroup/);
    expect(listed()).toEqual([]);
  });

  test("without XDG_RUNTIME_DIR the state goes to a private /tmp/bunc-<uid>, refused when another user made it", () => {
    const tmpState = `/tmp/bunc-${user.uid}`;
    try {
      const bundle = user.makeBundle((c) => (c.process.args = ["true"]));
      const r = user.bunc(["run", id()], { cwd: bundle, env: { XDG_RUNTIME_DIR: "" } });
      expect(r.stderr).toBe("");
      expect(r.exitCode).toBe(0);
      const st = statSync(tmpState);
      expect(st.uid).toBe(user.uid);
      expect(st.mode & 0o777).toBe(0o700);
      rmSync(tmpState, { recursive: true });

      // Squatted by root (standing in for another user): bunc will not put state there.
      mkdirSync(tmpState, { mode: 0o777 });
      const refused = user.bunc(["list"], { env: { XDG_RUNTIME_DIR: "" } });
      expect(refused.exitCode).toBe(1);
      expect(refused.stderr).toContain(`${tmpState}: belongs to uid 0`);
    } finally {
      rmSync(tmpState, { recursive: true, force: true });
    }
  });
});

describe("as a user with /etc/subuid and /etc/subgid ranges", () => {
  const wide = (c: Record<string, any>) => {
    c.linux.uidMappings = [
      { containerID: 0, hostID: user.uid, size: 1 },
      { containerID: 1, hostID: subStart, size: 65536 },
    ];
    c.linux.gidMappings = [
      { containerID: 0, hostID: user.gid, size: 1 },
      { containerID: 1, hostID: subStart, size: 65536 },
    ];
  };

  test("newuidmap/newgidmap map the range; a process runs as a mapped non-root user", () => {
    user.setSubIds(subStart, 65536);
    try {
      const bundle = user.makeBundle((c) => {
        wide(c);
        c.process.user = { uid: 1000, gid: 1000 };
        c.process.args = ["sh", "-c", "id -u; id -g; cat /proc/self/uid_map"];
      });
      const cid = id();
      const r = user.bunc(["run", cid], { cwd: bundle });
      expect(r.stderr).toBe("");
      expect(r.exitCode).toBe(0);
      const lines = r.stdout.trim().split("\n");
      expect(lines.slice(0, 2)).toEqual(["1000", "1000"]);
      expect(lines.slice(2).map((l) => l.trim().split(/\s+/))).toEqual([
        ["0", String(user.uid), "1"],
        ["1", String(subStart), "65536"],
      ]);
    } finally {
      user.clearSubIds();
    }
  });

  test("exec as a mapped non-root user of a wide map", () => {
    user.setSubIds(subStart, 65536);
    const cid = id();
    try {
      const bundle = user.makeBundle((c) => {
        wide(c);
        c.process.args = ["sleep", "300"];
      });
      expect(user.bunc(["run", "-d", "--bundle", bundle, cid]).exitCode).toBe(0);
      const e = user.bunc(["exec", "-u", "1000:1000", cid, "sh", "-c", "id -u; id -g"]);
      expect(e.stderr).toBe("");
      expect(e.stdout).toBe("1000\n1000\n");
    } finally {
      user.bunc(["delete", "--force", cid]);
      user.clearSubIds();
    }
  });

  test("a range in /etc/subuid but not in /etc/subgid: the error names /etc/subgid", () => {
    user.clearSubIds();
    writeFileSync("/etc/subuid", `${readFileSync("/etc/subuid", "utf8")}${user.name}:${subStart}:65536\n`);
    try {
      const bundle = user.makeBundle((c) => {
        wide(c);
        c.process.args = ["true"];
      });
      const r = user.bunc(["run", id()], { cwd: bundle });
      expect(r.exitCode).toBe(1);
      expect(r.stderr).toContain(`linux.gidMappings: host gids ${subStart}-${subStart + 65535} are not yours: /etc/subgid gives ${user.name} no range covering them`);
      expect(listed()).toEqual([]);
    } finally {
      user.clearSubIds();
    }
  });

  test("a range missing from /etc/subuid: the error names the file, the user and the range; nothing is left", () => {
    user.clearSubIds();
    const bundle = user.makeBundle((c) => {
      wide(c);
      c.process.args = ["true"];
    });
    const r = user.bunc(["run", id()], { cwd: bundle });
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain("/etc/subuid");
    expect(r.stderr).toContain(user.name);
    expect(r.stderr).toContain(`${subStart}-${subStart + 65535}`);
    expect(listed()).toEqual([]);
    expect(existsSync(stateDir()) ? readdirSync(stateDir()).filter((e) => e.startsWith("rl-")) : []).toEqual([]);
  });
});

describe("bunc doctor", () => {
  type Finding = { check: string; ok: boolean; detail: string; fix: string; required: boolean };
  const byCheck = (findings: Finding[]) => new Map(findings.map((f) => [f.check, f]));

  test("as root on this machine: every required check passes, each finding has its fields", () => {
    const r = Bun.spawnSync({ cmd: [buncPath(), "doctor", "--format", "json"], stdio: ["ignore", "pipe", "pipe"], env: { PATH: process.env.PATH ?? "/usr/bin:/bin" } });
    expect(r.stderr.toString()).toBe("");
    expect(r.exitCode).toBe(0);
    const findings = JSON.parse(r.stdout.toString()) as Finding[];
    for (const f of findings) {
      expect(Object.keys(f).sort()).toEqual(["check", "detail", "fix", "ok", "required"]);
      expect(f.fix === "").toBe(f.ok);
    }
    const checks = byCheck(findings);
    for (const name of ["user namespaces", "user namespace (tried)", "openat2", "open_tree/mount_setattr"]) expect(checks.get(name)?.ok).toBe(true);
    // Sub-id ranges are a rootless matter.
    expect(checks.has("/etc/subuid range")).toBe(false);
  });

  test("as the user with a range: the range, the helpers and the binary are found; cgroups on this host are not delegated", () => {
    user.setSubIds(subStart, 65536);
    try {
      const r = user.bunc(["doctor", "--format", "json"]);
      expect(r.exitCode).toBe(0);
      const checks = byCheck(JSON.parse(r.stdout) as Finding[]);
      expect(checks.get("/etc/subuid range")).toMatchObject({ ok: true, detail: expect.stringContaining(`${subStart}-${subStart + 65535}`) });
      expect(checks.get("/etc/subgid range")?.ok).toBe(true);
      expect(checks.get("newuidmap")?.ok).toBe(true);
      expect(checks.get("newgidmap")?.ok).toBe(true);
      expect(checks.get("runtime binary (rootless)")?.ok).toBe(true);
      // Tried, not inferred: a namespace with the caller's own ids, then one with the range.
      expect(checks.get("user namespace (tried)")).toMatchObject({ ok: true, detail: expect.stringContaining(`uid map 0 ${user.uid} 1`) });
      expect(checks.get("sub-id maps (tried)")).toMatchObject({ ok: true, detail: expect.stringContaining(`uid map 0 ${user.uid} 1, 1 ${subStart} 65536`) });
      const cgroups = checks.get("cgroups (rootless)")!;
      // Whatever the layout, the finding says what rootless resources get, and a fix if none.
      if (!cgroups.ok) expect(cgroups.fix).toContain("Delegate=yes");
    } finally {
      user.clearSubIds();
    }
  });

  test("as the user without a range: the finding names the file and the user, the fix gives a range", () => {
    user.clearSubIds();
    const r = user.bunc(["doctor", "--format", "json"]);
    // Missing ranges limit what runs; they do not stop rootless containers.
    expect(r.exitCode).toBe(0);
    const sub = byCheck(JSON.parse(r.stdout) as Finding[]).get("/etc/subuid range")!;
    expect(sub.ok).toBe(false);
    expect(sub.required).toBe(false);
    expect(sub.detail).toContain(`no line for ${user.name} in /etc/subuid`);
    expect(sub.fix).toContain(`usermod --add-subuids 100000-165535 ${user.name}`);
    // Nothing to try with no range; the namespace with the user's own ids is still tried.
    const checks = byCheck(JSON.parse(r.stdout) as Finding[]);
    expect(checks.has("sub-id maps (tried)")).toBe(false);
    expect(checks.get("user namespace (tried)")?.ok).toBe(true);
    const text = user.bunc(["doctor"]);
    expect(text.stdout).toContain("warn  /etc/subuid range");
    expect(text.stdout).toContain("fix: as root: usermod --add-subuids");
  });
});

describe("bunc doctor with a range the kernel refuses", () => {
  type Finding = { check: string; ok: boolean; detail: string; fix: string; required: boolean };

  test("the tried map fails: the finding says what the helper said and how to fix the files", () => {
    // Listed for the user, so newuidmap lets it through, but past the last id a map may hold.
    user.setSubIds(4294967000, 65536);
    try {
      const r = user.bunc(["doctor", "--format", "json"]);
      expect(r.exitCode).toBe(0);
      const tried = (JSON.parse(r.stdout) as Finding[]).find((f) => f.check === "sub-id maps (tried)")!;
      expect(tried.ok).toBe(false);
      expect(tried.required).toBe(false);
      expect(tried.detail).toContain(`cannot set uid map 0 ${user.uid} 1, 1 4294967000 65536`);
      expect(tried.detail).toContain("newuidmap");
      expect(tried.fix).toContain(`fix the lines for ${user.name} in /etc/subuid and /etc/subgid`);
    } finally {
      user.clearSubIds();
    }
  });
});

describe("unpack as a user without root", () => {
  // One layer with files of several owners, a read-only directory with a file in it, and a
  // symlink (which can carry no user xattr).
  async function layout(): Promise<string> {
    const layer = await tarOf([
      { name: "etc", type: "directory" },
      { name: "etc/app.conf", content: "a\n", uid: 1000, gid: 1000 },
      { name: "home/svc", type: "directory", uid: 2000, gid: 3000 },
      { name: "home/svc/data", content: "d\n", uid: 2000, gid: 3000 },
      { name: "big", content: "b\n", uid: 165535, gid: 165534 },
      { name: "mine", content: "r\n" },
      { name: "ro", type: "directory", mode: 0o555 },
      { name: "ro/inside", content: "i\n" },
      { name: "link", type: "symlink", linkname: "etc/app.conf", uid: 1000, gid: 1000 },
    ]);
    const blob = (mediaType: string, bytes: Uint8Array) => ({ bytes, descriptor: { mediaType, digest: sha256(bytes), size: bytes.length } });
    const layerBlob = blob("application/vnd.oci.image.layer.v1.tar", layer);
    const json = (v: unknown) => new TextEncoder().encode(JSON.stringify(v));
    const config = blob(OCI_CONFIG, json({ architecture: "amd64", os: "linux", config: {}, rootfs: { type: "layers", diff_ids: [sha256(layer)] } }));
    const manifest = blob(OCI_MANIFEST, json({ schemaVersion: 2, mediaType: OCI_MANIFEST, config: config.descriptor, layers: [layerBlob.descriptor] }));
    const dir = join(user.dir, `layout-${++n}`);
    writeLayout(dir, [{ descriptor: manifest.descriptor, name: "v1" }], [manifest, config, layerBlob]);
    Bun.spawnSync(["chown", "-R", `${user.uid}:${user.gid}`, dir]);
    return dir;
  }
  const xattr = (path: string) => {
    const v = lgetxattr(path, "user.rootlesscontainers");
    return typeof v === "number" ? v : [...v];
  };
  const ENODATA = -61;

  test("owners go to user.rootlesscontainers, one warning names the highest ids, read-only directories unpack", async () => {
    const dest = join(user.dir, `rootfs-${++n}`);
    const r = user.bunc(["unpack", `oci:${await layout()}:v1`, dest]);
    expect(r.exitCode).toBe(0);
    const warnings = r.stderr.split("\n").filter((l) => l.includes("not running as root"));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain("uids up to 165535 and gids up to 165534");
    expect(warnings[0]).toContain("4 owner(s) kept in the user.rootlesscontainers xattr");
    expect(warnings[0]).toContain("1 owner(s) could not be kept");
    for (const f of ["etc/app.conf", "home/svc/data", "mine", "ro/inside"]) expect(statSync(join(dest, f)).uid).toBe(user.uid);
    // protobuf Resource{uid: 1000, gid: 1000}: field 1 and 2 varints.
    expect(xattr(join(dest, "etc/app.conf"))).toEqual([0x08, 0xe8, 0x07, 0x10, 0xe8, 0x07]);
    expect(xattr(join(dest, "home/svc"))).toEqual([0x08, 0xd0, 0x0f, 0x10, 0xb8, 0x17]);
    expect(xattr(join(dest, "mine"))).toBe(ENODATA);
    expect(lstatSync(join(dest, "link")).isSymbolicLink()).toBe(true);
    expect(statSync(join(dest, "ro")).mode & 0o777).toBe(0o555);
    expect(readFileSync(join(dest, "ro/inside"), "utf8")).toBe("i\n");
  });
});

describe("images as a user without root", () => {
  test("import into ~/.local/share/bunc, bundle (a rootless config), run", async () => {
    const archive = join(user.dir, "image.tar");
    writeFileSync(archive, await rootfsImageArchive("localhost/rootless:v1"));
    chownSync(archive, user.uid, user.gid);
    const imported = user.bunc(["import", `oci-archive:${archive}`, "localhost/rootless:v1"]);
    expect(imported.stderr).toBe("");
    expect(imported.exitCode).toBe(0);
    const store = `/home/${user.name}/.local/share/bunc`;
    expect(statSync(join(store, "index.json")).uid).toBe(user.uid);
    expect(user.bunc(["images"]).stdout).toContain("localhost/rootless:v1");

    const bundle = join(user.dir, `image-bundle-${++n}`);
    const made = user.bunc(["bundle", "localhost/rootless:v1", bundle]);
    expect(made.exitCode).toBe(0);
    const config = JSON.parse(readFileSync(join(bundle, "config.json"), "utf8"));
    expect(config.linux.uidMappings).toEqual([{ containerID: 0, hostID: user.uid, size: 1 }]);
    expect(config.linux.namespaces.map((ns: { type: string }) => ns.type)).not.toContain("network");
    // The rootfs's /home/user belongs to uid 1000 in the image: kept in the xattr.
    expect(statSync(join(bundle, "rootfs/home/user")).uid).toBe(user.uid);

    config.process.args = ["sh", "-c", "id -u; cat /etc/passwd | head -1"];
    writeFileSync(join(bundle, "config.json"), JSON.stringify(config));
    const r = user.bunc(["run", "--bundle", bundle, id()]);
    expect(r.stderr).toBe("");
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toBe("0\nroot:x:0:0:root:/root:/bin/sh\n");

    // run --image: the cached tree and the container's rootfs (a copy: a user cannot mount
    // an overlay here) under the user's own dirs, a rootless config, nothing left after --rm.
    const ran = user.bunc(["run", "--rm", "--image", "localhost/rootless:v1", "--", "sh", "-c", "id -u; echo from-image"]);
    // The one line on stderr is the first unpack's warning about the image's owners.
    expect(ran.stderr.trim().split("\n")).toEqual([expect.stringContaining("kept in the user.rootlesscontainers xattr")]);
    expect(ran.exitCode).toBe(0);
    expect(ran.stdout).toBe("0\nfrom-image\n");
  });
});
