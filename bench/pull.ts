// Pull timings: bunc against skopeo and against curl with sha256 checks (the practical limit),
// from the CNCF distribution registry on 127.0.0.1, into a tmpfs.
//   bun bench/pull.ts [--runs N]   (N defaults to 3)
// The image is bench-image.ts's (three gzip layers of files from /usr and a small fourth
// layer of whiteouts, ~170 MB compressed), built when its cache is missing, pushed once with
// skopeo. Each run pulls into a fresh directory:
//   bunc   bunc --store DIR pull HOST/bench/image:bench
//   skopeo skopeo copy docker://HOST/bench/image:bench oci:DIR:bench
//   curl   the manifest, the config and the layers (3 at a time) with curl, each through
//          sha256sum and compared with its digest
import { mkdtempSync, readFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { REPO_ROOT } from "../spec-tests/support/bunc.ts";
import { mountsUnder } from "../spec-tests/support/bundle.ts";
import { pushLayout, startRegistry } from "../spec-tests/support/registry.ts";
import { benchLayout } from "./bench-image.ts";

const args = process.argv.slice(2);
const runs = args.includes("--runs") ? Number(args[args.indexOf("--runs") + 1]) : 3;
if (!Number.isInteger(runs) || runs < 1) {
  console.error("usage: bun bench/pull.ts [--runs N]");
  process.exit(2);
}

const bunc = join(REPO_ROOT, "dist/bunc");

function sh(argv: string[]): void {
  const r = Bun.spawnSync(argv, { stdout: "pipe", stderr: "pipe" });
  if (r.exitCode !== 0) throw new Error(`${argv.join(" ")}: exit ${r.exitCode}: ${r.stderr.toString().slice(0, 2000)}`);
}

function timed(argv: string[]): number {
  const started = performance.now();
  sh(argv);
  return performance.now() - started;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};

const LAYOUT = await benchLayout();
const index = JSON.parse(readFileSync(join(LAYOUT, "index.json"), "utf8"));
const manifestDigest: string = index.manifests[0].digest;
const manifest = JSON.parse(readFileSync(join(LAYOUT, "blobs", "sha256", manifestDigest.slice(7)), "utf8"));
const blobs: { digest: string; size: number }[] = [manifest.config, ...manifest.layers];

const registry = await startRegistry();
const work = mkdtempSync(join(tmpdir(), "bunc-bench-pull-"));
const dest = join(work, "tmpfs");
sh(["mkdir", dest]);
sh(["mount", "-t", "tmpfs", "-o", "size=4g", "tmpfs", dest]);
try {
  pushLayout(LAYOUT, "bench", registry, "bench/image");
  const ref = `${registry.host}/bench/image:bench`;
  const base = `http://${registry.host}/v2/bench/image`;
  // One shell script: the manifest, then every blob (3 at a time) through sha256sum.
  const curlScript = (dir: string) =>
    [
      "set -e",
      `mkdir -p ${dir}`,
      `curl -sf -H 'Accept: application/vnd.oci.image.manifest.v1+json' ${base}/manifests/bench -o ${dir}/manifest`,
      `echo "${manifestDigest.slice(7)}  ${dir}/manifest" | sha256sum -c --quiet`,
      "pids=()",
      ...blobs.map(
        (b, i) =>
          `(curl -sf ${base}/blobs/${b.digest} | tee ${dir}/${i} | sha256sum | grep -q ^${b.digest.slice(7)}) & pids+=($!)` +
          ((i + 1) % 3 === 0 ? '; for p in "${pids[@]}"; do wait "$p"; done; pids=()' : ""),
      ),
      'for p in "${pids[@]}"; do wait "$p"; done',
    ].join("\n");
  const tools: Record<string, (dir: string) => string[]> = {
    bunc: (dir) => [bunc, "--store", dir, "pull", "--quiet", ref],
    skopeo: (dir) => ["skopeo", "copy", "--quiet", "--src-tls-verify=false", `docker://${ref}`, `oci:${dir}:bench`],
    curl: (dir) => ["bash", "-c", curlScript(dir)],
  };
  const times: Record<string, number[]> = Object.fromEntries(Object.keys(tools).map((k) => [k, []]));
  const mb = blobs.reduce((n, b) => n + b.size, 0) / 1e6;
  console.log(`load average ${loadavg()[0]!.toFixed(1)}; pulling ${blobs.length - 1} layers + config (${mb.toFixed(0)} MB) from ${registry.host} to tmpfs, ${runs} run(s) each`);
  for (let i = 0; i < runs; i++) {
    for (const [name, argv] of Object.entries(tools)) {
      const dir = join(dest, `${name}-${i}`);
      const ms = timed(argv(dir));
      times[name]!.push(ms);
      console.log(`  ${name.padEnd(6)} run ${i + 1}: ${(ms / 1000).toFixed(2)} s`);
      sh(["rm", "-rf", dir]);
    }
  }
  const m = Object.fromEntries(Object.entries(times).map(([k, v]) => [k, median(v)]));
  console.log(`median: bunc ${(m.bunc! / 1000).toFixed(2)} s, skopeo ${(m.skopeo! / 1000).toFixed(2)} s, curl+sha256 ${(m.curl! / 1000).toFixed(2)} s`);
  console.log(`bunc/curl ${(m.bunc! / m.curl!).toFixed(2)}, bunc/skopeo ${(m.bunc! / m.skopeo!).toFixed(2)}`);
} finally {
  if (mountsUnder(dest).length > 0) sh(["umount", dest]);
  sh(["rm", "-rf", work]);
  await registry.stop();
}
