// A real terminal for tests: a detached tmux session on a private server socket, running a
// shell script in its one pane. The test types into it, resizes it and reads its screen, as
// a person at a terminal would; the script records what the test cannot see on screen
// (exit codes, `stty -g` before and after) in files.
//
//   const term = new TmuxTerminal(dir, ["stty -g > before", "bunc run …", "echo $? > rc"]);
//   term.waitForScreen("ready"); term.type("hello"); term.resize(100, 30);
//   term.close();
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { readOr, waitFor } from "./assertions.ts";

const ENV = { PATH: process.env.PATH ?? "/usr/sbin:/usr/bin:/sbin:/bin", TERM: "xterm", HOME: "/root" };

export class TmuxTerminal {
  private readonly socket: string;
  private closed = false;

  /** Starts `lines` as a shell script, in `dir`, in a `cols`×`rows` terminal. The pane stays after the
   *  script ends (it finishes with a long sleep), so its screen can still be read. */
  constructor(readonly dir: string, lines: string[], cols = 80, rows = 24) {
    this.socket = join(dir, "tmux.sock");
    const script = join(dir, "terminal.sh");
    writeFileSync(script, [`cd '${dir}'`, ...lines, "echo script-finished", "exec sleep 3600", ""].join("\n"));
    this.tmux(["new-session", "-d", "-s", "main", "-x", String(cols), "-y", String(rows), `sh ${script}`]);
  }

  private tmux(args: string[]): string {
    const r = Bun.spawnSync(["tmux", "-S", this.socket, "-f", "/dev/null", ...args], { env: ENV, stdin: "ignore" });
    if (r.exitCode !== 0) throw new Error(`tmux ${args[0]}: ${r.stderr.toString()}`);
    return r.stdout.toString();
  }

  /** Types `text` and, unless told not to, Enter. */
  type(text: string, enter = true): void {
    if (text) this.tmux(["send-keys", "-t", "main", "-l", text]);
    if (enter) this.tmux(["send-keys", "-t", "main", "Enter"]);
  }

  /** Sends a key by tmux's name for it, e.g. "C-c". */
  key(name: string): void {
    this.tmux(["send-keys", "-t", "main", name]);
  }

  /** Resizes the terminal: its pty gets the new size and its foreground group SIGWINCH. */
  resize(cols: number, rows: number): void {
    this.tmux(["resize-window", "-t", "main", "-x", String(cols), "-y", String(rows)]);
  }

  /** The visible screen, one string, trailing blank lines dropped. */
  screen(): string {
    return this.tmux(["capture-pane", "-p", "-t", "main"]).trimEnd();
  }

  waitForScreen(text: string, timeoutMs = 15_000): string {
    let last = "";
    try {
      return waitFor(() => ((last = this.screen()).includes(text) ? last : ""), `"${text}" on the terminal`, timeoutMs);
    } catch (err) {
      throw new Error(`${(err as Error).message}; the screen:\n${last}`);
    }
  }

  /** The content of a file the script writes, once it is there and complete (ends in \n). */
  waitForFile(name: string, timeoutMs = 15_000): string {
    const path = join(this.dir, name);
    try {
      return waitFor(() => {
        const text = readOr(path);
        return text.endsWith("\n") ? text.trimEnd() : "";
      }, `${name} from the terminal's script`, timeoutMs);
    } catch (err) {
      throw new Error(`${(err as Error).message}; the screen:\n${this.screen()}`);
    }
  }

  /** Ends the tmux server and with it whatever still runs in the pane (it gets SIGHUP). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    Bun.spawnSync(["tmux", "-S", this.socket, "-f", "/dev/null", "kill-server"], { env: ENV, stdin: "ignore", stderr: "ignore" });
  }
}
