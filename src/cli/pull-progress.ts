// What `bunc pull` reports while layers download: one line per finished layer on stderr
// ("<12 hex> done <bytes>", or "exists" for a layer the store had); on a terminal also a
// status line below them, redrawn in place at most every PROGRESS_REDRAW_MS; with --format
// json, JSON lines on stdout instead.
import { isTerminal } from "../../ffi/termios.ts";
import type { BlobProgress } from "../image/pull-image.ts";
import { print, printError, writeBytes } from "../output.ts";

// JSON progress is reported at most every this many bytes of a layer, plus its start and end.
const JSON_PROGRESS_STEP = 1024 * 1024;
const PROGRESS_REDRAW_MS = 100;
const CLEAR_LINE = "\r\x1b[K";

const mib = (n: number) => `${(n / (1024 * 1024)).toFixed(1)} MiB`;
const hex12 = (digest: string) => digest.slice(digest.indexOf(":") + 1, digest.indexOf(":") + 13);

export type ProgressMode = "text" | "quiet" | "json";

export class PullProgress {
  private readonly layers = new Map<string, { received: number; total: number; done: boolean }>();
  private readonly fetched = new Set<string>();
  private readonly lastJson = new Map<string, number>();
  private readonly bar: boolean;
  private drawn = false;
  private lastDraw = 0;
  private pending: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private readonly mode: ProgressMode,
    private readonly reference: string,
  ) {
    this.bar = mode === "text" && isTerminal(2);
  }

  readonly report = (p: BlobProgress): void => {
    // A layer the store (or an earlier pull) had is reported done without any bytes first.
    if (!p.done) this.fetched.add(p.digest);
    this.layers.set(p.digest, { received: p.received, total: p.total, done: p.done });
    if (this.mode === "json") return this.json(p);
    if (this.mode === "quiet") return;
    if (p.done) {
      this.clear();
      printError(`${hex12(p.digest)} ${this.fetched.has(p.digest) ? "done" : "exists"} ${p.total}`);
    }
    if (this.bar) this.redraw(p.done);
  };

  // At once when due, else once the interval is up, so the last bytes before a stall show.
  private redraw(now: boolean): void {
    const wait = PROGRESS_REDRAW_MS - (Date.now() - this.lastDraw);
    if (now || wait <= 0) return this.draw();
    this.pending ??= setTimeout(() => {
      this.pending = undefined;
      this.draw();
    }, wait);
  }

  private json(p: BlobProgress): void {
    const last = this.lastJson.get(p.digest);
    if (!p.done && last !== undefined && p.received - last < JSON_PROGRESS_STEP) return;
    this.lastJson.set(p.digest, p.received);
    print(JSON.stringify({ digest: p.digest, received: p.received, total: p.total, done: p.done }));
  }

  private draw(): void {
    clearTimeout(this.pending);
    this.pending = undefined;
    const all = [...this.layers.values()];
    const done = all.filter((l) => l.done).length;
    if (done === all.length) return this.clear();
    const received = all.reduce((n, l) => n + l.received, 0);
    const total = all.reduce((n, l) => n + l.total, 0);
    writeBytes(2, Buffer.from(`${CLEAR_LINE}pulling ${this.reference}: ${done}/${all.length} layers, ${mib(received)} of ${mib(total)}`));
    this.drawn = true;
    this.lastDraw = Date.now();
  }

  /** Remove the status line, if one is shown. */
  clear(): void {
    clearTimeout(this.pending);
    this.pending = undefined;
    if (!this.drawn) return;
    writeBytes(2, Buffer.from(CLEAR_LINE));
    this.drawn = false;
  }
}
