// What rootless costs a container: `run` of /bin/true by root with `bunc spec`'s config,
// and by a plain user (made for the run, removed after) with `bunc spec --rootless`'s,
// alternating, each through setpriv so the wrapper costs the same. Also root running the
// rootless config, to split the user namespace's cost from the unprivileged caller's.
//   bun bench/rootless-run.ts [N]   (N defaults to 30)
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { buncPath } from "../spec-tests/support/bunc.ts";
import { makeBundle } from "../spec-tests/support/bundle.ts";
import { createTestUser } from "../spec-tests/support/rootless-user.ts";

const arg = process.argv[2];
const n = arg === undefined ? 30 : /^\d+$/.test(arg) && Number(arg) > 0 ? Number(arg) : fail(`not a count: ${arg}`);
function fail(message: string): never {
  console.error(`bench: ${message}\nusage: bun bench/rootless-run.ts [N]`);
  process.exit(2);
}
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};

const bunc = buncPath();
const user = createTestUser();
const rootful = makeBundle({ args: ["/bin/true"] });
try {
  const rootless = user.makeBundle((c) => (c.process.args = ["/bin/true"]));
  // Root's bundle gets `bunc spec`'s config; a copy of the rootless one runs as root too.
  const specDir = join(user.dir, "spec-root");
  Bun.spawnSync(["mkdir", "-p", specDir]);
  if (Bun.spawnSync([bunc, "spec", "--bundle", specDir]).exitCode !== 0) fail("bunc spec failed");
  const spec = JSON.parse(readFileSync(join(specDir, "config.json"), "utf8"));
  spec.process.args = ["/bin/true"];
  writeFileSync(join(rootful.dir, "config.json"), JSON.stringify(spec));
  const rootUserns = makeBundle({ args: ["/bin/true"] });
  writeFileSync(join(rootUserns.dir, "config.json"), readFileSync(join(rootless, "config.json")));

  const cases = [
    { name: "root, bunc spec", uid: 0, gid: 0, bundle: rootful.dir, root: join(user.dir, "state-root") },
    { name: "root, spec --rootless", uid: 0, gid: 0, bundle: rootUserns.dir, root: join(user.dir, "state-root2") },
    { name: "user, spec --rootless", uid: user.uid, gid: user.gid, bundle: rootless, root: join(user.runtimeDir, "bunc") },
  ];
  const times: number[][] = cases.map(() => []);
  for (let i = 0; i < n + 2; i++) {
    cases.forEach((c, k) => {
      const t0 = performance.now();
      const r = Bun.spawnSync({
        cmd: ["setpriv", `--reuid=${c.uid}`, `--regid=${c.gid}`, "--clear-groups", "--", bunc, "--root", c.root, "run", `bench-${i}`],
        cwd: c.bundle,
        env: { PATH: "/usr/sbin:/usr/bin:/sbin:/bin", HOME: "/", XDG_RUNTIME_DIR: user.runtimeDir },
        stdio: ["ignore", "ignore", "pipe"],
      });
      const ms = performance.now() - t0;
      if (r.exitCode !== 0) fail(`${c.name}: ${r.stderr.toString()}`);
      if (i >= 2) times[k]!.push(ms); // two warm-up rounds
    });
  }
  const base = median(times[0]!);
  for (const [k, c] of cases.entries()) {
    const m = median(times[k]!);
    console.log(`${c.name.padEnd(24)} median ${m.toFixed(1)} ms  min ${Math.min(...times[k]!).toFixed(1)} ms  ×${(m / base).toFixed(2)}`);
  }
  rootUserns.cleanup();
} finally {
  rootful.cleanup();
  user.remove();
}
