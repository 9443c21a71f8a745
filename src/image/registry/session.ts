// One conversation with the registries of a pull: which scheme each endpoint speaks, the
// auth challenge it sent, tokens per scope, credentials looked up once. Requests go through
// ofetch.raw with `responseType: "stream"`, so bodies arrive as streams and are never
// buffered or parsed by ofetch (manifests need their exact bytes for the digest, blobs must
// stream), `redirect: "manual"` (redirects are followed here, so Authorization is dropped at
// a host boundary, distribution-spec "MUST NOT forward Authorization headers across host
// boundaries", CVE-2022-23538), `retry: false` (ofetch's retry ignores Retry-After and
// cannot resume) and `ignoreResponseError` (status codes are handled here).
import { ofetch } from "ofetch";
import { registryError, shown } from "./registry-error.ts";
import { type RetryPolicy, DEFAULT_RETRY, RetryableError, parseRetryAfter, withRetries } from "./retry.ts";
import { type RegistriesConfig, type RegistryEndpoint, EMPTY_REGISTRIES_CONFIG, loadRegistriesConfig } from "./mirrors.ts";
import { type Credentials, findCredentials } from "./credentials.ts";
import { type Challenge, parseWwwAuthenticate } from "./www-authenticate.ts";
import { TokenCache, fetchToken } from "./token.ts";
import { readCapped } from "./body.ts";

export interface RegistrySessionOptions {
  /** Mirrors, locations, insecure and blocked registries; default: the default config file. */
  config?: RegistriesConfig;
  /** More host[:port]s allowed plain HTTP and unverified TLS. */
  insecureRegistries?: readonly string[];
  /** Where credentials come from; default: the auth files (see credentials.ts). */
  credentials?: (registry: string, repository: string) => Promise<Credentials | undefined>;
  retry?: Partial<RetryPolicy>;
  /** A response body silent this long is dropped (and a blob resumed). */
  idleTimeoutMs?: number;
  userAgent?: string;
}

export interface RequestInit {
  method?: "GET" | "HEAD";
  headers?: Record<string, string>;
  /** The token scope this request needs: "repository:NAME:pull". */
  scope: string;
  signal?: AbortSignal;
}

const MAX_REDIRECTS = 10;
const MAX_ERROR_BODY = 64 * 1024;
const REDIRECT = new Set([301, 302, 303, 307, 308]);

type Scheme = "https" | "http";
interface HostAuth {
  challenge?: Challenge;
}

/** A fetch that did not produce a response: refused, reset, TLS failure, timeout. */
export function isNetworkFailure(err: unknown): boolean {
  return err instanceof Error && err.name !== "BuncError" && err.name !== "RetryableError";
}

const describe = (err: unknown) => {
  const e = err as { message?: string; cause?: { code?: string; message?: string } };
  return e.cause?.message ?? e.message ?? String(err);
};

export class RegistrySession {
  readonly config: RegistriesConfig;
  readonly retry: RetryPolicy;
  readonly idleTimeoutMs: number;
  private readonly insecure: readonly string[];
  private readonly credentialSource: (registry: string, repository: string) => Promise<Credentials | undefined>;
  private readonly userAgent: string;
  private readonly schemes = new Map<string, Promise<Scheme>>();
  private readonly hostAuth = new Map<string, HostAuth>();
  private readonly credentialCache = new Map<string, Promise<Credentials | undefined>>();
  readonly tokens = new TokenCache();

  constructor(opts: RegistrySessionOptions = {}) {
    this.config = opts.config ?? EMPTY_REGISTRIES_CONFIG;
    this.insecure = opts.insecureRegistries ?? [];
    this.retry = { ...DEFAULT_RETRY, ...opts.retry };
    this.idleTimeoutMs = opts.idleTimeoutMs ?? 60_000;
    this.credentialSource = opts.credentials ?? ((registry, repository) => findCredentials(registry, repository));
    this.userAgent = opts.userAgent ?? "bunc";
  }

  get insecureRegistries(): readonly string[] {
    return this.insecure;
  }

  credentialsFor(ep: RegistryEndpoint): Promise<Credentials | undefined> {
    const key = `${ep.authRegistry}/${ep.repository}`;
    let found = this.credentialCache.get(key);
    if (!found) {
      found = this.credentialSource(ep.authRegistry, ep.repository);
      this.credentialCache.set(key, found);
    }
    return found;
  }

  /** One fetch, no redirects followed, nothing thrown for a status code. */
  async send(url: string, init: { method: string; headers: Record<string, string>; insecure: boolean; signal?: AbortSignal }): Promise<Response> {
    return ofetch.raw(url, {
      method: init.method,
      headers: { "user-agent": this.userAgent, ...init.headers },
      redirect: "manual",
      retry: false,
      ignoreResponseError: true,
      responseType: "stream",
      signal: init.signal,
      // Bun's fetch option: an insecure registry may present any certificate, as docker allows.
      ...(init.insecure ? { tls: { rejectUnauthorized: false } } : {}),
    } as Parameters<typeof ofetch.raw>[1]);
  }

  /**
   * The scheme an endpoint speaks, found by `GET /v2/` (distribution-spec "end-1"): HTTPS,
   * and for an insecure or loopback endpoint plain HTTP when HTTPS cannot connect. The ping's
   * 401 challenge is kept so later requests carry credentials at once.
   */
  schemeOf(ep: RegistryEndpoint, signal?: AbortSignal): Promise<Scheme> {
    let known = this.schemes.get(ep.apiHost);
    if (!known) {
      known = this.ping(ep, signal);
      this.schemes.set(ep.apiHost, known);
      known.catch(() => this.schemes.delete(ep.apiHost));
    }
    return known;
  }

  private async ping(ep: RegistryEndpoint, signal?: AbortSignal): Promise<Scheme> {
    if (ep.insecure) {
      // One HTTPS try without retries: a plain-HTTP registry fails the handshake at once.
      let res: Response | undefined;
      try {
        res = await this.send(`https://${ep.apiHost}/v2/`, { method: "GET", headers: {}, insecure: true, signal });
      } catch {
        if (signal?.aborted) throw signal.reason;
      }
      if (res === undefined) return this.pingWith(ep, "http", signal);
      await res.body?.cancel().catch(() => {});
    }
    return this.pingWith(ep, "https", signal);
  }

  private async pingWith(ep: RegistryEndpoint, scheme: Scheme, signal?: AbortSignal): Promise<Scheme> {
    const url = `${scheme}://${ep.apiHost}/v2/`;
    const res = await withRetries(this.retry, `GET ${url}`, async () => this.checkRetryable(await this.sendOrRetryable(url, "GET", {}, ep.insecure, signal)), { signal });
    await res.body?.cancel().catch(() => {});
    if (res.status === 401) this.rememberChallenge(ep.apiHost, res);
    else if (res.status !== 200) throw registryError(`${url}: answered ${res.status}: not a registry API (distribution-spec GET /v2/)`);
    return scheme;
  }

  private rememberChallenge(apiHost: string, res: Response): Challenge | undefined {
    const header = res.headers.get("www-authenticate");
    if (!header) return undefined;
    const challenges = parseWwwAuthenticate(header);
    const challenge = challenges.find((c) => c.scheme === "bearer") ?? challenges.find((c) => c.scheme === "basic");
    if (challenge) this.hostAuth.set(apiHost, { challenge });
    return challenge;
  }

  private async sendOrRetryable(url: string, method: string, headers: Record<string, string>, insecure: boolean, signal?: AbortSignal): Promise<Response> {
    try {
      return await this.send(url, { method, headers, insecure, signal });
    } catch (err) {
      if (signal?.aborted) throw signal.reason;
      // A certificate or a TLS handshake that fails now will fail again: no retries.
      const code = String((err as { code?: unknown }).code ?? (err as { cause?: { code?: unknown } }).cause?.code ?? "");
      if (/CERT|SELF_SIGNED|TLS|SSL|EPROTO/.test(code)) throw registryError(`${method} ${url}: TLS: ${describe(err)} (${code})`);
      throw new RetryableError(describe(err));
    }
  }

  /** 429 and 5xx become retryable errors (their body read for the message); others pass. */
  async checkRetryable(res: Response): Promise<Response> {
    if (res.status !== 429 && res.status < 500) return res;
    const detail = await errorDetail(res);
    throw new RetryableError(`answered ${res.status}${detail}`, res.status === 429 || res.status === 503 ? parseRetryAfter(res.headers.get("retry-after")) : undefined);
  }

  /** The Authorization header for an endpoint and scope from what is known so far, if any. */
  private async authorization(ep: RegistryEndpoint, scheme: Scheme, scope: string, signal?: AbortSignal): Promise<string | undefined> {
    const challenge = this.hostAuth.get(ep.apiHost)?.challenge;
    if (!challenge) return undefined;
    const creds = await this.credentialsFor(ep);
    if (challenge.scheme === "basic") {
      if (!creds || !("username" in creds)) return undefined;
      return `Basic ${Buffer.from(`${creds.username}:${creds.password}`).toString("base64")}`;
    }
    const token = await fetchToken(this, { challenge, registryScheme: scheme, scope, credentials: creds, apiHost: ep.apiHost, insecure: ep.insecure, signal });
    return `Bearer ${token}`;
  }

  /**
   * A request to an endpoint's API path with auth, redirects followed (Authorization only
   * to the endpoint's own origin; no HTTPS→HTTP unless the endpoint is insecure) and 5xx/429
   * retried. Returns the final response, whatever its status; a 401 after fresh credentials
   * is an error.
   */
  async request(ep: RegistryEndpoint, path: string, init: RequestInit): Promise<Response> {
    const scheme = await this.schemeOf(ep, init.signal);
    const url = `${scheme}://${ep.apiHost}${path}`;
    return withRetries(
      this.retry,
      `${init.method ?? "GET"} ${url}`,
      async () => {
        let auth = await this.authorization(ep, scheme, init.scope, init.signal);
        let res = await this.followRedirects(ep, url, init, auth);
        if (res.status === 401) {
          const detail = await errorDetail(res);
          const challenge = this.rememberChallenge(ep.apiHost, res);
          if (!challenge) throw registryError(`${url}: 401 unauthorized without a usable WWW-Authenticate challenge${detail}`);
          if (auth?.startsWith("Bearer ")) this.tokens.forget(challenge, init.scope);
          const fresh = await this.authorization(ep, scheme, init.scope, init.signal);
          if (fresh === undefined) throw registryError(`${url}: 401 unauthorized${detail} (no credentials for this registry)`);
          if (fresh === auth) {
            throw registryError(`${url}: 401 unauthorized ${auth.startsWith("Basic ") ? "with the credentials given" : "with a fresh token"}${detail}`);
          }
          auth = fresh;
          res = await this.followRedirects(ep, url, init, auth);
          if (res.status === 401) throw registryError(`${url}: 401 unauthorized with the credentials given${await errorDetail(res)}`);
        }
        return this.checkRetryable(res);
      },
      { signal: init.signal },
    );
  }

  /** GET a URL outside any registry (a foreign layer's `urls`): no credentials, HTTPS verified. */
  async fetchWithoutCredentials(url: string, init: { headers?: Record<string, string>; signal?: AbortSignal }): Promise<Response> {
    const host = new URL(url).host;
    const ep: RegistryEndpoint = { apiHost: host, authRegistry: host, repository: "", insecure: false, mirror: false };
    return withRetries(this.retry, `GET ${url}`, async () => this.checkRetryable(await this.followRedirects(ep, url, { scope: "", ...init }, undefined)), { signal: init.signal });
  }

  private async followRedirects(ep: RegistryEndpoint, first: string, init: RequestInit, auth: string | undefined): Promise<Response> {
    const origin = new URL(first).origin;
    let url = first;
    for (let hop = 0; ; hop++) {
      const headers = { ...init.headers };
      const home = new URL(url).origin === origin;
      if (auth !== undefined && home) headers.authorization = auth;
      // An insecure registry's TLS exemption does not extend to the hosts it redirects to.
      const res = await this.sendOrRetryable(url, init.method ?? "GET", headers, ep.insecure && home, init.signal);
      if (!REDIRECT.has(res.status)) return res;
      await res.body?.cancel().catch(() => {});
      const location = res.headers.get("location");
      if (!location) throw registryError(`${url}: redirect ${res.status} without a Location`);
      if (hop >= MAX_REDIRECTS) throw registryError(`${first}: more than ${MAX_REDIRECTS} redirects`);
      const next = new URL(location, url);
      if (next.protocol !== "https:" && next.protocol !== "http:") throw registryError(`${url}: redirect to ${shown(next.href)}: only http and https are followed`);
      if (next.protocol === "http:" && new URL(url).protocol === "https:" && !ep.insecure) {
        throw registryError(`${url}: redirect from HTTPS to plain HTTP ${shown(next.href)} refused`);
      }
      url = next.href;
    }
  }
}

/** ": CODE message" from a distribution-spec error body, or the start of a text body. */
export async function errorDetail(res: Response): Promise<string> {
  let text: string;
  try {
    text = new TextDecoder().decode(await readCapped(res, MAX_ERROR_BODY, "error body", { truncate: true }));
  } catch {
    return "";
  }
  try {
    const body = JSON.parse(text) as { errors?: { code?: unknown; message?: unknown }[] };
    const first = body.errors?.[0];
    if (first) return `: ${String(first.code ?? "")} ${String(first.message ?? "")}`.trimEnd();
  } catch {}
  return text.trim() ? `: ${shown(text.trim())}` : "";
}

let shared: RegistrySession | undefined;

/** The process's session, with the default registries config file. */
export function defaultSession(): RegistrySession {
  shared ??= new RegistrySession({ config: loadRegistriesConfig() });
  return shared;
}
