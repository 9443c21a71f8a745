// Cold `run --image`: from a reference to a container that ran, on a host with an empty
// store, against skopeo + umoci + runc doing the same one after another.
//   bun bench/cold-run.ts [--runs N] [--bunc PATH] [--also PATH] [--breakdown]   (N defaults to 3)
// The image is bench-image.ts's with a busybox layer on top (~170 MB of gzip layers, ~400 MB
// and ~50k files uncompressed, Cmd /bin/true), pushed once to the CNCF distribution registry
// on 127.0.0.1. Each run, alternating, on a tmpfs, from nothing:
//   bunc   bunc --store S --root R run --rm --image HOST/bench/cold:TAG -- true
//   peers  skopeo copy docker://HOST/bench/cold:TAG oci:DIR:TAG; umoci unpack --image DIR:TAG
//          BUNDLE; runc --root R run -b BUNDLE ID (each step timed)
// --bunc runs another build; --also times a second build each run too, right after the
// first (an older one, to compare side by side); --breakdown also times bunc's parts:
// `bunc pull`, then `run --image` from the stored image (unpack and run), then a second
// `run --image` (the run alone).
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { REPO_ROOT } from "../spec-tests/support/bunc.ts";
import { mountsUnder } from "../spec-tests/support/bundle.ts";
import { pushLayout, startRegistry } from "../spec-tests/support/registry.ts";
import { benchLayout, withBusybox } from "./bench-image.ts";

const args = process.argv.slice(2);
const option = (name: string) => (args.includes(name) ? args[args.indexOf(name) + 1] : undefined);
const runs = Number(option("--runs") ?? 3);
const bunc = option("--bunc") ?? join(REPO_ROOT, "dist/bunc");
const also = option("--also");
const breakdown = args.includes("--breakdown");
if (!Number.isInteger(runs) || runs < 1) {
  console.error("usage: bun bench/cold-run.ts [--runs N] [--bunc PATH] [--also PATH] [--breakdown]");
  process.exit(2);
}
if (process.geteuid?.() !== 0) throw new Error("run as root (containers, and a tmpfs it mounts)");

function sh(argv: string[], opts: { cwd?: string } = {}): void {
  const r = Bun.spawnSync(argv, { cwd: opts.cwd, stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  if (r.exitCode !== 0) throw new Error(`${argv.join(" ")}: exit ${r.exitCode}: ${r.stderr.toString().slice(0, 2000)}`);
}

function timed(argv: string[], opts: { cwd?: string } = {}): number {
  const started = performance.now();
  sh(argv, opts);
  return performance.now() - started;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};
const secs = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

const layout = await benchLayout();
const tag = await withBusybox(layout);
const registry = await startRegistry();
const work = mkdtempSync(join(tmpdir(), "bunc-bench-cold-run-"));
const fs = join(work, "tmpfs");
sh(["mkdir", fs]);
sh(["mount", "-t", "tmpfs", "-o", "size=6g,mode=0755", "tmpfs", fs]);
try {
  pushLayout(layout, tag, registry, "bench/cold");
  const ref = `${registry.host}/bench/cold:${tag}`;
  const index = JSON.parse(readFileSync(join(layout, "index.json"), "utf8"));
  const manifestDigest: string = index.manifests.find((m: { annotations?: Record<string, string> }) => m.annotations?.["org.opencontainers.image.ref.name"] === tag).digest;
  const manifest = JSON.parse(readFileSync(join(layout, "blobs", "sha256", manifestDigest.slice(7)), "utf8"));
  const mb = manifest.layers.reduce((n: number, l: { size: number }) => n + l.size, 0) / 1e6;
  console.log(`load average ${loadavg()[0]!.toFixed(1)}; cold run of ${ref} (${manifest.layers.length} layers, ${mb.toFixed(0)} MB gzip) on tmpfs, ${runs} run(s) each`);
  console.log(`bunc: ${bunc}${also ? `; also: ${also}` : ""}`);

  const times = { bunc: [] as number[], also: [] as number[], skopeo: [] as number[], umoci: [] as number[], runc: [] as number[], peers: [] as number[] };
  const parts = { pull: [] as number[], unpackRun: [] as number[], run: [] as number[] };
  for (let i = 0; i < runs; i++) {
    const dir = join(fs, `run-${i}`);
    sh(["mkdir", dir]);
    try {
      const coldRun = (binary: string) => {
        const ms = timed([binary, "--store", join(dir, "store"), "--root", join(dir, "bunc-state"), "run", "--rm", "--image", ref, "--", "true"]);
        sh(["rm", "-rf", join(dir, "store")]);
        return ms;
      };
      // With --also, the two builds take turns going first.
      const alsoFirst = also !== undefined && i % 2 === 1 ? coldRun(also) : undefined;
      const b = coldRun(bunc);
      const a = also !== undefined ? (alsoFirst ?? coldRun(also)) : undefined;
      times.bunc.push(b);
      if (a !== undefined) times.also.push(a);

      const oci = join(dir, "oci");
      const bundle = join(dir, "bundle");
      const s = timed(["skopeo", "copy", "--quiet", "--src-tls-verify=false", `docker://${ref}`, `oci:${oci}:${tag}`]);
      const u = timed(["umoci", "unpack", "--image", `${oci}:${tag}`, bundle]);
      // umoci's config asks for a terminal; the process here has none.
      const configPath = join(bundle, "config.json");
      const config = JSON.parse(readFileSync(configPath, "utf8"));
      config.process.terminal = false;
      writeFileSync(configPath, JSON.stringify(config));
      const r = timed(["runc", "--root", join(dir, "runc-state"), "run", "-b", bundle, `bench-cold-${process.pid}-${i}`]);
      times.skopeo.push(s);
      times.umoci.push(u);
      times.runc.push(r);
      times.peers.push(s + u + r);
      const alsoShown = a !== undefined ? ` (also ${secs(a)}, ratio ${(a / (s + u + r)).toFixed(2)})` : "";
      console.log(`  run ${i + 1}: bunc ${secs(b)}${alsoShown} | skopeo ${secs(s)} + umoci ${secs(u)} + runc ${secs(r)} = ${secs(s + u + r)} | ratio ${(b / (s + u + r)).toFixed(2)}`);

      if (breakdown) {
        const store = join(dir, "store");
        const p = timed([bunc, "--store", store, "pull", "--quiet", ref]);
        const ur = timed([bunc, "--store", store, "--root", join(dir, "bunc-state"), "run", "--rm", "--image", ref, "--", "true"]);
        const rr = timed([bunc, "--store", store, "--root", join(dir, "bunc-state"), "run", "--rm", "--image", ref, "--", "true"]);
        parts.pull.push(p);
        parts.unpackRun.push(ur);
        parts.run.push(rr);
        console.log(`         bunc in parts: pull ${secs(p)}, then run --image (unpack + run) ${secs(ur)}, then run --image again (run) ${secs(rr)}`);
      }
    } finally {
      for (const m of mountsUnder(dir).reverse()) Bun.spawnSync(["umount", "-l", m]);
      sh(["rm", "-rf", dir]);
    }
  }
  const m = Object.fromEntries(Object.entries(times).map(([k, v]) => [k, v.length ? median(v) : NaN])) as Record<keyof typeof times, number>;
  console.log(`median: bunc ${secs(m.bunc)}; skopeo ${secs(m.skopeo)} + umoci ${secs(m.umoci)} + runc ${secs(m.runc)} (sum per run, median ${secs(m.peers)})`);
  console.log(`bunc/(skopeo+umoci+runc) ${(m.bunc / m.peers).toFixed(2)} (target ≤ 0.5); load average now ${loadavg()[0]!.toFixed(1)}`);
  if (also) console.log(`also: median ${secs(m.also)}, ratio ${(m.also / m.peers).toFixed(2)}; bunc/also ${(m.bunc / m.also).toFixed(2)}`);
  if (breakdown) {
    console.log(`bunc in parts, medians: pull ${secs(median(parts.pull))}, unpack + run ${secs(median(parts.unpackRun))}, run ${secs(median(parts.run))}`);
  }
} finally {
  if (mountsUnder(fs).length > 0) Bun.spawnSync(["umount", "-l", fs]);
  sh(["rm", "-rf", work]);
  await registry.stop();
}
