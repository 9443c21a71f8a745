import type { GlobalOptions, OptionValue } from "../args.ts";
import type { StartedStage } from "../../runtime/stage-start.ts";
import { StateStore } from "../../runtime/state-store.ts";

export interface CommandContext {
  global: GlobalOptions;
  options: Record<string, OptionValue>;
  positionals: string[];
  /** Where the arguments after "--" start in positionals, when there was one. */
  dashDash?: number;
  store: StateStore;
  /** create and run: the container's first stage, started before the command loaded. */
  stage?: StartedStage;
}

export type Command = (ctx: CommandContext) => number | Promise<number>;

export { print } from "../../output.ts";
