import { stringOption } from "../args.ts";
import { listImages } from "../../image/store-list.ts";
import { print, type CommandContext } from "./context.ts";

const humanSize = (n: number) => {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${n} B` : `${v.toFixed(1)} ${units[i]}`;
};

export async function images(ctx: CommandContext): Promise<number> {
  const list = await listImages(ctx.global.store);
  if (stringOption(ctx.options, "format") === "json") {
    print(JSON.stringify(list));
    return 0;
  }
  const rows = [
    ["NAME", "DIGEST", "SIZE", "CREATED"],
    ...list.map((i) => [i.name, i.digest.replace(/^sha(256|512):/, "").slice(0, 12), i.size === undefined ? "?" : humanSize(i.size), i.created ?? ""]),
  ];
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  for (const r of rows) print(r.map((cell, c) => (c === r.length - 1 ? cell : cell.padEnd(widths[c]! + 2))).join("").trimEnd());
  return 0;
}
