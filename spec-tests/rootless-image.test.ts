// `run --image` by a user without root: with /etc/subuid and /etc/subgid ranges the image is
// unpacked into the user's sub-ids and the container gets the same maps, so it sees the
// image's own owners; with ranges too narrow for the image, or none, owners are kept in the
// user.rootlesscontainers xattr with one warning. And an image pulled from the local CNCF
// registry into the user's own store. The user, its ranges, the registry and everything made
// are removed after, passed or failed.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chownSync, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { createTestUser, type TestUser } from "./support/rootless-user.ts";
import { busyboxEntries, OCI_CONFIG, OCI_MANIFEST, sha256, writeLayout } from "./support/images.ts";
import { pushLayout, startRegistry, type TestRegistry } from "./support/registry.ts";
import { tarOf, type TestEntry } from "../src/image/unpack/test-layers.ts";

let user: TestUser;
let layout: string;
let n = 0;
const id = () => `rli-${process.pid}-${++n}`;
// A sub-id range of its own for this test process, away from useradd's defaults and from
// rootless.test.ts's.
const subStart = 200_000_000 + (process.pid % 1000) * 65536;
const IMAGE = () => `oci:${layout}:v1`;
// The owners the container must see, one line each: "uid:gid path".
const STAT = ["sh", "-c", "stat -c '%u:%g %n' / /etc/app.conf /home/svc /home/svc/data /nobody /link; cat /proc/self/uid_map"];
const REAL_OWNERS = ["0:0 /", "1000:1000 /etc/app.conf", "2000:3000 /home/svc", "2000:3000 /home/svc/data", "65534:65534 /nobody", "1000:1000 /link"];
const ALL_ROOT = ["0:0 /", "0:0 /etc/app.conf", "0:0 /home/svc", "0:0 /home/svc/data", "0:0 /nobody", "0:0 /link"];

/** busybox and files of several owners, one gzip layer, as an OCI layout the user owns. */
async function ownersLayout(dir: string): Promise<void> {
  const busybox: TestEntry[] = busyboxEntries(["sh", "stat", "cat"]).map((e) => ({ ...e, type: e.type ?? "file", mode: e.mode ?? (e.type === "directory" ? 0o755 : 0o644) }));
  const raw = await tarOf([
    { name: "./", type: "directory", mode: 0o755 },
    ...busybox,
    { name: "etc", type: "directory", mode: 0o755 },
    { name: "etc/app.conf", content: "a\n", uid: 1000, gid: 1000 },
    { name: "home/svc", type: "directory", mode: 0o700, uid: 2000, gid: 3000 },
    { name: "home/svc/data", content: "d\n", mode: 0o600, uid: 2000, gid: 3000 },
    { name: "nobody", content: "n\n", uid: 65534, gid: 65534 },
    { name: "link", type: "symlink", linkname: "etc/app.conf", uid: 1000, gid: 1000 },
  ]);
  const gz = new Uint8Array(gzipSync(raw));
  const blob = (mediaType: string, bytes: Uint8Array) => ({ bytes, descriptor: { mediaType, digest: sha256(bytes), size: bytes.length } });
  const json = (v: unknown) => new TextEncoder().encode(JSON.stringify(v));
  const layer = blob("application/vnd.oci.image.layer.v1.tar+gzip", gz);
  const config = blob(OCI_CONFIG, json({ architecture: "amd64", os: "linux", config: { Env: ["PATH=/bin"], Cmd: ["sh"] }, rootfs: { type: "layers", diff_ids: [sha256(raw)] } }));
  const manifest = blob(OCI_MANIFEST, json({ schemaVersion: 2, mediaType: OCI_MANIFEST, config: config.descriptor, layers: [layer.descriptor] }));
  writeLayout(dir, [{ descriptor: manifest.descriptor, name: "v1" }], [manifest, config, layer]);
}

const store = () => `/home/${user.name}/.local/share/bunc`;
const cacheDir = () => join(store(), ".bunc-rootfs");
/** The unpacked trees (not the symlinks that stand for one, nor staging dirs). */
const trees = () => (existsSync(cacheDir()) ? readdirSync(cacheDir()).filter((e) => !e.startsWith(".") && lstatSync(join(cacheDir(), e)).isDirectory()) : []);
const links = () => (existsSync(cacheDir()) ? readdirSync(cacheDir()).filter((e) => lstatSync(join(cacheDir(), e)).isSymbolicLink()) : []);
const imageDirs = () => (existsSync(join(user.runtimeDir, "bunc", "@image")) ? readdirSync(join(user.runtimeDir, "bunc", "@image")) : []);

/** Removes every unpacked tree of the user's store, as the user (gc). */
function gc(): void {
  const r = user.bunc(["gc"]);
  expect(r.stderr).toBe("");
  expect(r.exitCode).toBe(0);
  expect(existsSync(cacheDir()) ? readdirSync(cacheDir()) : []).toEqual([]);
}

beforeAll(async () => {
  user = createTestUser();
  layout = join(user.dir, "layout");
  await ownersLayout(layout);
  Bun.spawnSync(["chown", "-R", `${user.uid}:${user.gid}`, layout]);
});
afterAll(() => user?.remove());

describe("run --image with /etc/subuid and /etc/subgid ranges", () => {
  test("the container sees the image's owners; on the host they are the mapped sub-ids; delete and gc remove them", () => {
    user.setSubIds(subStart, 65536);
    const cid = id();
    try {
      const r = user.bunc(["run", "--image", IMAGE(), cid, "--", ...STAT]);
      expect(r.stderr).toBe("");
      expect(r.exitCode).toBe(0);
      const lines = r.stdout.trim().split("\n");
      expect(lines.slice(0, 6)).toEqual(REAL_OWNERS);
      expect(lines.slice(6).map((l) => l.trim().split(/\s+/))).toEqual([
        ["0", String(user.uid), "1"],
        ["1", String(subStart), "65536"],
      ]);

      // Container id N (N ≥ 1) is host id subStart + N - 1; 0 is the user.
      const host = (n: number) => (n === 0 ? user.uid : subStart + n - 1);
      const hostGid = (n: number) => (n === 0 ? user.gid : subStart + n - 1);
      expect(trees()).toHaveLength(1);
      const tree = join(cacheDir(), trees()[0]!);
      const rootfs = join(user.runtimeDir, "bunc", "@image", cid, "rootfs");
      for (const dir of [tree, rootfs]) {
        const owner = (p: string) => [lstatSync(join(dir, p)).uid, lstatSync(join(dir, p)).gid];
        expect(owner("")).toEqual([host(0), hostGid(0)]);
        expect(owner("bin/busybox")).toEqual([host(0), hostGid(0)]);
        expect(owner("etc/app.conf")).toEqual([host(1000), hostGid(1000)]);
        expect(owner("home/svc")).toEqual([host(2000), hostGid(3000)]);
        expect(owner("home/svc/data")).toEqual([host(2000), hostGid(3000)]);
        expect(owner("nobody")).toEqual([host(65534), hostGid(65534)]);
        expect(owner("link")).toEqual([host(1000), hostGid(1000)]);
        expect(lstatSync(join(dir, "home/svc")).mode & 0o777).toBe(0o700);
      }

      // A second container reuses the tree, and as a mapped user may read its own file.
      const again = user.bunc(["run", "--rm", "--image", IMAGE(), "--user", "2000:3000", "--", "cat", "/home/svc/data"]);
      expect(again.stderr).toBe("");
      expect(again.stdout).toBe("d\n");
      expect(trees()).toHaveLength(1);

      // The copy holds files the user cannot remove itself: delete removes them all.
      const del = user.bunc(["delete", cid]);
      expect(del.stderr).toBe("");
      expect(del.exitCode).toBe(0);
      expect(imageDirs()).toEqual([]);
      // No image of the store names the chain: gc removes the tree of sub-id owned files.
      gc();
    } finally {
      user.bunc(["delete", "--force", cid]);
      user.bunc(["gc"]);
      user.clearSubIds();
    }
  });

  test("ranges too narrow for the image: one warning names the owner and the maps, owners go to the xattr, the next run does not try again", () => {
    // Container uids 0-10000: the image's 65534 is out of reach.
    user.setSubIds(subStart, 10000);
    try {
      const r = user.bunc(["run", "--rm", "--image", IMAGE(), "--", ...STAT]);
      expect(r.exitCode).toBe(0);
      const warnings = r.stderr.trim().split("\n");
      expect(warnings).toHaveLength(2);
      expect(warnings[0]).toContain("nobody");
      expect(warnings[0]).toContain("in the image belongs to 65534:65534, beyond your sub-id maps (container uids 0-10000, gids 0-10000)");
      expect(warnings[1]).toContain("uids up to 65534 and gids up to 65534");
      expect(warnings[1]).toContain("kept in the user.rootlesscontainers xattr");
      const lines = r.stdout.trim().split("\n");
      expect(lines.slice(0, 6)).toEqual(ALL_ROOT);
      // Only the user's own ids, as without ranges.
      expect(lines.slice(6).map((l) => l.trim().split(/\s+/))).toEqual([["0", String(user.uid), "1"]]);
      expect(trees()).toHaveLength(1);
      expect(links()).toHaveLength(1);

      const again = user.bunc(["run", "--rm", "--image", IMAGE(), "--", "sh", "-c", ":"]);
      expect(again.stderr).toBe("");
      expect(again.exitCode).toBe(0);
      expect(imageDirs()).toEqual([]);
      gc();
    } finally {
      user.bunc(["gc"]);
      user.clearSubIds();
    }
  });

  test("without ranges: owners in the xattr with one warning naming the highest ids; a tree apart from the mapped one", () => {
    user.clearSubIds();
    const r = user.bunc(["run", "--rm", "--image", IMAGE(), "--", ...STAT]);
    expect(r.exitCode).toBe(0);
    const warnings = r.stderr.trim().split("\n");
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain("uids up to 65534 and gids up to 65534");
    expect(r.stdout.trim().split("\n").slice(0, 6)).toEqual(ALL_ROOT);
    const own = trees();
    expect(own).toHaveLength(1);

    // With ranges again the image gets a tree of its own: one tree per map.
    user.setSubIds(subStart, 65536);
    try {
      const wide = user.bunc(["run", "--rm", "--image", IMAGE(), "--", ...STAT]);
      expect(wide.stderr).toBe("");
      expect(wide.stdout.trim().split("\n").slice(0, 6)).toEqual(REAL_OWNERS);
      expect(trees()).toHaveLength(2);
      expect(trees()).toContain(own[0]!);
      gc();
    } finally {
      user.bunc(["gc"]);
      user.clearSubIds();
    }
  });
});

describe("run --image with ranges: a layer that fails its digest", () => {
  test("is refused naming the layer; no tree, staging dir or container is left", async () => {
    const bad = join(user.dir, "bad-layout");
    await ownersLayout(bad);
    // Same size, one byte changed: only the digest check can tell.
    const blobs = join(bad, "blobs", "sha256");
    const layerFile = readdirSync(blobs)
      .map((name) => join(blobs, name))
      .sort((a, b) => statSync(b).size - statSync(a).size)[0]!;
    const bytes = readFileSync(layerFile);
    bytes[bytes.length - 10]! ^= 0xff;
    writeFileSync(layerFile, bytes);
    Bun.spawnSync(["chown", "-R", `${user.uid}:${user.gid}`, bad]);
    user.setSubIds(subStart, 65536);
    try {
      const r = user.bunc(["run", "--rm", "--image", `oci:${bad}:v1`, "--", "sh", "-c", ":"]);
      expect(r.exitCode).toBe(1);
      expect(r.stderr).toContain(`sha256:${layerFile.split("/").pop()}`);
      expect(r.stderr).toMatch(/digest/);
      expect(existsSync(cacheDir()) ? readdirSync(cacheDir()) : []).toEqual([]);
      expect(imageDirs()).toEqual([]);
    } finally {
      user.bunc(["gc"]);
      user.clearSubIds();
    }
  });
});

describe("run --image from a registry, as a user without root", () => {
  let registry: TestRegistry | undefined;
  afterAll(async () => {
    await registry?.stop();
  });

  test("pulled into $XDG_DATA_HOME/bunc, run with its exit code; rmi and gc leave the store empty", async () => {
    registry = await startRegistry();
    pushLayout(layout, "v1", registry, "rootless/owners");
    const data = join(user.dir, "data");
    mkdirSync(data, { mode: 0o700 });
    chownSync(data, user.uid, user.gid);
    const env = { XDG_DATA_HOME: data };
    const ref = `${registry.host}/rootless/owners:v1`;
    const r = user.bunc(["run", "--rm", "--image", ref, "--", "sh", "-c", "cat /etc/app.conf; exit 3"], { env, timeoutMs: 60_000 });
    expect(r.exitCode).toBe(3);
    expect(r.stdout).toBe("a\n");
    const own = join(data, "bunc");
    expect(statSync(join(own, "index.json")).uid).toBe(user.uid);
    expect(user.bunc(["images"], { env }).stdout).toContain(ref);
    // Nothing went to the default store, and the container is gone.
    expect(user.bunc(["images"]).stdout).not.toContain(ref);
    expect(imageDirs()).toEqual([]);
    expect(user.bunc(["list", "--format", "json"]).stdout.trim()).toBe("[]");

    expect(user.bunc(["rmi", ref], { env }).exitCode).toBe(0);
    const collected = user.bunc(["gc"], { env });
    expect(collected.exitCode).toBe(0);
    expect(readdirSync(join(own, "blobs", "sha256"))).toEqual([]);
    expect(readdirSync(join(own, ".bunc-rootfs"))).toEqual([]);
  }, 120_000);
});
