// The real CNCF distribution registry (Debian's `docker-registry`) for tests: its own config,
// storage in a temp dir, listening on 127.0.0.1 and a free port, optionally with htpasswd
// (bcrypt) auth; stopped by pid. Images get in through skopeo from an OCI layout.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface TestRegistry {
  /** host:port, e.g. "127.0.0.1:41234". */
  host: string;
  dir: string;
  pid: number;
  stop(): Promise<void>;
}

/** A free TCP port on 127.0.0.1 (bound and released; the registry takes it right after). */
export function freePort(): number {
  const probe = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  const port = probe.port;
  probe.stop(true);
  return port;
}

export async function startRegistry(opts: { user?: string; password?: string } = {}): Promise<TestRegistry> {
  const dir = mkdtempSync(join(tmpdir(), "bunc-registry-"));
  const port = freePort();
  const host = `127.0.0.1:${port}`;
  let auth = "";
  if (opts.user !== undefined) {
    const hash = await Bun.password.hash(opts.password ?? "", { algorithm: "bcrypt", cost: 4 });
    writeFileSync(join(dir, "htpasswd"), `${opts.user}:${hash}\n`);
    auth = `auth:\n  htpasswd:\n    realm: bunc-test\n    path: ${join(dir, "htpasswd")}\n`;
  }
  writeFileSync(
    join(dir, "config.yml"),
    `version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: ${join(dir, "storage")}
  delete:
    enabled: true
http:
  addr: ${host}
  secret: bunc-test-${port}
${auth}`,
  );
  const child = Bun.spawn(["docker-registry", "serve", join(dir, "config.yml")], { stdout: "ignore", stderr: "pipe" });
  const stop = async () => {
    child.kill("SIGKILL");
    await child.exited;
    rmSync(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 15_000;
  for (;;) {
    try {
      const res = await fetch(`http://${host}/v2/`);
      await res.body?.cancel();
      if (res.status === 200 || res.status === 401) break;
    } catch {}
    if (child.exitCode !== null || Date.now() > deadline) {
      const err = child.exitCode !== null ? await new Response(child.stderr).text() : "no answer on /v2/ within 15 s";
      await stop();
      throw new Error(`docker-registry did not start: ${err}`);
    }
    await Bun.sleep(50);
  }
  return { host, dir, pid: child.pid, stop };
}

/** skopeo copy oci:LAYOUT:TAG → docker://HOST/REPO:TAG over plain HTTP; `all` copies every manifest of an index. */
export function pushLayout(layout: string, tag: string, registry: TestRegistry, repo: string, opts: { all?: boolean; creds?: string } = {}): void {
  const args = ["skopeo", "copy", "--quiet", "--dest-tls-verify=false", ...(opts.all ? ["--all"] : []), ...(opts.creds ? ["--dest-creds", opts.creds] : [])];
  const r = Bun.spawnSync([...args, `oci:${layout}:${tag}`, `docker://${registry.host}/${repo}:${tag}`], { stderr: "pipe", stdout: "pipe" });
  if (r.exitCode !== 0) throw new Error(`skopeo copy ${layout}:${tag} failed: ${r.stderr.toString()}`);
}
