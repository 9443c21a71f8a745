// Logging as runc does it: `--log FILE` with `--log-format text|json`. containerd's shim and
// conmon read the last error line of that file, so every error goes there as well as to
// standard error.
import { nodeFs } from "./node-fs.ts";
import { printError } from "./output.ts";

export type Level = "debug" | "info" | "warning" | "error";

export interface LogOptions {
  file?: string;
  format: "text" | "json";
  debug: boolean;
}

let options: LogOptions = { format: "text", debug: false };

export function configureLog(o: LogOptions): void {
  options = o;
}

export function formatLine(level: Level, msg: string, format: "text" | "json", time = new Date().toISOString()): string {
  if (format === "json") return `${JSON.stringify({ level, msg, time })}\n`;
  return `time="${time}" level=${level} msg=${JSON.stringify(msg)}\n`;
}

export function log(level: Level, msg: string): void {
  if (level === "debug" && !options.debug) return;
  if (options.file) {
    try {
      nodeFs().appendFileSync(options.file, formatLine(level, msg, options.format));
    } catch {}
  } else if (level !== "error") {
    printError(formatLine(level, msg, options.format));
  }
}
