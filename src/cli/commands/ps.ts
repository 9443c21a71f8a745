// `ps ID [-f json] [PS_ARGS…]`: the container's processes. JSON is the list of host pids; the
// table is the host's ps(1) output filtered to those pids, as runc does. ps runs in the
// host's context and reads /proc: it never executes anything from the container.
import { stringOption } from "../args.ts";
import { BuncError } from "../../errors.ts";
import { containerPids, loadContainer } from "../../runtime/container.ts";
import { print, type CommandContext } from "./context.ts";

export function ps(ctx: CommandContext): number {
  const c = loadContainer(ctx.store, ctx.positionals[0]!);
  // Stopped: what is left in its cgroup (often nothing), as runc answers; a dead init's
  // namespace ids may name new namespaces, so only the cgroup is asked.
  const pids = c.status !== "stopped" || c.record.cgroup ? containerPids(c) : [];
  if (stringOption(ctx.options, "format") === "json") {
    print(JSON.stringify(pids));
    return 0;
  }
  const args = ctx.positionals.slice(1);
  const out = Bun.spawnSync(["ps", ...(args.length ? args : ["-ef"])], { stdout: "pipe", stderr: "pipe" });
  if (out.exitCode !== 0) throw new BuncError("system", `ps ${args.join(" ")}: ${out.stderr.toString().trim()}`);
  const lines = out.stdout.toString().split("\n").filter(Boolean);
  const header = lines[0] ?? "";
  const pidColumn = header.trim().split(/\s+/).indexOf("PID");
  if (pidColumn < 0) throw new BuncError("usage", `ps ${args.join(" ")}: its output has no PID column`);
  const wanted = new Set(pids);
  print([header, ...lines.slice(1).filter((l) => wanted.has(Number(l.trim().split(/\s+/)[pidColumn])))].join("\n"));
  return 0;
}
