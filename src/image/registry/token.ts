// The token flow of docker's distribution auth (token.md, oauth.md): a Bearer challenge names
// a realm, a service and maybe a scope; the client GETs realm?service=…&scope=…, with Basic
// credentials when it has them, and receives {"token"} or {"access_token"} with
// `expires_in` seconds (60 when absent, as the spec says). An identity token is exchanged
// through POST grant_type=refresh_token instead. Tokens are cached per realm, service,
// scope and credentials until shortly before they expire.
// A realm on plain HTTP is refused when the registry itself was reached over TLS: the
// credentials would cross the network in clear (CVE-2019-10214).
import { registryError, shown } from "./registry-error.ts";
import type { Challenge } from "./www-authenticate.ts";
import type { Credentials } from "./credentials.ts";
import type { RegistrySession } from "./session.ts";
import { ofetch } from "ofetch";
import { RetryableError, withRetries } from "./retry.ts";
import { readCapped } from "./body.ts";

const MAX_TOKEN_RESPONSE = 1024 * 1024;
const DEFAULT_EXPIRES_S = 60;
const EXPIRY_MARGIN_MS = 5_000;

interface CachedToken {
  token: string;
  expiresAt: number;
}

const cacheKey = (challenge: Challenge, scope: string, who = "") => `${challenge.params.realm}\n${challenge.params.service ?? ""}\n${scope}\n${who}`;
const identity = (c?: Credentials) => (c === undefined ? "" : "identityToken" in c ? `id:${c.identityToken}` : `user:${c.username}:${c.password}`);

export class TokenCache {
  private readonly tokens = new Map<string, CachedToken>();
  /** Token requests under way, so parallel downloads share one. */
  readonly pending = new Map<string, Promise<string>>();
  /** How many tokens were fetched (not served from the cache), for tests and debugging. */
  fetched = 0;

  get(challenge: Challenge, scope: string, creds?: Credentials): string | undefined {
    const hit = this.tokens.get(cacheKey(challenge, scope, identity(creds)));
    if (!hit || hit.expiresAt <= Date.now()) return undefined;
    return hit.token;
  }

  put(challenge: Challenge, scope: string, creds: Credentials | undefined, token: string, expiresInS: number): void {
    this.fetched++;
    this.tokens.set(cacheKey(challenge, scope, identity(creds)), { token, expiresAt: Date.now() + expiresInS * 1000 - EXPIRY_MARGIN_MS });
  }

  /** Drop every cached token for this realm, service and scope (the registry refused one). */
  forget(challenge: Challenge, scope: string): void {
    const prefix = cacheKey(challenge, scope);
    for (const key of this.tokens.keys()) if (key.startsWith(prefix)) this.tokens.delete(key);
  }
}

export interface TokenRequest {
  challenge: Challenge;
  /** How the registry itself was reached. */
  registryScheme: "https" | "http";
  scope: string;
  credentials?: Credentials;
  apiHost: string;
  insecure: boolean;
  signal?: AbortSignal;
}

/** A bearer token for the scope, from the cache or the challenge's realm. */
export async function fetchToken(session: RegistrySession, req: TokenRequest): Promise<string> {
  const cached = session.tokens.get(req.challenge, req.scope, req.credentials);
  if (cached) return cached;
  const key = cacheKey(req.challenge, req.scope, identity(req.credentials));
  let pending = session.tokens.pending.get(key);
  if (!pending) {
    pending = requestToken(session, req).finally(() => session.tokens.pending.delete(key));
    session.tokens.pending.set(key, pending);
  }
  return pending;
}

async function requestToken(session: RegistrySession, req: TokenRequest): Promise<string> {
  const { challenge, scope, credentials } = req;
  const realmText = challenge.params.realm;
  if (!realmText) throw registryError(`${req.apiHost}: Bearer challenge without a realm`);
  let realm: URL;
  try {
    realm = new URL(realmText);
  } catch {
    throw registryError(`${req.apiHost}: token realm ${shown(realmText)} is not a URL`);
  }
  if (realm.protocol !== "https:" && realm.protocol !== "http:") throw registryError(`${req.apiHost}: token realm ${shown(realmText)}: only https (or http for a plain-HTTP registry)`);
  if (realm.protocol === "http:" && req.registryScheme === "https") {
    throw registryError(`${req.apiHost}: token realm ${shown(realmText)} is plain HTTP while the registry speaks HTTPS: refused, credentials would travel in clear`);
  }
  const service = challenge.params.service;
  const url = new URL(realm.href);
  const headers: Record<string, string> = { accept: "application/json" };
  let method: "GET" | "POST" = "GET";
  let body: string | undefined;
  if (credentials && "identityToken" in credentials) {
    method = "POST";
    const form = new URLSearchParams({ grant_type: "refresh_token", refresh_token: credentials.identityToken, client_id: "bunc", scope });
    if (service) form.set("service", service);
    body = form.toString();
    headers["content-type"] = "application/x-www-form-urlencoded";
  } else {
    if (service) url.searchParams.set("service", service);
    url.searchParams.set("scope", scope);
    if (credentials) {
      url.searchParams.set("account", credentials.username);
      headers.authorization = `Basic ${Buffer.from(`${credentials.username}:${credentials.password}`).toString("base64")}`;
    }
  }
  const where = `token ${realm.origin}${realm.pathname} for ${shown(scope)}`;
  const res = await withRetries(
    session.retry,
    where,
    async () => {
      let r: Response;
      try {
        r = await ofetch.raw(url.href, {
          method,
          headers,
          body,
          redirect: "error",
          retry: false,
          ignoreResponseError: true,
          responseType: "stream",
          signal: req.signal,
          ...(req.insecure ? { tls: { rejectUnauthorized: false } } : {}),
        } as Parameters<typeof ofetch.raw>[1]);
      } catch (err) {
        if (req.signal?.aborted) throw req.signal.reason;
        throw new RetryableError((err as Error).message);
      }
      return session.checkRetryable(r);
    },
    { signal: req.signal },
  );
  const text = new TextDecoder().decode(await readCapped(res, MAX_TOKEN_RESPONSE, where));
  if (res.status !== 200) throw registryError(`${where}: answered ${res.status}${res.status === 401 ? " (credentials refused)" : ""}: ${shown(text.trim())}`);
  let parsed: { token?: unknown; access_token?: unknown; expires_in?: unknown };
  try {
    parsed = JSON.parse(text);
  } catch {
    throw registryError(`${where}: answer is not JSON: ${shown(text)}`);
  }
  const token = typeof parsed.token === "string" && parsed.token !== "" ? parsed.token : parsed.access_token;
  if (typeof token !== "string" || token === "") throw registryError(`${where}: answer has neither "token" nor "access_token"`);
  if (!/^[\x21-\x7e]+$/.test(token)) throw registryError(`${where}: the token has characters a header cannot carry`);
  const expires = typeof parsed.expires_in === "number" && parsed.expires_in > 0 ? Math.max(parsed.expires_in, DEFAULT_EXPIRES_S) : DEFAULT_EXPIRES_S;
  session.tokens.put(challenge, scope, credentials, token, expires);
  return token;
}
