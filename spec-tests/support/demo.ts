// The README's demo: one busybox container run in the foreground by dist/bunc.
//   bun spec-tests/support/demo.ts      (npm run demo builds dist/bunc first)
// Exits with the container's exit code; leaves no bundle, state dir or container behind.
import { existsSync, mkdtempSync } from "node:fs";
import { constants, tmpdir } from "node:os";
import { join } from "node:path";
import { buncPath } from "./bunc.ts";
import { makeBundle, removeTree, TEMP_PREFIX } from "./bundle.ts";

const binary = buncPath();
if (!existsSync(binary)) {
  console.error(`demo: ${binary} does not exist: build it with \`bun build.ts\` (npm run demo does)`);
  process.exit(1);
}

const id = `demo-${process.pid}`;
const bundle = makeBundle({ args: ["sh", "-c", "echo Hello from a bunc container; hostname; id; ps"] });
const stateRoot = mkdtempSync(join(tmpdir(), `${TEMP_PREFIX}demo-`));
const env = { PATH: process.env.PATH ?? "/usr/sbin:/usr/bin:/sbin:/bin" };

const cleanup = () => {
  // After a normal `run` the container is gone already; after an interrupted one it is not.
  Bun.spawnSync([binary, "--root", stateRoot, "delete", "-f", id], { env, stdio: ["ignore", "ignore", "ignore"] });
  removeTree(stateRoot);
  bundle.cleanup();
};

let code = 1;
try {
  console.log(`$ bunc run --root ${stateRoot} -b ${bundle.dir} ${id}`);
  const child = Bun.spawn([binary, "--root", stateRoot, "run", "-b", bundle.dir, id], {
    env,
    stdio: ["ignore", "inherit", "inherit"],
  });
  // Ctrl-C or a TERM: stop the container, then clean up as usual below.
  const stop = () => {
    Bun.spawnSync([binary, "--root", stateRoot, "kill", id, "KILL"], { env, stdio: ["ignore", "ignore", "ignore"] });
  };
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
  await child.exited;
  const signal = child.signalCode;
  code = child.exitCode ?? 128 + (typeof signal === "number" ? signal : signal ? constants.signals[signal] : 0);
} finally {
  cleanup();
}
process.exit(code);
