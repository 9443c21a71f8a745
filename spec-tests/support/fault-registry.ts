// A small registry of the test's own on 127.0.0.1 (Bun.serve) for the faults a real registry
// cannot make: wrong digests, cut bodies, 429s and 500s, redirects, contradicting documents,
// auth challenges. It serves manifests and blobs from memory (with Range), logs every request
// with its headers, and lets a test put its own route in front.
import type { Blob } from "./registry-images.ts";

export interface LoggedRequest {
  method: string;
  path: string;
  search: string;
  headers: Record<string, string | undefined>;
}

export type Route = (req: Request, url: URL) => Response | undefined | Promise<Response | undefined>;

export interface FaultRegistryOptions {
  /** Answer everything under /v2/ with 401 and this challenge unless `Authorization: Bearer <token>`. */
  bearer?: { challenge: (self: FaultRegistry) => string; token: string };
  tls?: { cert: string; key: string };
}

export class FaultRegistry {
  readonly log: LoggedRequest[] = [];
  readonly routes: Route[] = [];
  readonly manifests = new Map<string, { contentType: string; bytes: Uint8Array }>();
  readonly blobs = new Map<string, Uint8Array>();
  private readonly server: ReturnType<typeof Bun.serve>;

  constructor(readonly opts: FaultRegistryOptions = {}) {
    this.server = Bun.serve({
      hostname: "127.0.0.1",
      port: 0,
      ...(opts.tls ? { tls: opts.tls } : {}),
      fetch: (req) => this.handle(req),
    });
  }

  get host(): string {
    return `127.0.0.1:${this.server.port}`;
  }

  get url(): string {
    return `${this.opts.tls ? "https" : "http"}://${this.host}`;
  }

  /** Requests whose path starts with `prefix`. */
  requests(prefix: string): LoggedRequest[] {
    return this.log.filter((r) => r.path.startsWith(prefix));
  }

  /** Serve `b` as a manifest under each of `names` (tags) and its digest. */
  addManifest(repo: string, b: Blob, names: string[] = [], contentType = b.mediaType): void {
    for (const n of [...names, b.digest]) this.manifests.set(`${repo}:${n}`, { contentType, bytes: b.bytes });
  }

  addBlob(b: Blob): void {
    this.blobs.set(b.digest, b.bytes);
  }

  /**
   * A GET of blob `b` in `repo` without a Range header gets its first `n` bytes, then the
   * body stalls until the returned function is called (then it ends, short). Requests with a
   * Range header (a resume) are served as usual.
   */
  stallBlob(repo: string, b: { digest: string; bytes: Uint8Array }, n: number): () => void {
    let release = () => {};
    const stalled = new Promise<void>((resolve) => (release = resolve));
    this.routes.push((req, url) => {
      if (url.pathname !== `/v2/${repo}/blobs/${b.digest}` || req.headers.get("range")) return undefined;
      let sent = false;
      return new Response(
        new ReadableStream({
          async pull(controller) {
            if (sent) return stalled.then(() => controller.close());
            sent = true;
            controller.enqueue(b.bytes.subarray(0, n));
          },
        }),
      );
    });
    return release;
  }

  stop(): void {
    this.server.stop(true);
  }

  private async handle(req: Request): Promise<Response> {
    const url = new URL(req.url);
    this.log.push({ method: req.method, path: url.pathname, search: url.search, headers: Object.fromEntries(req.headers) });
    for (const route of this.routes) {
      const res = await route(req, url);
      if (res) return res;
    }
    const bearer = this.opts.bearer;
    if (bearer && url.pathname.startsWith("/v2/") && req.headers.get("authorization") !== `Bearer ${bearer.token}`) {
      return Response.json({ errors: [{ code: "UNAUTHORIZED", message: "authentication required" }] }, { status: 401, headers: { "www-authenticate": bearer.challenge(this) } });
    }
    if (url.pathname === "/v2/") return Response.json({});
    const m = /^\/v2\/(.+)\/(manifests|blobs)\/([^/]+)$/.exec(url.pathname);
    if (!m) return new Response("no route", { status: 404 });
    const [, repo, kind, ref] = m as unknown as [string, string, string, string];
    if (kind === "manifests") {
      const doc = this.manifests.get(`${repo}:${ref}`);
      if (!doc) return Response.json({ errors: [{ code: "MANIFEST_UNKNOWN", message: "manifest unknown" }] }, { status: 404 });
      const headers = { "content-type": doc.contentType, "docker-content-digest": `sha256:${new Bun.CryptoHasher("sha256").update(doc.bytes).digest("hex")}` };
      return new Response(req.method === "HEAD" ? null : doc.bytes, { headers: { ...headers, "content-length": String(doc.bytes.length) } });
    }
    const bytes = this.blobs.get(ref);
    if (!bytes) return Response.json({ errors: [{ code: "BLOB_UNKNOWN", message: "blob unknown" }] }, { status: 404 });
    return rangeResponse(req, bytes);
  }
}

/** 200 with the whole body, or 206 with `Content-Range` for `Range: bytes=N-`. */
export function rangeResponse(req: Request, bytes: Uint8Array): Response {
  const range = /^bytes=(\d+)-$/.exec(req.headers.get("range") ?? "");
  if (!range) return new Response(bytes, { headers: { "content-type": "application/octet-stream" } });
  const start = Number(range[1]);
  if (start >= bytes.length) return new Response(null, { status: 416, headers: { "content-range": `bytes */${bytes.length}` } });
  return new Response(bytes.subarray(start), { status: 206, headers: { "content-range": `bytes ${start}-${bytes.length - 1}/${bytes.length}` } });
}

/** A body that sends the first `n` bytes, then drops the connection. */
export function cutBody(bytes: Uint8Array, n: number): Response {
  let sent = false;
  return new Response(
    new ReadableStream({
      async pull(controller) {
        if (!sent) {
          sent = true;
          controller.enqueue(bytes.subarray(0, n));
          return;
        }
        // Let the first bytes reach the client before the connection goes.
        await Bun.sleep(30);
        controller.error(new Error("connection cut by the test"));
      },
    }),
  );
}
