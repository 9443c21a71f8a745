// The pull client against faults a real registry cannot make, served by a registry of the
// test's own on 127.0.0.1: the token flow, redirects to another host, wrong digests, cut
// bodies resumed with Range (also from a partial a killed pull left), 429 and 500, documents
// that contradict themselves, oversized manifests, foreign layer URLs, and a token realm on
// plain HTTP for a TLS registry.
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FaultRegistry, cutBody, rangeResponse } from "./support/fault-registry.ts";
import { type Blob, blob, descriptor, image, noise, sha256 } from "./support/registry-images.ts";
import { pullBlobs, pullManifest } from "../src/image/registry/pull.ts";
import { RegistrySession } from "../src/image/registry/session.ts";
import { DirectoryBlobSink } from "../src/image/registry/blob-sink.ts";
import type { Credentials } from "../src/image/registry/credentials.ts";
import { parseRegistriesConfig } from "../src/image/registry/mirrors.ts";

const FAST_RETRY = { attempts: 3, baseDelayMs: 10, maxDelayMs: 50 };
const LAYER = "application/vnd.oci.image.layer.v1.tar+gzip";

let work: string;
let servers: FaultRegistry[] = [];
let tls: { cert: string; key: string };

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), "bunc-registry-faults-"));
  const r = Bun.spawnSync(
    ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", join(work, "key.pem"), "-out", join(work, "cert.pem")],
    { stderr: "pipe" },
  );
  if (r.exitCode !== 0) throw new Error(`openssl: ${r.stderr.toString()}`);
  tls = { cert: readFileSync(join(work, "cert.pem"), "utf8"), key: readFileSync(join(work, "key.pem"), "utf8") };
});
afterAll(() => rmSync(work, { recursive: true, force: true }));
afterEach(() => {
  for (const s of servers) s.stop();
  servers = [];
});

function serve(opts?: ConstructorParameters<typeof FaultRegistry>[0]): FaultRegistry {
  const s = new FaultRegistry(opts);
  servers.push(s);
  return s;
}

function session(creds?: Credentials, extra: Partial<ConstructorParameters<typeof RegistrySession>[0]> = {}) {
  return new RegistrySession({ credentials: async () => creds, retry: FAST_RETRY, ...extra });
}

function sink(): DirectoryBlobSink {
  return new DirectoryBlobSink(mkdtempSync(join(work, "sink-")));
}

/** An image of `n` layers of `size` random bytes each, served by `reg` as app:v1. */
function serveImage(reg: FaultRegistry, n = 1, size = 200_000, repo = "app") {
  const layers = Array.from({ length: n }, () => blob(LAYER, noise(size)));
  const img = image(layers);
  reg.addManifest(repo, img.manifest, ["v1"]);
  for (const b of [img.config, ...layers]) reg.addBlob(b);
  return img;
}

const bearer = (token: string) => ({
  token,
  challenge: (s: FaultRegistry) => `Bearer realm="${s.url}/token",service="fault-test",scope="repository:app:pull"`,
});

/** A token endpoint at /token on `reg`. */
function tokenRoute(reg: FaultRegistry, body: Record<string, unknown>) {
  reg.routes.push((_req, url) => (url.pathname === "/token" ? Response.json(body) : undefined));
}

/** A body without Content-Length, in 64 KiB chunks. */
function chunked(bytes: Uint8Array): ReadableStream<Uint8Array> {
  let at = 0;
  return new ReadableStream({
    pull(controller) {
      if (at >= bytes.length) return controller.close();
      controller.enqueue(bytes.subarray(at, at + 65536));
      at += 65536;
    },
  });
}

function expectBlob(s: DirectoryBlobSink, b: Blob) {
  const bytes = readFileSync(s.blobPath(b.digest));
  expect(sha256(bytes)).toBe(b.digest);
  expect(Buffer.from(bytes).equals(Buffer.from(b.bytes))).toBe(true);
}

describe("auth", () => {
  test("Bearer challenge: one token per scope, cached across requests, fetched with Basic credentials", async () => {
    const reg = serve({ bearer: bearer("tok-1") });
    tokenRoute(reg, { token: "tok-1", expires_in: 300 });
    const img = serveImage(reg, 3);
    serveImage(reg, 1, 1000, "other");
    const s = session({ username: "bob", password: "pw" });
    const pulled = await pullManifest(`${reg.host}/app:v1`, { session: s });
    const out = sink();
    await pullBlobs(`${reg.host}/app:v1`, [pulled.manifest.config, ...pulled.manifest.layers], out, { session: s, parallel: 3 });
    for (const b of [img.config, ...img.layers]) expectBlob(out, b);

    const tokens = reg.requests("/token");
    expect(tokens).toHaveLength(1);
    const q = new URLSearchParams(tokens[0]!.search);
    expect(q.get("service")).toBe("fault-test");
    expect(q.get("scope")).toBe("repository:app:pull");
    expect(tokens[0]!.headers.authorization).toBe(`Basic ${Buffer.from("bob:pw").toString("base64")}`);
    const api = reg.requests("/v2/app/");
    expect(api.length).toBe(5);
    for (const r of api) expect(r.headers.authorization).toBe("Bearer tok-1");

    // Another repository is another scope: one more token.
    await pullManifest(`${reg.host}/other:v1`, { session: s });
    expect(reg.requests("/token").map((r) => new URLSearchParams(r.search).get("scope"))).toEqual(["repository:app:pull", "repository:other:pull"]);
  });

  test("an anonymous token from access_token; a refused token endpoint is an error", async () => {
    const reg = serve({ bearer: bearer("anon") });
    tokenRoute(reg, { access_token: "anon" });
    serveImage(reg);
    await pullManifest(`${reg.host}/app:v1`, { session: session() });
    expect(reg.requests("/token")[0]!.headers.authorization).toBeUndefined();

    const locked = serve({ bearer: bearer("x") });
    locked.routes.push((_req, url) => (url.pathname === "/token" ? new Response("no", { status: 401 }) : undefined));
    await expect(pullManifest(`${locked.host}/app:v1`, { session: session() })).rejects.toThrow(`token ${locked.url}/token for "repository:app:pull": answered 401 (credentials refused)`);
  });

  test("an identity token is exchanged with POST grant_type=refresh_token", async () => {
    const reg = serve({ bearer: bearer("from-refresh") });
    const forms: URLSearchParams[] = [];
    reg.routes.push(async (req, url) => {
      if (url.pathname !== "/token") return undefined;
      if (req.method !== "POST") return new Response("GET not expected", { status: 400 });
      forms.push(new URLSearchParams(await req.text()));
      return Response.json({ access_token: "from-refresh", expires_in: 120 });
    });
    const img = serveImage(reg);
    const pulled = await pullManifest(`${reg.host}/app:v1`, { session: session({ identityToken: "idt" }) });
    expect(pulled.manifestDigest).toBe(img.manifest.digest);
    expect(forms).toHaveLength(1);
    expect(Object.fromEntries(forms[0]!)).toEqual({ grant_type: "refresh_token", refresh_token: "idt", client_id: "bunc", scope: "repository:app:pull", service: "fault-test" });
  });

  test("a token realm on plain HTTP for a registry on HTTPS is refused; an HTTPS realm works", async () => {
    const tokens = serve();
    tokenRoute(tokens, { token: "t" });
    const reg = serve({ tls, bearer: { token: "t", challenge: () => `Bearer realm="${tokens.url}/token",service="s"` } });
    serveImage(reg);
    await expect(pullManifest(`${reg.host}/app:v1`, { session: session({ username: "u", password: "p" }) })).rejects.toThrow(
      `token realm "${tokens.url}/token" is plain HTTP while the registry speaks HTTPS: refused`,
    );
    expect(tokens.log).toEqual([]);

    const good = serve({ tls, bearer: bearer("t2") });
    tokenRoute(good, { token: "t2" });
    const img = serveImage(good);
    const pulled = await pullManifest(`${good.host}/app:v1`, { session: session() });
    expect(pulled.manifestDigest).toBe(img.manifest.digest);
  });
});

describe("TLS", () => {
  test("a certificate that does not verify fails at once, without retries", async () => {
    const reg = serve({ tls });
    const s = session();
    const endpoint = { apiHost: reg.host, authRegistry: reg.host, repository: "app", insecure: false, mirror: false };
    const failure = s.request(endpoint, "/v2/app/manifests/v1", { scope: "repository:app:pull" });
    await expect(failure).rejects.toThrow(`GET https://${reg.host}/v2/: TLS: self signed certificate (DEPTH_ZERO_SELF_SIGNED_CERT)`);
    expect(reg.log).toEqual([]);
  });
});

describe("mirrors", () => {
  test("a mirror is tried first under its path prefix; what it lacks comes from the registry", async () => {
    const origin = serve();
    const mirror = serve();
    const img = serveImage(origin);
    const config = parseRegistriesConfig(JSON.stringify({ registries: { [`${origin.host}/team`]: { location: origin.host, mirrors: [{ location: `${mirror.host}/cache` }] } } }), "test config");
    const s = session(undefined, { config });
    const ref = `${origin.host}/team/app:v1`;
    // The origin serves the image as app: the location replaces the prefix origin/team.
    const fromOrigin = await pullManifest(ref, { session: s });
    expect(fromOrigin.endpoint).toMatchObject({ apiHost: origin.host, repository: "app", mirror: false });
    expect(mirror.requests("/v2/cache/app/manifests/v1")).toHaveLength(1);

    mirror.addManifest("cache/app", img.manifest, ["v1"]);
    mirror.addBlob(img.layers[0]!);
    const fromMirror = await pullManifest(ref, { session: s });
    expect(fromMirror.endpoint).toMatchObject({ apiHost: mirror.host, repository: "cache/app", mirror: true });
    const out = sink();
    await pullBlobs(ref, [img.config, img.layers[0]!], out, { session: s });
    expectBlob(out, img.config);
    expectBlob(out, img.layers[0]!);
    expect(mirror.requests(`/v2/cache/app/blobs/${img.layers[0]!.digest}`)).toHaveLength(1);
    expect(origin.requests(`/v2/app/blobs/${img.layers[0]!.digest}`)).toHaveLength(0);
    // The config is not on the mirror: the registry serves it.
    expect(origin.requests(`/v2/app/blobs/${img.config.digest}`)).toHaveLength(1);
  });
});

describe("redirects and foreign layers", () => {
  test("a blob redirected to another port gets no Authorization there", async () => {
    const storage = serve();
    const reg = serve({ bearer: bearer("tok") });
    tokenRoute(reg, { token: "tok" });
    const img = serveImage(reg);
    const layer = img.layers[0]!;
    storage.routes.push((req, url) => (url.pathname === `/storage/${layer.digest}` ? rangeResponse(req, layer.bytes) : undefined));
    reg.routes.push((req, url) =>
      url.pathname === `/v2/app/blobs/${layer.digest}` && req.headers.get("authorization") === "Bearer tok"
        ? new Response(null, { status: 307, headers: { location: `${storage.url}/storage/${layer.digest}` } })
        : undefined,
    );
    const out = sink();
    await pullBlobs(`${reg.host}/app:v1`, [layer], out, { session: session() });
    expectBlob(out, layer);
    expect(reg.requests(`/v2/app/blobs/${layer.digest}`).map((r) => r.headers.authorization)).toEqual(["Bearer tok"]);
    const fetched = storage.requests("/storage/");
    expect(fetched).toHaveLength(1);
    expect(fetched[0]!.headers.authorization).toBeUndefined();
  });

  test("foreign layer urls are not followed by default; when asked, without credentials", async () => {
    const foreign = serve();
    const reg = serve({ bearer: bearer("tok") });
    tokenRoute(reg, { token: "tok" });
    const img = serveImage(reg);
    const layer = img.layers[0]!;
    foreign.routes.push((req, url) => (url.pathname === "/layer" ? rangeResponse(req, layer.bytes) : undefined));
    const withUrls = descriptor(layer, { urls: [`${foreign.url}/layer`] }) as typeof layer;
    const first = sink();
    await pullBlobs(`${reg.host}/app:v1`, [withUrls], first, { session: session() });
    expectBlob(first, layer);
    expect(foreign.log).toEqual([]);

    const second = sink();
    await pullBlobs(`${reg.host}/app:v1`, [withUrls], second, { session: session(), followForeignUrls: true });
    expectBlob(second, layer);
    expect(foreign.log).toHaveLength(1);
    expect(foreign.log[0]!.headers.authorization).toBeUndefined();
  });
});

describe("blob integrity and resume", () => {
  test("a wrong digest deletes the partial and names both digests", async () => {
    const reg = serve();
    const img = serveImage(reg);
    const layer = img.layers[0]!;
    const wrong = noise(layer.size);
    reg.blobs.set(layer.digest, wrong);
    const out = sink();
    const pull = pullBlobs(`${reg.host}/app:v1`, [layer], out, { session: session() });
    await expect(pull).rejects.toThrow(`blob ${layer.digest}: digest mismatch: the registry sent content with digest ${sha256(wrong)}, expected ${layer.digest}`);
    expect(existsSync(out.blobPath(layer.digest))).toBe(false);
    expect(readdirSync(out.tempDir)).toEqual([]);
  });

  test("more bytes than the descriptor says are refused", async () => {
    const reg = serve();
    const img = serveImage(reg);
    const layer = img.layers[0]!;
    reg.blobs.set(layer.digest, new Uint8Array([...layer.bytes, 1, 2, 3]));
    await expect(pullBlobs(`${reg.host}/app:v1`, [layer], sink(), { session: session() })).rejects.toThrow(`more than the ${layer.size} bytes the descriptor says`);
  });

  test("a body cut short is resumed with Range from where it stopped", async () => {
    const reg = serve();
    const img = serveImage(reg, 1, 300_000);
    const layer = img.layers[0]!;
    let n = 0;
    reg.routes.push((req, url) => (url.pathname === `/v2/app/blobs/${layer.digest}` && n++ === 0 ? cutBody(layer.bytes, 100_000) : undefined));
    const out = sink();
    await pullBlobs(`${reg.host}/app:v1`, [layer], out, { session: session() });
    expectBlob(out, layer);
    expect(reg.requests(`/v2/app/blobs/${layer.digest}`).map((r) => r.headers.range)).toEqual([undefined, "bytes=100000-"]);
  });

  test("a body that stalls is dropped after the idle timeout and resumed", async () => {
    const reg = serve();
    const img = serveImage(reg, 1, 120_000);
    const layer = img.layers[0]!;
    const release = reg.stallBlob("app", layer, 40_000);
    const out = sink();
    try {
      await pullBlobs(`${reg.host}/app:v1`, [layer], out, { session: session(undefined, { idleTimeoutMs: 200 }) });
    } finally {
      release();
    }
    expectBlob(out, layer);
    expect(reg.requests(`/v2/app/blobs/${layer.digest}`).map((r) => r.headers.range)).toEqual([undefined, "bytes=40000-"]);
  });

  test("two pulls of the same blob into one store: the second waits for the first's lock and finds the blob", async () => {
    const reg = serve();
    const img = serveImage(reg, 1, 500_000);
    const layer = img.layers[0]!;
    reg.routes.push(async (req, url) => {
      if (url.pathname !== `/v2/app/blobs/${layer.digest}`) return undefined;
      await Bun.sleep(100);
      return rangeResponse(req, layer.bytes);
    });
    const dir = mkdtempSync(join(work, "shared-"));
    const [a, b] = [new DirectoryBlobSink(dir), new DirectoryBlobSink(dir)];
    const both = [pullBlobs(`${reg.host}/app:v1`, [layer], a, { session: session() }), pullBlobs(`${reg.host}/app:v1`, [layer], b, { session: session() })];
    await Promise.all(both);
    expectBlob(a, layer);
    expect(reg.requests(`/v2/app/blobs/${layer.digest}`)).toHaveLength(1);
    expect(readdirSync(a.tempDir)).toEqual([]);
  });

  test("a pull killed with SIGKILL mid-blob is resumed by the next process from its partial", async () => {
    const reg = serve();
    const img = serveImage(reg, 1, 300_000);
    const layer = img.layers[0]!;
    const release = reg.stallBlob("app", layer, 100_000);
    const dir = mkdtempSync(join(work, "killed-"));
    const out = new DirectoryBlobSink(dir);
    const child = Bun.spawn([process.execPath, join(import.meta.dir, "support", "pull-blob-child.ts"), JSON.stringify({ ref: `${reg.host}/app:v1`, descriptor: descriptor(layer), dir })], {
      stdout: "ignore",
      stderr: "ignore",
    });
    try {
      const partial = out.partialPath(layer.digest);
      for (let i = 0; i < 400 && !(existsSync(partial) && statSync(partial).size === 100_000); i++) await Bun.sleep(25);
      expect(statSync(partial).size).toBe(100_000);
    } finally {
      child.kill("SIGKILL");
      await child.exited;
      release();
    }
    await pullBlobs(`${reg.host}/app:v1`, [layer], out, { session: session() });
    expectBlob(out, layer);
    expect(reg.requests(`/v2/app/blobs/${layer.digest}`).map((r) => r.headers.range)).toEqual([undefined, "bytes=100000-"]);
  });

  test("a partial left by a killed pull is resumed; a corrupt one is started again once", async () => {
    const reg = serve();
    const img = serveImage(reg, 2, 150_000);
    const [good, bad] = img.layers as [Blob, Blob];
    const out = sink();
    writeFileSync(out.partialPath(good.digest), good.bytes.subarray(0, 50_000));
    writeFileSync(out.partialPath(bad.digest), noise(60_000));
    await pullBlobs(`${reg.host}/app:v1`, [good, bad], out, { session: session() });
    expectBlob(out, good);
    expectBlob(out, bad);
    expect(reg.requests(`/v2/app/blobs/${good.digest}`).map((r) => r.headers.range)).toEqual(["bytes=50000-"]);
    expect(reg.requests(`/v2/app/blobs/${bad.digest}`).map((r) => r.headers.range)).toEqual(["bytes=60000-", undefined]);
    expect(readdirSync(out.tempDir)).toEqual([]);
  });

  test("429 with Retry-After is waited out; a Retry-After beyond the bound fails", async () => {
    const reg = serve();
    const img = serveImage(reg);
    const layer = img.layers[0]!;
    let n = 0;
    reg.routes.push((_req, url) => (url.pathname === `/v2/app/blobs/${layer.digest}` && n++ === 0 ? new Response("slow down", { status: 429, headers: { "retry-after": "1" } }) : undefined));
    const out = sink();
    await pullBlobs(`${reg.host}/app:v1`, [layer], out, { session: session() });
    expectBlob(out, layer);
    expect(reg.requests(`/v2/app/blobs/${layer.digest}`)).toHaveLength(2);

    const busy = serve();
    serveImage(busy);
    busy.routes.push((_req, url) => (url.pathname.includes("/manifests/") ? new Response("later", { status: 429, headers: { "retry-after": "3600" } }) : undefined));
    await expect(pullManifest(`${busy.host}/app:v1`, { session: session() })).rejects.toThrow("the server asks to wait 3600 s, more than 120 s");
  });

  test("500 then success; 500 for ever gives up", async () => {
    const reg = serve();
    const img = serveImage(reg);
    let n = 0;
    reg.routes.push((req, url) => (url.pathname === "/v2/app/manifests/v1" && req.method === "GET" && n++ === 0 ? new Response("oops", { status: 500 }) : undefined));
    const pulled = await pullManifest(`${reg.host}/app:v1`, { session: session() });
    expect(pulled.manifestDigest).toBe(img.manifest.digest);
    expect(reg.requests("/v2/app/manifests/v1")).toHaveLength(2);

    const broken = serve();
    serveImage(broken);
    broken.routes.push((_req, url) => (url.pathname.includes("/blobs/") ? Response.json({ errors: [{ code: "UNKNOWN", message: "disk on fire" }] }, { status: 500 }) : undefined));
    await expect(pullBlobs(`${broken.host}/app:v1`, [img.config], sink(), { session: session() })).rejects.toThrow("answered 500: UNKNOWN disk on fire (gave up after 3 tries)");
  });

  test("at most `parallel` downloads at once", async () => {
    const reg = serve();
    const img = serveImage(reg, 5, 20_000);
    let now = 0;
    let most = 0;
    reg.routes.push(async (req, url) => {
      if (!url.pathname.includes("/blobs/")) return undefined;
      now++;
      most = Math.max(most, now);
      await Bun.sleep(20);
      now--;
      return rangeResponse(req, reg.blobs.get(url.pathname.split("/").at(-1)!)!);
    });
    const out = sink();
    await pullBlobs(`${reg.host}/app:v1`, img.layers, out, { session: session(), parallel: 2 });
    for (const b of img.layers) expectBlob(out, b);
    expect(most).toBeLessThanOrEqual(2);
    expect(reg.requests("/v2/app/blobs/")).toHaveLength(5);
  });
});

describe("manifests", () => {
  const MANIFEST = "application/vnd.oci.image.manifest.v1+json";
  const INDEX = "application/vnd.oci.image.index.v1+json";

  test("a document that is index and manifest at once is refused, whatever it claims", async () => {
    const reg = serve();
    const img = serveImage(reg);
    const both = blob(INDEX, Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: INDEX, manifests: [descriptor(img.manifest)], config: descriptor(img.config), layers: [] })));
    reg.addManifest("app", both, ["both"]);
    await expect(pullManifest(`${reg.host}/app:both`, { session: session(), choose: (i) => i.manifests[0]! })).rejects.toThrow('has both "manifests" and "layers"/"config"');
    reg.addManifest("app", both, ["both-as-manifest"], MANIFEST);
    await expect(pullManifest(`${reg.host}/app:both-as-manifest`, { session: session() })).rejects.toThrow('has both "manifests" and "layers"/"config"');
  });

  test("a Content-Type that contradicts the embedded mediaType is refused; so is a shape that contradicts both", async () => {
    const reg = serve();
    const img = serveImage(reg);
    reg.addManifest("app", img.manifest, ["as-index"], INDEX);
    await expect(pullManifest(`${reg.host}/app:as-index`, { session: session() })).rejects.toThrow(`Content-Type "${INDEX}" contradicts the document's mediaType "${MANIFEST}"`);
    const hollow = blob(INDEX, Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: INDEX, layers: [] })));
    reg.addManifest("app", hollow, ["hollow"]);
    await expect(pullManifest(`${reg.host}/app:hollow`, { session: session() })).rejects.toThrow(`claims to be an index (${INDEX}) but has no "manifests"`);
  });

  test("an oversized manifest is refused by its Content-Length, and while read without one", async () => {
    const reg = serve();
    const huge = blob(MANIFEST, Buffer.from(`{"schemaVersion":2,"pad":"${"x".repeat(5 * 1024 * 1024)}"}`));
    reg.addManifest("app", huge, ["huge"]);
    await expect(pullManifest(`${reg.host}/app:huge`, { session: session() })).rejects.toThrow(`manifest ${reg.host}/app:huge: ${huge.size} bytes, more than the 4194304 allowed`);
    reg.routes.push((_req, url) =>
      url.pathname === "/v2/app/manifests/streamed"
        ? new Response(chunked(huge.bytes), { headers: { "content-type": MANIFEST } })
        : undefined,
    );
    await expect(pullManifest(`${reg.host}/app:streamed`, { session: session() })).rejects.toThrow(`manifest ${reg.host}/app:streamed: more than the 4194304 bytes allowed`);
  });

  test("a manifest pulled by digest must have that digest; a tag's Docker-Content-Digest must match", async () => {
    const reg = serve();
    const img = serveImage(reg);
    const other = serveImage(reg, 1, 100, "other");
    reg.manifests.set(`app:${img.manifest.digest}`, { contentType: MANIFEST, bytes: other.manifest.bytes });
    await expect(pullManifest(`${reg.host}/app@${img.manifest.digest}`, { session: session() })).rejects.toThrow(
      `digest mismatch: the content has digest ${other.manifest.digest}, expected ${img.manifest.digest}`,
    );
    reg.routes.push((_req, url) =>
      url.pathname === "/v2/app/manifests/liar" ? new Response(img.manifest.bytes, { headers: { "content-type": MANIFEST, "docker-content-digest": other.manifest.digest } }) : undefined,
    );
    await expect(pullManifest(`${reg.host}/app:liar`, { session: session() })).rejects.toThrow(`the registry's docker-content-digest says ${other.manifest.digest}`);
  });

  test("a manifest the caller has is not fetched again: HEAD resolves the tag", async () => {
    const reg = serve();
    const img = serveImage(reg);
    const asked: string[] = [];
    const pulled = await pullManifest(`${reg.host}/app:v1`, {
      session: session(),
      cached: async (d) => {
        asked.push(d);
        return d === img.manifest.digest ? img.manifest.bytes : undefined;
      },
    });
    expect(pulled.manifestDigest).toBe(img.manifest.digest);
    expect(asked).toEqual([img.manifest.digest]);
    expect(reg.requests("/v2/app/manifests/").map((r) => r.method)).toEqual(["HEAD"]);
  });

  test("a digest in a manifest that is not a digest is refused before any use", async () => {
    const reg = serve();
    const evil = blob(MANIFEST, Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MANIFEST, config: { mediaType: "x", digest: "sha256:../../etc/passwd", size: 1 }, layers: [] })));
    reg.addManifest("app", evil, ["evil"]);
    await expect(pullManifest(`${reg.host}/app:evil`, { session: session() })).rejects.toThrow('config.digest: "sha256:../../etc/passwd" is not a digest');
  });
});

describe("bad input is refused before any request", () => {
  test("references, descriptors and options", async () => {
    const reg = serve();
    const img = serveImage(reg);
    await expect(pullManifest(`${reg.host}/App:v1`, { session: session() })).rejects.toThrow(`invalid image reference "${reg.host}/App:v1": repository component "App": must be lowercase`);
    const evil = { ...descriptor(img.config), digest: "sha256:../../../etc/passwd" };
    await expect(pullBlobs(`${reg.host}/app:v1`, [evil], sink(), { session: session() })).rejects.toThrow('descriptors[0].digest: "sha256:../../../etc/passwd" is not a digest');
    await expect(pullBlobs(`${reg.host}/app:v1`, [{ ...descriptor(img.config), size: -1 }], sink(), { session: session() })).rejects.toThrow("descriptors[0].size: must be a whole number of bytes");
    await expect(pullBlobs(`${reg.host}/app:v1`, [img.config], sink(), { session: session(), parallel: 0 })).rejects.toThrow("parallel: must be a whole number of at least 1");
    expect(reg.log).toEqual([]);
  });
});

test("an unreachable registry fails after the retries, naming the URL", async () => {
  const probe = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  const port = probe.port;
  probe.stop(true);
  await expect(pullManifest(`127.0.0.1:${port}/app:v1`, { session: session() })).rejects.toThrow(`GET http://127.0.0.1:${port}/v2/: ECONNREFUSED`);
  await expect(pullManifest(`127.0.0.1:${port}/app:v1`, { session: session() })).rejects.toThrow("(gave up after 3 tries)");
});
