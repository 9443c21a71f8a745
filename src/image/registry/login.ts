// `bunc login`: credentials checked against the registry before they are saved, as docker
// and podman do: GET /v2/ with them, through the registry's own challenge (Basic, or a
// Bearer token asked for with no scope).
import { normalizeAuthKey } from "./credentials.ts";
import { registryEndpoint } from "./mirrors.ts";
import { registryError, shown } from "./registry-error.ts";
import { RegistrySession } from "./session.ts";

/** The auth-file key for what a user typed: "docker.io", "host:port", or "host/namespace". */
export function loginKey(registry: string): string {
  const key = normalizeAuthKey(registry.trim());
  const host = key.split("/")[0]!;
  if (key === "" || !/^[A-Za-z0-9.-]+(?::\d+)?$/.test(host) && !/^\[[0-9a-fA-F:]+\](?::\d+)?$/.test(host)) {
    throw registryError(`registry ${shown(registry)}: not a host[:port][/namespace]`);
  }
  return key;
}

export async function checkLogin(key: string, username: string, password: string, opts: { insecure?: boolean } = {}): Promise<void> {
  const host = key.split("/")[0]!;
  const session = new RegistrySession({
    credentials: async () => ({ username, password }),
    insecureRegistries: opts.insecure ? [host] : [],
    retry: { attempts: 2 },
  });
  const ep = registryEndpoint(host, opts.insecure ?? false);
  const res = await session.request(ep, "/v2/", { scope: "" });
  await res.body?.cancel().catch(() => {});
  if (res.status !== 200) throw registryError(`login to ${host}: GET /v2/ answered ${res.status}`);
}
