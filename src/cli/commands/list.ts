import { boolOption, stringOption } from "../args.ts";
import { loadContainer, stateDocument } from "../../runtime/container.ts";
import { print, type CommandContext } from "./context.ts";

export function list(ctx: CommandContext): number {
  const containers = ctx.store.ids().flatMap((id) => {
    try {
      return [stateDocument(loadContainer(ctx.store, id))];
    } catch {
      return []; // removed while we listed
    }
  });
  if (boolOption(ctx.options, "quiet")) {
    for (const c of containers) print(c.id);
    return 0;
  }
  if (stringOption(ctx.options, "format") === "json") {
    print(JSON.stringify(containers));
    return 0;
  }
  const rows = [["ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"], ...containers.map((c) => [c.id, String(c.pid), c.status, c.bundle, c.created, c.owner])];
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  for (const r of rows) print(r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]! + 2))).join(""));
  return 0;
}
