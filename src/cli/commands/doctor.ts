// `bunc doctor`: each finding on a line (ok, or the problem and its fix), or all as JSON.
// Exits 1 when a check that containers cannot do without failed.
import { stringOption } from "../args.ts";
import { runDoctor } from "../../runtime/doctor.ts";
import { print, type CommandContext } from "./context.ts";

export function doctor(ctx: CommandContext): number {
  const findings = runDoctor();
  if (stringOption(ctx.options, "format") === "json") {
    print(`${JSON.stringify(findings, null, 2)}\n`);
  } else {
    const who = process.geteuid!() === 0 ? "root" : `uid ${process.geteuid!()}, rootless`;
    let text = `bunc doctor (${who})\n`;
    for (const f of findings) {
      text += `${f.ok ? "ok  " : f.required ? "FAIL" : "warn"}  ${f.check}: ${f.detail}\n`;
      if (!f.ok) text += `      fix: ${f.fix}\n`;
    }
    print(text);
  }
  return findings.some((f) => f.required && !f.ok) ? 1 : 0;
}
