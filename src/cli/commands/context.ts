import type { GlobalOptions, OptionValue } from "../args.ts";
import { StateStore } from "../../runtime/state-store.ts";

export interface CommandContext {
  global: GlobalOptions;
  options: Record<string, OptionValue>;
  positionals: string[];
  store: StateStore;
}

export type Command = (ctx: CommandContext) => number | Promise<number>;

export const print = (text: string) => process.stdout.write(text.endsWith("\n") ? text : `${text}\n`);
