// bunc's unpackLayers against umoci on the same image: umoci builds it (insert, a whiteout
// layer, an opaque layer), `umoci raw unpack` and unpackLayers each unpack it, and the two
// trees must agree on names, types, modes, owners, sizes, contents, link targets, hard link
// identity and xattrs. Needs root and Debian's umoci.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { execFileSync } from "node:child_process";
import { chmodSync, chownSync, linkSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type LayerInput, unpackLayers } from "../src/image/unpack/unpack-layers.ts";

let dir: string;
let layout: string;
const sh = (script: string) => execFileSync("sh", ["-ec", script], { stdio: ["ignore", "pipe", "pipe"] });

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "bunc-unpack-umoci-"));
  layout = join(dir, "image");
  const src = join(dir, "src");
  mkdirSync(join(src, "etc/conf.d"), { recursive: true });
  mkdirSync(join(src, "bin"));
  mkdirSync(join(src, "tmp"));
  mkdirSync(join(src, "dev"));
  mkdirSync(join(src, "home/user/docs"), { recursive: true });
  mkdirSync(join(src, "removeme/sub"), { recursive: true });
  writeFileSync(join(src, "etc/passwd"), "root:x:0:0:root:/root:/bin/sh\n");
  writeFileSync(join(src, "etc/conf.d/a.conf"), "a=1\n");
  writeFileSync(join(src, "bin/tool"), "#!/bin/sh\necho tool\n");
  chmodSync(join(src, "bin/tool"), 0o4755);
  writeFileSync(join(src, "bin/group-tool"), "x");
  chownSync(join(src, "bin/group-tool"), 0, 42);
  chmodSync(join(src, "bin/group-tool"), 0o2711);
  chmodSync(join(src, "tmp"), 0o1777);
  linkSync(join(src, "bin/tool"), join(src, "bin/tool-hardlink"));
  symlinkSync("/etc/passwd", join(src, "etc/passwd-link"));
  symlinkSync("../etc", join(src, "bin/etc-rel"));
  writeFileSync(join(src, "home/user/docs/big"), Buffer.alloc(300_000, 0x61));
  chownSync(join(src, "home/user"), 1000, 1000);
  chownSync(join(src, "home/user/docs/big"), 1000, 100);
  writeFileSync(join(src, "removeme/sub/f"), "gone");
  writeFileSync(join(src, "etc/conf.d/old.conf"), "hidden by the opaque layer");
  sh(`mknod ${src}/dev/null c 1 3 && chmod 666 ${src}/dev/null && mkfifo ${src}/dev/fifo && chmod 620 ${src}/dev/fifo`);
  sh(`setfattr -n user.note -v hello ${src}/etc/passwd 2>/dev/null || python3 -c "import os; os.setxattr('${src}/etc/passwd', 'user.note', b'hello')"`);
  const opaqueSrc = join(dir, "opaque");
  mkdirSync(opaqueSrc);
  writeFileSync(join(opaqueSrc, "new.conf"), "only this one\n");

  sh(`umoci init --layout ${layout}
      umoci new --image ${layout}:t
      umoci insert --image ${layout}:t ${src} /x
      umoci insert --image ${layout}:t --whiteout /x/removeme
      umoci insert --image ${layout}:t --opaque ${opaqueSrc} /x/etc/conf.d`);
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

function blob(digest: string): string {
  return join(layout, "blobs", "sha256", digest.slice("sha256:".length));
}

/** The layers of tag `t`, read from index.json → manifest → config, as a store would. */
function layersOfTag(tag: string): LayerInput[] {
  const index = JSON.parse(readFileSync(join(layout, "index.json"), "utf8"));
  const desc = index.manifests.find((m: { annotations?: Record<string, string> }) => m.annotations?.["org.opencontainers.image.ref.name"] === tag);
  const manifest = JSON.parse(readFileSync(blob(desc.digest), "utf8"));
  const config = JSON.parse(readFileSync(blob(manifest.config.digest), "utf8"));
  return manifest.layers.map((l: { digest: string; mediaType: string; size: number }, i: number) => ({
    digest: l.digest,
    mediaType: l.mediaType,
    size: l.size,
    diffId: config.rootfs.diff_ids[i],
    open: () => Bun.file(blob(l.digest)).stream(),
  }));
}

/** The xattrs (name=hex value) of every path below `root`, read in one python3 run. */
function xattrsBelow(root: string): Record<string, string> {
  const script = `
import os, sys, json
root = sys.argv[1]; out = {}
for d, dirs, files in os.walk(root):
    for n in dirs + files:
        p = os.path.join(d, n)
        out[p[len(root):]] = ",".join(sorted(a + "=" + os.getxattr(p, a, follow_symlinks=False).hex() for a in os.listxattr(p, follow_symlinks=False)))
print(json.dumps(out))`;
  return JSON.parse(execFileSync("python3", ["-c", script, root]).toString());
}

/** Everything the two unpackers must agree on, per path; hard links by group. */
function describeTree(root: string): Record<string, string> {
  const out: Record<string, string> = {};
  const inodes = new Map<number, string>();
  const xattrs = xattrsBelow(root);
  const walk = (d: string, rel: string) => {
    for (const name of readdirSync(d).sort()) {
      const p = join(d, name);
      const r = `${rel}/${name}`;
      const st = lstatSync(p);
      let what = `type=${(st.mode & 0o170000).toString(8)} mode=${(st.mode & 0o7777).toString(8)} owner=${st.uid}:${st.gid} xattrs=${xattrs[r]}`;
      if (st.isSymbolicLink()) what += ` -> ${readlinkSync(p)}`;
      else if (st.isFile()) {
        what += ` size=${st.size} sha=${new Bun.CryptoHasher("sha256").update(readFileSync(p)).digest("hex").slice(0, 16)}`;
        if (st.nlink > 1) {
          const first = inodes.get(st.ino) ?? r;
          inodes.set(st.ino, first);
          what += ` link-group=${first}`;
        }
      } else if (st.isCharacterDevice() || st.isBlockDevice()) what += ` rdev=${st.rdev}`;
      out[r] = what;
      if (st.isDirectory()) walk(p, r);
    }
  };
  walk(root, "");
  return out;
}

test("umoci built an image of four layers (base, content, whiteout, opaque)", () => {
  expect(layersOfTag("t").length).toBeGreaterThanOrEqual(3);
});

test("unpackLayers gives the tree umoci raw unpack gives", async () => {
  const theirs = join(dir, "umoci-rootfs");
  const ours = join(dir, "bunc-rootfs");
  sh(`umoci raw unpack --image ${layout}:t ${theirs}`);
  const stats = await unpackLayers(ours, layersOfTag("t"));
  const a = describeTree(theirs);
  const b = describeTree(ours);
  // The layers did what they say: whiteout and opaque applied, content present.
  expect(a["/x/removeme"]).toBeUndefined();
  expect(a["/x/etc/conf.d/old.conf"]).toBeUndefined();
  expect(a["/x/etc/conf.d/new.conf"]).toBeDefined();
  expect(a["/x/dev/null"]).toContain("rdev=259");
  expect(b).toEqual(a);
  // And the diffIDs unpackLayers computed are the ones umoci recorded.
  expect(stats.diffIds).toEqual(layersOfTag("t").map((l) => l.diffId!));
});
