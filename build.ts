// Builds the one executable: `bun build.ts` → dist/bunc.
//   bun build.ts [--entry FILE] [--outfile FILE]
// The version comes from package.json and the commit from git ("unknown" outside a git
// checkout); both are baked in through `--define` and read by src/build-info.ts.
// With --format esm (needed for --splitting) the bytecode build allows top-level await.
import { mkdirSync, readFileSync, renameSync, rmSync, statSync } from "node:fs";
import { dirname, relative, resolve } from "node:path";
import { IMAGE_DEFAULT_CAPABILITIES } from "./src/image/convert/runtime-config.ts";
import { defaultSeccompProfile } from "./src/linux/seccomp/default-profile.ts";
import { precompileProfiles } from "./src/linux/seccomp/precompile.ts";
import { nativeArch } from "./src/linux/seccomp/tables/index.ts";
import { defaultSpec } from "./src/runtime/default-spec.ts";

const root = import.meta.dir;

function parseArgs(argv: string[]): { entry: string; outfile: string } {
  let entry = resolve(root, "src/main.ts");
  let outfile = resolve(root, "dist/bunc");
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const value = () => {
      const v = argv[++i];
      if (v === undefined) fail(`${arg} needs a value`);
      return v;
    };
    if (arg === "--entry") entry = resolve(value());
    else if (arg === "--outfile") outfile = resolve(value());
    else fail(`unknown argument ${arg} (usage: bun build.ts [--entry FILE] [--outfile FILE])`);
  }
  return { entry, outfile };
}

function fail(message: string): never {
  console.error(`build: ${message}`);
  process.exit(1);
}

function gitCommit(): string {
  try {
    const r = Bun.spawnSync(["git", "rev-parse", "--short", "HEAD"], { cwd: root, stdout: "pipe", stderr: "ignore" });
    const sha = r.stdout.toString().trim();
    return r.exitCode === 0 && /^[0-9a-f]{4,40}$/.test(sha) ? sha : "unknown";
  } catch {
    return "unknown"; // no git on this machine
  }
}

const { entry, outfile } = parseArgs(process.argv.slice(2));
try {
  statSync(entry);
} catch {
  fail(`entry ${entry} does not exist`);
}

const pkg = JSON.parse(readFileSync(resolve(root, "package.json"), "utf8")) as { version?: string };
const version = pkg.version ?? "0.0.0";
const commit = gitCommit();
// The default profiles, compiled now so no container pays for compiling them
// (precompiled.ts): the one `bunc spec` writes and the one for an image's default capabilities.
const imageDefault = defaultSpec();
imageDefault.linux!.seccomp = defaultSeccompProfile(nativeArch(), IMAGE_DEFAULT_CAPABILITIES);
const precompiled = precompileProfiles([defaultSpec(), imageDefault]);

// Build beside the target and rename over it: a test or bench still running the old
// binary never sees a half-written file, and the rename cannot fail with ETXTBSY.
mkdirSync(dirname(outfile), { recursive: true });
const tmp = `${outfile}.tmp-${process.pid}`;
const started = performance.now();
const r = Bun.spawnSync(
  [
    process.execPath,
    "build",
    "--compile",
    "--minify",
    "--bytecode",
    "--no-compile-autoload-bunfig",
    "--no-compile-autoload-dotenv",
    // Each process loads only the chunks it imports: a Bun start pays for all the bytecode
    // it embeds (an unused 1.6 MB module costs ~7 ms and ~5 MB here), and the init never
    // needs the image or registry code.
    "--splitting",
    "--format",
    "esm",
    "--define",
    `BUNC_VERSION=${JSON.stringify(version)}`,
    "--define",
    `BUNC_COMMIT=${JSON.stringify(commit)}`,
    "--define",
    `BUNC_PRECOMPILED_SECCOMP=${JSON.stringify(JSON.stringify(precompiled))}`,
    entry,
    "--outfile",
    tmp,
  ],
  { cwd: root, stdout: "pipe", stderr: "pipe" },
);
if (r.exitCode !== 0) {
  rmSync(tmp, { force: true });
  process.stderr.write(r.stdout);
  process.stderr.write(r.stderr);
  fail(`bun build failed (exit ${r.exitCode ?? r.signalCode})`);
}
renameSync(tmp, outfile);

const bytes = statSync(outfile).size;
const seconds = ((performance.now() - started) / 1000).toFixed(1);
const shown = relative(process.cwd(), outfile);
console.log(
  `built ${shown.startsWith("..") ? outfile : shown}: ${(bytes / 2 ** 20).toFixed(1)} MiB (${bytes} bytes), ` +
    `version ${version}, commit ${commit}, ${seconds} s`,
);
