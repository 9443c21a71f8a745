// `bunc run --image`: a container straight from an image in the store (or pulled from a
// registry on demand), on an overlay over the image's layers unpacked once per chain ID.
// The flags reach the container (command, env, cwd, user, volumes, read-only root, memory
// and pids limits), the exit code is the container's, the cached tree never sees the
// container's writes, and delete (or a failed create) leaves no mount, dir or state.
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { buncPath } from "./support/bunc.ts";
import { mountsUnder } from "./support/bundle.ts";
import { OCI_CONFIG, OCI_MANIFEST, sha256, tarBytes, tempDir, writeLayout, type Blob, type TarEntry, busyboxEntries } from "./support/images.ts";
import { type TestRegistry, pushLayout, startRegistry } from "./support/registry.ts";

const json = (v: unknown) => new TextEncoder().encode(JSON.stringify(v));
const blob = (mediaType: string, bytes: Uint8Array): Blob => ({ bytes, descriptor: { mediaType, digest: sha256(bytes), size: bytes.length } });
const APPLETS = ["sh", "id", "pwd", "echo", "cat", "ls", "test", "touch", "sleep", "grep", "true"];

/** busybox in two gzip layers, user "app" in /etc/passwd, Cmd echoing a greeting. */
async function busyboxLayout(dir: string): Promise<{ layout: string; diffIds: string[] }> {
  const base: TarEntry[] = [
    ...busyboxEntries(APPLETS),
    { name: "etc/", type: "directory" },
    { name: "etc/passwd", content: "root:x:0:0:root:/root:/bin/sh\napp:x:1234:1234::/home/app:/bin/sh\n" },
    { name: "etc/group", content: "root:x:0:\napp:x:1234:\n" },
    { name: "tmp/", type: "directory", mode: 0o1777 },
  ];
  const upper: TarEntry[] = [{ name: "srv/", type: "directory" }, { name: "srv/greeting", content: "from the image\n" }];
  const tars = await Promise.all([base, upper].map((entries) => tarBytes(entries)));
  const layers = tars.map((t) => blob("application/vnd.oci.image.layer.v1.tar+gzip", gzipSync(t)));
  const diffIds = tars.map((t) => sha256(t));
  const config = blob(
    OCI_CONFIG,
    json({ architecture: "amd64", os: "linux", config: { Env: ["PATH=/bin", "FROM_IMAGE=yes"], Cmd: ["/bin/cat", "/srv/greeting"] }, rootfs: { type: "layers", diff_ids: diffIds } }),
  );
  const manifest = blob(OCI_MANIFEST, json({ schemaVersion: 2, mediaType: OCI_MANIFEST, config: config.descriptor, layers: layers.map((l) => l.descriptor) }));
  const layout = join(dir, "layout");
  writeLayout(layout, [{ descriptor: manifest.descriptor, name: "1" }], [manifest, config, ...layers]);
  return { layout, diffIds };
}

function chainHex(diffIds: string[]): string {
  let id = diffIds[0]!;
  for (const d of diffIds.slice(1)) id = sha256(`${id} ${d}`);
  return id.slice(7);
}

let work: string;
let store: string;
let layout: string;
let cacheDir: string;
const roots: string[] = [];

beforeAll(async () => {
  work = tempDir("run-image");
  store = join(work, "store");
  const built = await busyboxLayout(work);
  layout = built.layout;
  cacheDir = join(store, ".bunc-rootfs", chainHex(built.diffIds));
  const r = bunc(["import", `oci:${layout}:1`, "busybox:1"]);
  if (r.exitCode !== 0) throw new Error(`import failed: ${r.stderr}`);
});

afterAll(() => rmSync(work, { recursive: true, force: true }));

/** Every container under each test's state root deleted, mounts gone, then the root removed. */
afterEach(() => {
  for (const root of roots.splice(0)) {
    for (const id of existsSync(root) ? readdirSync(root) : []) {
      if (!id.startsWith("@")) bunc(["--root", root, "delete", "-f", id]);
    }
    for (const m of mountsUnder(root).reverse()) Bun.spawnSync(["umount", "-l", m]);
    rmSync(root, { recursive: true, force: true });
  }
});

function stateRoot(): string {
  const root = tempDir("run-image-root");
  roots.push(root);
  return root;
}

function bunc(args: string[], opts: { storeDir?: string } = {}) {
  const r = Bun.spawnSync([buncPath(), "--store", opts.storeDir ?? store, ...args], { stdin: "ignore", stdout: "pipe", stderr: "pipe", timeout: 60_000 });
  return { exitCode: r.exitCode, stdout: r.stdout.toString(), stderr: r.stderr.toString() };
}

const run = (root: string, ...args: string[]) => bunc(["--root", root, "run", ...args]);

describe("run --image", () => {
  test("runs the command after --, prints its output, removes everything with --rm", () => {
    const root = stateRoot();
    const r = run(root, "--rm", "--image", "busybox:1", "--", "echo", "hi");
    expect(r.stderr).toBe("");
    expect(r.stdout).toBe("hi\n");
    expect(r.exitCode).toBe(0);
    expect(readdirSync(root).filter((n) => n !== "@cache" && n !== "@image")).toEqual([]);
    expect(readdirSync(join(root, "@image"))).toEqual([]);
    expect(mountsUnder(root)).toEqual([]);
  });

  test("the image's Cmd when no command is given; the command's flags are its own after the id", () => {
    const root = stateRoot();
    expect(run(root, "--rm", "--image", "busybox:1").stdout).toBe("from the image\n");
    const r = run(root, "--rm", "--image", "busybox:1", "c1", "sh", "-c", "echo $0 -e", "x");
    expect(r.stderr).toBe("");
    expect(r.stdout).toBe("x -e\n");
  });

  test("stdin is /dev/null unless -i; -t gives the process a terminal", () => {
    const root = stateRoot();
    const piped = (...args: string[]) => {
      const r = Bun.spawnSync([buncPath(), "--store", store, "--root", root, "run", "--rm", ...args], { stdin: new TextEncoder().encode("from stdin\n"), stdout: "pipe", stderr: "pipe", timeout: 60_000 });
      return r.stdout.toString();
    };
    expect(piped("--image", "busybox:1", "--", "cat")).toBe("");
    expect(piped("-i", "--image", "busybox:1", "--", "cat")).toBe("from stdin\n");
    expect(piped("-t", "--image", "busybox:1", "--", "sh", "-c", "test -t 0 && test -t 1 && echo terminal")).toContain("terminal\r\n");
  });

  test("the exit code is the container's", () => {
    const root = stateRoot();
    expect(run(root, "--rm", "--image", "busybox:1", "--", "sh", "-c", "exit 3").exitCode).toBe(3);
  });

  test("-e, -w and -u are applied on top of the image's config", () => {
    const root = stateRoot();
    const r = run(root, "--rm", "--image", "busybox:1", "-e", "GREETING=hello", "-w", "/srv", "-u", "app", "--", "sh", "-c", 'echo "$(id -u):$(id -g) $(pwd) $GREETING $FROM_IMAGE"');
    expect(r.stderr).toBe("");
    expect(r.stdout).toBe("1234:1234 /srv hello yes\n");
  });

  test("-v binds a host directory, :ro read-only; --read-only makes the root read-only", () => {
    const root = stateRoot();
    const host = join(root, "..", `${root.split("/").pop()}-vol`);
    mkdirSync(host);
    try {
      writeFileSync(join(host, "in"), "from the host\n");
      const rw = run(root, "--rm", "--image", "busybox:1", "-v", `${host}:/data`, "--", "sh", "-c", "cat /data/in; echo written > /data/out");
      expect(rw.stderr).toBe("");
      expect(rw.stdout).toBe("from the host\n");
      expect(readFileSync(join(host, "out"), "utf8")).toBe("written\n");
      const ro = run(root, "--rm", "--image", "busybox:1", "-v", `${host}:/data:ro`, "--", "sh", "-c", "cat /data/in; touch /data/x 2>/dev/null && echo wrote || echo refused");
      expect(ro.stdout).toBe("from the host\nrefused\n");
      const rootRo = run(root, "--rm", "--image", "busybox:1", "--read-only", "--", "sh", "-c", "touch /x 2>/dev/null && echo wrote || echo refused");
      expect(rootRo.stdout).toBe("refused\n");
    } finally {
      rmSync(host, { recursive: true, force: true });
    }
  });

  test("--memory and --pids-limit are the container cgroup's limits", () => {
    const root = stateRoot();
    const script = "cat /sys/fs/cgroup/memory.max 2>/dev/null || cat /sys/fs/cgroup/memory/memory.limit_in_bytes; cat /sys/fs/cgroup/pids.max 2>/dev/null || cat /sys/fs/cgroup/pids/pids.max";
    const r = run(root, "--rm", "--image", "busybox:1", "--memory", "64m", "--pids-limit", "42", "--", "sh", "-c", script);
    expect(r.stderr).toBe("");
    expect(r.stdout).toBe(`${64 * 1024 * 1024}\n42\n`);
  });

  test("the layers are unpacked once; the container's writes stay out of the cached tree", () => {
    const root = stateRoot();
    expect(run(root, "--rm", "--image", "busybox:1", "--", "sh", "-c", "echo one > /x; cat /x").stdout).toBe("one\n");
    const before = statSync(cacheDir);
    expect(existsSync(join(cacheDir, "x"))).toBe(false);
    const second = run(root, "--rm", "--image", "busybox:1", "--", "sh", "-c", "test -e /x && echo seen || echo unseen");
    expect(second.stdout).toBe("unseen\n");
    const after = statSync(cacheDir);
    expect([after.ino, after.mtimeMs]).toEqual([before.ino, before.mtimeMs]);
  });

  test("without --rm the stopped container is kept; -d prints the id; delete -f removes mount and dirs", () => {
    const root = stateRoot();
    const kept = run(root, "--image", "busybox:1", "--name", "kept", "--", "true");
    expect(kept.exitCode).toBe(0);
    expect(JSON.parse(bunc(["--root", root, "state", "kept"]).stdout).status).toBe("stopped");
    expect(bunc(["--root", root, "delete", "kept"]).exitCode).toBe(0);
    expect(existsSync(join(root, "@image", "kept"))).toBe(false);

    const d = run(root, "-d", "--image", "busybox:1", "--", "sleep", "60");
    expect(d.stderr).toBe("");
    expect(d.exitCode).toBe(0);
    const id = d.stdout.trim();
    expect(id).toMatch(/^[0-9a-f]{12}$/);
    const rootfs = join(root, "@image", id, "rootfs");
    expect(mountsUnder(root)).toContain(rootfs);
    expect(JSON.parse(bunc(["--root", root, "state", id]).stdout).status).toBe("running");
    expect(bunc(["--root", root, "delete", "-f", id]).exitCode).toBe(0);
    expect(mountsUnder(root)).toEqual([]);
    expect(existsSync(join(root, "@image", id))).toBe(false);
    expect(existsSync(join(root, id))).toBe(false);
  });

  test("where overlayfs cannot take the paths (a ':' in them) the rootfs is a copy, removed by delete", () => {
    const root = join(stateRoot(), "state:root");
    const r = run(root, "--image", "busybox:1", "--name", "copied", "--", "sh", "-c", "echo two > /x; cat /x /srv/greeting");
    expect(r.stderr).toBe("");
    expect(r.stdout).toBe("two\nfrom the image\n");
    expect(mountsUnder(root)).toEqual([]);
    expect(readFileSync(join(root, "@image", "copied", "rootfs", "x"), "utf8")).toBe("two\n");
    expect(existsSync(join(cacheDir, "x"))).toBe(false);
    expect(bunc(["--root", root, "delete", "copied"]).exitCode).toBe(0);
    expect(existsSync(join(root, "@image", "copied"))).toBe(false);
  });

  test("gc keeps the trees of stored images and of mounted containers, removes the others", () => {
    const root = stateRoot();
    const own = join(root, "..", `${root.split("/").pop()}-store`);
    try {
      const opts = { storeDir: own };
      expect(bunc(["import", `oci:${layout}:1`, "mine:1"], opts).exitCode).toBe(0);
      const tree = join(own, ".bunc-rootfs", cacheDir.split("/").pop()!);
      expect(bunc(["--root", root, "run", "--image", "mine:1", "--name", "user", "--", "true"], opts).exitCode).toBe(0);
      expect(existsSync(tree)).toBe(true);
      expect(bunc(["gc"], opts).stdout).not.toContain("unpacked");
      expect(bunc(["rmi", "mine:1"], opts).exitCode).toBe(0);
      // The kept container's overlay still has the tree as its lower layer.
      bunc(["gc"], opts);
      expect(existsSync(tree)).toBe(true);
      expect(bunc(["--root", root, "delete", "user"]).exitCode).toBe(0);
      expect(bunc(["gc"], opts).stdout).toContain("; 1 unpacked image trees");
      expect(existsSync(tree)).toBe(false);
    } finally {
      rmSync(own, { recursive: true, force: true });
    }
  });

  test("a failing create (an unknown user, a mount the runtime refuses) leaves no mount, dir or state", () => {
    const root = stateRoot();
    const r = run(root, "--rm", "--image", "busybox:1", "--name", "bad", "-u", "nosuch", "--", "true");
    expect(r.exitCode).not.toBe(0);
    expect(r.stderr).toContain("nosuch");
    expect(mountsUnder(root)).toEqual([]);
    expect(existsSync(join(root, "bad"))).toBe(false);
    expect(readdirSync(join(root, "@image"))).toEqual([]);
    // Refused by the runtime this time, not by the conversion: a file bound over a directory.
    const file = join(root, "..", `${root.split("/").pop()}-file`);
    writeFileSync(file, "x");
    try {
      const r2 = run(root, "--rm", "--image", "busybox:1", "--name", "bad2", "-v", `${file}:/bin`, "--", "true");
      expect(r2.exitCode).not.toBe(0);
      expect(r2.stderr).toContain("/bin");
    } finally {
      rmSync(file, { force: true });
    }
    expect(mountsUnder(root)).toEqual([]);
    expect(existsSync(join(root, "bad2"))).toBe(false);
    expect(readdirSync(join(root, "@image"))).toEqual([]);
  });

  test("an id in use is refused and the container that has it keeps its rootfs", () => {
    const root = stateRoot();
    expect(run(root, "--image", "busybox:1", "--name", "taken", "--", "true").exitCode).toBe(0);
    const again = run(root, "--image", "busybox:1", "--name", "taken", "--", "true");
    expect(again.exitCode).not.toBe(0);
    expect(again.stderr).toContain('"taken" already exists');
    expect(existsSync(join(root, "@image", "taken", "rootfs", "bin", "busybox"))).toBe(true);
    expect(bunc(["--root", root, "delete", "taken"]).exitCode).toBe(0);
    expect(mountsUnder(root)).toEqual([]);
  });

  test("two runs of an image not unpacked yet, at once: both run, one tree is kept", async () => {
    const root = stateRoot();
    const own = join(root, "..", `${root.split("/").pop()}-store`);
    try {
      expect(bunc(["import", `oci:${layout}:1`, "twice:1"], { storeDir: own }).exitCode).toBe(0);
      const procs = ["a", "b"].map((id) =>
        Bun.spawn([buncPath(), "--store", own, "--root", root, "run", "--rm", "--image", "twice:1", "--name", id, "--", "echo", id], { stdin: "ignore", stdout: "pipe", stderr: "pipe" }),
      );
      const outs = await Promise.all(procs.map(async (pr) => [await pr.exited, await new Response(pr.stdout).text()] as const));
      expect(outs).toEqual([[0, "a\n"], [0, "b\n"]]);
      expect(readdirSync(join(own, ".bunc-rootfs"))).toEqual([cacheDir.split("/").pop()!]);
    } finally {
      rmSync(own, { recursive: true, force: true });
    }
  });

  test("bad flags are usage errors naming the flag, before anything is made", () => {
    const root = stateRoot();
    const cases: [string[], string][] = [
      [["--image", "busybox:1", "--bundle", "/tmp", "x"], "--bundle"],
      [["-e", "A=1", "x"], "--env"],
      [["--image", "busybox:1", "-v", "relative:/data", "--", "true"], "--volume"],
      [["--image", "busybox:1", "-v", "/nonexistent-bunc-src:/data", "--", "true"], "/nonexistent-bunc-src"],
      [["--image", "busybox:1", "--memory", "lots", "--", "true"], "--memory"],
      [["--image", "busybox:1", "--rm", "-d", "--", "true"], "--rm"],
      [["--image", "busybox:1", "--name", "a/b", "--", "true"], "a/b"],
    ];
    for (const [args, named] of cases) {
      const r = run(root, ...args);
      expect(r.exitCode).not.toBe(0);
      expect(r.stderr).toContain(named);
    }
    expect(readdirSync(root).filter((n) => n !== "@cache" && n !== "@image")).toEqual([]);
    expect(mountsUnder(root)).toEqual([]);
  });
});

describe("run --image from a registry", () => {
  let registry: TestRegistry;
  beforeAll(async () => {
    registry = await startRegistry();
    pushLayout(layout, "1", registry, "test/busybox");
  }, 120_000);
  afterAll(async () => {
    await registry?.stop();
  });

  test("an image not in the store is pulled, verified, unpacked and run", () => {
    const root = stateRoot();
    const emptyStore = join(work, "registry-store");
    const r = bunc(["--root", root, "run", "--rm", "--image", `${registry.host}/test/busybox:1`, "--", "echo", "hi"], { storeDir: emptyStore });
    expect(r.stdout).toBe("hi\n");
    expect(r.exitCode).toBe(0);
    expect(bunc(["images"], { storeDir: emptyStore }).stdout).toContain(`${registry.host}/test/busybox`);
  });
});
