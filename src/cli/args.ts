// The argv parser, with runc's flag grammar so engines that drive runc can drive bunc:
// a flag may be written with one dash or two (-root, --root, --b), its value either as the
// next argument or after "=", booleans take no value but accept "=true"/"=false", list flags
// repeat, "--" ends flags, and flags may come after the container id. Global flags, except
// help and version, are also accepted after the command unless the command has its own
// flag of that name. Short flags never combine (-dt is an unknown flag), as in runc.
import { BuncError } from "../errors.ts";
import { GLOBAL_FLAGS, HELP_FLAG, IMAGE_RUN_FLAGS, commandSpec, type CommandSpec, type FlagSpec } from "./commands-table.ts";

export { usageText } from "./commands-table.ts";

export type OptionValue = string | boolean | string[];

export interface GlobalOptions {
  root: string;
  /** The image store directory. */
  store: string;
  log?: string;
  logFormat: "text" | "json";
  debug: boolean;
  systemdCgroup: boolean;
  rootless: "true" | "false" | "auto";
  /** -h/--help before or after the command; the caller prints usageText(command). */
  help: boolean;
  version: boolean;
}

export interface ParsedArgs {
  global: GlobalOptions;
  command: string | undefined;
  /** Keyed by long flag name; defaults from the table are filled in. */
  options: Record<string, OptionValue>;
  positionals: string[];
  /** Where the arguments after "--" start in positionals, when there was one. */
  dashDash?: number;
}

const usage = (msg: string) => new BuncError("usage", msg);
const quote = (s: string) => JSON.stringify(s);

interface FlagWord {
  /** As typed, without any "=value": the unknown-flag message echoes it. */
  written: string;
  name: string;
  inline?: string;
}

// Returns undefined for anything that is an argument rather than a flag: "", "-", words, and
// a single dash followed by a non-letter such as "-1" (runc reads those as arguments too).
function flagWord(arg: string): FlagWord | undefined {
  if (arg.length < 2 || arg[0] !== "-") return undefined;
  const dashes = arg[1] === "-" ? 2 : 1;
  if (dashes === 1 && !/^\p{L}$/u.test(arg[1]!)) return undefined;
  const body = arg.slice(dashes);
  const eq = body.indexOf("=");
  if (eq === -1) return { written: arg, name: body };
  return { written: arg.slice(0, dashes + eq), name: body.slice(0, eq), inline: body.slice(eq + 1) };
}

interface Lookup {
  spec: FlagSpec;
  global: boolean;
}

// Every name a flag answers to, with either dash count: long name, aliases and short letter.
function addNames(table: Map<string, Lookup>, flags: readonly FlagSpec[], global: boolean): void {
  for (const spec of flags) {
    for (const name of [spec.name, ...(spec.aliases ?? []), ...(spec.short ? [spec.short] : [])]) {
      // First one in wins: a command's own flag shadows a global one of the same name.
      if (!table.has(name)) table.set(name, { spec, global });
    }
  }
}

const globalTable = new Map<string, Lookup>();
addNames(globalTable, GLOBAL_FLAGS, true);

const inherited = GLOBAL_FLAGS.filter((f) => f.name !== "help" && f.name !== "version");
/** The flag names one command takes, made when it is first parsed (one a run, not thirty). */
function commandTable(spec: CommandSpec): Map<string, Lookup> {
  const table = new Map<string, Lookup>();
  addNames(table, spec.flags, false);
  addNames(table, [HELP_FLAG], true);
  addNames(table, inherited, true);
  return table;
}

// The boolean spellings runc accepts for a flag's =value.
const TRUE = new Set(["1", "t", "T", "true", "TRUE", "True"]);
const FALSE = new Set(["0", "f", "F", "false", "FALSE", "False"]);

// Stores one flag into values and returns the index of the last argument it used.
function take(spec: FlagSpec, word: FlagWord, argv: readonly string[], i: number, values: Record<string, OptionValue>): number {
  if (spec.kind === "bool") {
    if (word.inline === undefined) values[spec.name] = true;
    else if (TRUE.has(word.inline)) values[spec.name] = true;
    else if (FALSE.has(word.inline)) values[spec.name] = false;
    else throw usage(`flag --${spec.name} takes true or false, got ${quote(word.inline)}`);
    return i;
  }
  let value = word.inline;
  if (value === undefined) {
    // The next argument is the value even if it starts with a dash, as in runc.
    if (i + 1 >= argv.length) throw usage(`flag --${spec.name} needs a value`);
    value = argv[++i]!;
  }
  if (spec.choices && !spec.choices.includes(value)) {
    throw usage(`flag --${spec.name} must be one of ${spec.choices.join(", ")}, got ${quote(value)}`);
  }
  if (spec.kind === "list") {
    const prev = values[spec.name];
    values[spec.name] = Array.isArray(prev) ? [...prev, value] : [value];
  } else {
    values[spec.name] = value;
  }
  return i;
}

function withDefaults(flags: readonly FlagSpec[], values: Record<string, OptionValue>): Record<string, OptionValue> {
  const out: Record<string, OptionValue> = {};
  for (const f of flags) if (f.default !== undefined) out[f.name] = f.default;
  return Object.assign(out, values);
}

function globalOptions(values: Record<string, OptionValue>): GlobalOptions {
  const v = withDefaults(GLOBAL_FLAGS, values);
  const global: GlobalOptions = {
    root: v.root as string,
    store: v.store as string,
    // Values were checked against the choices in the table when they were read.
    logFormat: v["log-format"] as GlobalOptions["logFormat"],
    debug: v.debug === true,
    systemdCgroup: v["systemd-cgroup"] === true,
    rootless: v.rootless as GlobalOptions["rootless"],
    help: v.help === true,
    version: v.version === true,
  };
  if (typeof v.log === "string") global.log = v.log;
  return global;
}

const plural = (n: number) => `${n} argument${n === 1 ? "" : "s"}`;

function checkCount(spec: CommandSpec, positionals: readonly string[]): void {
  const n = positionals.length;
  const name = quote(spec.name);
  if (spec.min === spec.max && n !== spec.min) {
    if (spec.max === 0) throw usage(`${name} takes no arguments`);
    throw usage(`${name} requires exactly ${plural(spec.min)} (${spec.argsNoun})`);
  }
  if (n < spec.min) throw usage(`${name} requires at least ${plural(spec.min)} (${spec.argsNoun})`);
  if (n > spec.max) throw usage(`${name} takes at most ${plural(spec.max)} (${spec.argsNoun})`);
}

// Rules that go beyond counting arguments.
function checkCommand(command: string, options: Record<string, OptionValue>, positionals: readonly string[]): void {
  if (command === "exec" && positionals.length < 2 && options.process === undefined) {
    throw usage(`"exec" needs a command to run after the container id, or --process FILE`);
  }
  if (command === "help" && positionals[0] !== undefined) commandSpec(positionals[0]);
  if (command === "run") checkRun(options, positionals);
}

// `run ID` with a bundle; `run --image REF [ID] [command...]` with its own flags.
function checkRun(options: Record<string, OptionValue>, positionals: readonly string[]): void {
  if (options.image === undefined) {
    if (positionals.length !== 1) throw usage(`"run" requires exactly 1 argument (the container id), or --image`);
    for (const flag of IMAGE_RUN_FLAGS) {
      if (options[flag.name] !== undefined) throw usage(`flag --${flag.name} of "run" needs --image`);
    }
    return;
  }
  if (options.bundle !== undefined) throw usage(`"run" takes --image or --bundle, not both`);
}

/** The global flags before the command: their values, and where the command is. */
function readGlobals(argv: readonly string[]): { globalValues: Record<string, OptionValue>; i: number } {
  const globalValues: Record<string, OptionValue> = {};
  let i = 0;
  for (; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "--") {
      i++;
      break;
    }
    const word = flagWord(arg);
    if (!word) break;
    const hit = globalTable.get(word.name);
    if (!hit) throw usage(`unknown flag ${word.written}`);
    i = take(hit.spec, word, argv, i, globalValues);
  }
  return { globalValues, i };
}

/** The global options before the command, when the rest of argv is bad: a usage error must
 *  still reach `--log`, where containerd's shim and conmon look for it. */
export function leadingGlobalOptions(argv: readonly string[]): GlobalOptions | undefined {
  try {
    return globalOptions(readGlobals(argv).globalValues);
  } catch {
    return undefined;
  }
}

/** Parses the arguments after the program name. Errors are BuncError("usage"). */
export function parseArgs(argv: readonly string[]): ParsedArgs {
  const { globalValues, i: commandAt } = readGlobals(argv);
  let i = commandAt;
  const command = argv[i];
  if (command === undefined) {
    return { global: globalOptions(globalValues), command: undefined, options: {}, positionals: [] };
  }
  const spec = commandSpec(command);
  const table = commandTable(spec);
  const values: Record<string, OptionValue> = {};
  const positionals: string[] = [];
  let dashDash: number | undefined;
  for (i++; i < argv.length; i++) {
    const arg = argv[i]!;
    // runc looks for "--" before its stop-after-first rule, so `exec ID -- cmd` drops it.
    if (arg === "--") {
      dashDash = positionals.length;
      positionals.push(...argv.slice(i + 1));
      break;
    }
    const stopAfterFirst = spec.stopAfterFirst || (spec.stopAfterFirstWith !== undefined && values[spec.stopAfterFirstWith] !== undefined);
    if (stopAfterFirst && positionals.length >= 1) {
      positionals.push(...argv.slice(i));
      break;
    }
    const word = flagWord(arg);
    if (!word) {
      positionals.push(arg);
      continue;
    }
    const hit = table.get(word.name);
    if (!hit) throw usage(`unknown flag ${word.written} for ${quote(command)}`);
    i = take(hit.spec, word, argv, i, hit.global ? globalValues : values);
  }

  const global = globalOptions(globalValues);
  const options = withDefaults(spec.flags, values);
  // Asking for help is never wrong, however many arguments came with it.
  if (!global.help) {
    checkCount(spec, positionals);
    checkCommand(command, options, positionals);
  }
  return { global, command, options, positionals, ...(dashDash !== undefined && { dashDash }) };
}

/**
 * A flag value as a non-negative integer: decimal digits only, so "1x", "-1", "" and "1.5"
 * are usage errors naming the flag. An absent flag stays undefined.
 */
export function intOption(name: string, value: OptionValue): number;
export function intOption(name: string, value: OptionValue | undefined): number | undefined;
export function intOption(name: string, value: OptionValue | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value === "string" && /^[0-9]+$/.test(value)) {
    const n = Number(value);
    if (Number.isSafeInteger(n)) return n;
  }
  const shown = typeof value === "string" ? quote(value) : String(value);
  throw usage(`flag --${name} needs a non-negative integer, got ${shown}`);
}

/** A string flag's value; undefined when absent. */
export function stringOption(options: Record<string, OptionValue>, name: string): string | undefined {
  const v = options[name];
  if (v === undefined || typeof v === "string") return v;
  throw new TypeError(`option ${name} is not a string flag`);
}

/** A boolean flag's value; false when absent. */
export function boolOption(options: Record<string, OptionValue>, name: string): boolean {
  const v = options[name];
  if (v === undefined || typeof v === "boolean") return v === true;
  throw new TypeError(`option ${name} is not a boolean flag`);
}

/** A repeatable flag's values in order; empty when absent. */
export function listOption(options: Record<string, OptionValue>, name: string): string[] {
  const v = options[name];
  if (v === undefined) return [];
  if (Array.isArray(v)) return v;
  throw new TypeError(`option ${name} is not a list flag`);
}
