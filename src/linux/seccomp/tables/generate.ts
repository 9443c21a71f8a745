// Writes the seccomp syscall tables in this directory: one `<abi>.ts` per syscall ABI (name →
// number as the kernel sees it in seccomp_data.nr) and `index.ts` (the libseccomp architecture
// names, their AUDIT_ARCH_* values and the lookup functions).
//
//   bun src/linux/seccomp/tables/generate.ts
//
// A development-time tool: the output is committed, and neither the build nor CI runs this.
// It reads the kernel uapi headers that Debian packages install, evaluating them the way a C
// compiler for each target would (a small preprocessor: object-like #define, #undef, #include,
// #if/#ifdef/#ifndef/#elif/#else/#endif with full integer expressions), so the numbers come
// from the kernel's own definitions, including the asm-generic ones built from __NR3264_* and
// __ARCH_WANT_* flags. It needs these packages (Debian 12):
//
//   apt-get install -y linux-libc-dev linux-libc-dev-arm64-cross linux-libc-dev-armhf-cross \
//     linux-libc-dev-riscv64-cross linux-libc-dev-ppc64el-cross linux-libc-dev-s390x-cross \
//     linux-libc-dev-mips64el-cross linux-libc-dev-hppa-cross linux-libc-dev-m68k-cross \
//     linux-libc-dev-sh4-cross
//
// It refuses to run with any of them missing, so a regeneration never silently drops a table.
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";

// ---------------------------------------------------------------------------------------------
// What to generate

/** The architecture names of libseccomp's seccomp.h, in runtime-spec order, then the newer ones. */
const ARCHES = [
  // listed by runtime-spec config-linux.md (libseccomp 2.5)
  ["SCMP_ARCH_X86", "AUDIT_ARCH_I386"],
  ["SCMP_ARCH_X86_64", "AUDIT_ARCH_X86_64"],
  // x32 has no audit arch of its own: the kernel reports AUDIT_ARCH_X86_64 and sets
  // __X32_SYSCALL_BIT in the syscall number.
  ["SCMP_ARCH_X32", "AUDIT_ARCH_X86_64"],
  ["SCMP_ARCH_ARM", "AUDIT_ARCH_ARM"],
  ["SCMP_ARCH_AARCH64", "AUDIT_ARCH_AARCH64"],
  ["SCMP_ARCH_MIPS", "AUDIT_ARCH_MIPS"],
  ["SCMP_ARCH_MIPS64", "AUDIT_ARCH_MIPS64"],
  ["SCMP_ARCH_MIPS64N32", "AUDIT_ARCH_MIPS64N32"],
  ["SCMP_ARCH_MIPSEL", "AUDIT_ARCH_MIPSEL"],
  ["SCMP_ARCH_MIPSEL64", "AUDIT_ARCH_MIPSEL64"],
  ["SCMP_ARCH_MIPSEL64N32", "AUDIT_ARCH_MIPSEL64N32"],
  ["SCMP_ARCH_PPC", "AUDIT_ARCH_PPC"],
  ["SCMP_ARCH_PPC64", "AUDIT_ARCH_PPC64"],
  ["SCMP_ARCH_PPC64LE", "AUDIT_ARCH_PPC64LE"],
  ["SCMP_ARCH_S390", "AUDIT_ARCH_S390"],
  ["SCMP_ARCH_S390X", "AUDIT_ARCH_S390X"],
  ["SCMP_ARCH_PARISC", "AUDIT_ARCH_PARISC"],
  ["SCMP_ARCH_PARISC64", "AUDIT_ARCH_PARISC64"],
  ["SCMP_ARCH_RISCV64", "AUDIT_ARCH_RISCV64"],
  // added by libseccomp 2.6
  ["SCMP_ARCH_LOONGARCH64", "AUDIT_ARCH_LOONGARCH64"],
  ["SCMP_ARCH_M68K", "AUDIT_ARCH_M68K"],
  ["SCMP_ARCH_SH", "AUDIT_ARCH_SHEL"],
  ["SCMP_ARCH_SHEB", "AUDIT_ARCH_SH"],
] as const;

type Arch = (typeof ARCHES)[number][0];

/** One syscall ABI: a header set, the compiler's predefined macros, and the arches using it. */
interface Abi {
  /** Output file stem, and the name used in messages. */
  file: string;
  /** Debian package that installs the headers. */
  pkg: string;
  includeDirs: string[];
  /** Macros the target's C compiler predefines (only those the headers test matter). */
  predefined: Record<string, string>;
  /** Arch-private calls outside the __NR_ space, kept under their name without the prefix. */
  privatePrefix?: string;
  arches: Arch[];
}

const X86_DIRS = ["/usr/include/x86_64-linux-gnu", "/usr/include"];
const cross = (triplet: string) => [`/usr/${triplet}/include`];

const ABIS: Abi[] = [
  {
    file: "x86_64",
    pkg: "linux-libc-dev",
    includeDirs: X86_DIRS,
    predefined: { __x86_64__: "1", __LP64__: "1" },
    arches: ["SCMP_ARCH_X86_64"],
  },
  {
    file: "x86",
    pkg: "linux-libc-dev",
    includeDirs: X86_DIRS,
    predefined: { __i386__: "1" },
    arches: ["SCMP_ARCH_X86"],
  },
  {
    file: "x32",
    pkg: "linux-libc-dev",
    includeDirs: X86_DIRS,
    predefined: { __x86_64__: "1", __ILP32__: "1", _ILP32: "1" },
    arches: ["SCMP_ARCH_X32"],
  },
  {
    file: "aarch64",
    pkg: "linux-libc-dev-arm64-cross",
    includeDirs: cross("aarch64-linux-gnu"),
    predefined: { __aarch64__: "1", __LP64__: "1" },
    arches: ["SCMP_ARCH_AARCH64"],
  },
  {
    file: "arm",
    pkg: "linux-libc-dev-armhf-cross",
    includeDirs: cross("arm-linux-gnueabihf"),
    predefined: { __arm__: "1", __ARM_EABI__: "1" },
    privatePrefix: "__ARM_NR_",
    arches: ["SCMP_ARCH_ARM"],
  },
  {
    file: "riscv64",
    pkg: "linux-libc-dev-riscv64-cross",
    includeDirs: cross("riscv64-linux-gnu"),
    predefined: { __riscv: "1", __riscv_xlen: "64", __LP64__: "1", __SIZEOF_POINTER__: "8" },
    arches: ["SCMP_ARCH_RISCV64"],
  },
  {
    file: "ppc",
    pkg: "linux-libc-dev-ppc64el-cross",
    includeDirs: cross("powerpc64le-linux-gnu"),
    predefined: { __powerpc__: "1" },
    arches: ["SCMP_ARCH_PPC"],
  },
  {
    file: "ppc64",
    pkg: "linux-libc-dev-ppc64el-cross",
    includeDirs: cross("powerpc64le-linux-gnu"),
    predefined: { __powerpc__: "1", __powerpc64__: "1", __LP64__: "1" },
    arches: ["SCMP_ARCH_PPC64", "SCMP_ARCH_PPC64LE"],
  },
  {
    file: "s390",
    pkg: "linux-libc-dev-s390x-cross",
    includeDirs: cross("s390x-linux-gnu"),
    predefined: { __s390__: "1" },
    arches: ["SCMP_ARCH_S390"],
  },
  {
    file: "s390x",
    pkg: "linux-libc-dev-s390x-cross",
    includeDirs: cross("s390x-linux-gnu"),
    predefined: { __s390__: "1", __s390x__: "1", __LP64__: "1" },
    arches: ["SCMP_ARCH_S390X"],
  },
  {
    file: "mips",
    pkg: "linux-libc-dev-mips64el-cross",
    includeDirs: cross("mips64el-linux-gnuabi64"),
    predefined: { __mips__: "1", _MIPS_SIM: "_MIPS_SIM_ABI32" },
    arches: ["SCMP_ARCH_MIPS", "SCMP_ARCH_MIPSEL"],
  },
  {
    file: "mips64",
    pkg: "linux-libc-dev-mips64el-cross",
    includeDirs: cross("mips64el-linux-gnuabi64"),
    predefined: { __mips__: "1", __mips64: "1", __LP64__: "1", _MIPS_SIM: "_MIPS_SIM_ABI64" },
    arches: ["SCMP_ARCH_MIPS64", "SCMP_ARCH_MIPSEL64"],
  },
  {
    file: "mips64n32",
    pkg: "linux-libc-dev-mips64el-cross",
    includeDirs: cross("mips64el-linux-gnuabi64"),
    predefined: { __mips__: "1", __mips64: "1", _MIPS_SIM: "_MIPS_SIM_NABI32" },
    arches: ["SCMP_ARCH_MIPS64N32", "SCMP_ARCH_MIPSEL64N32"],
  },
  {
    file: "parisc",
    pkg: "linux-libc-dev-hppa-cross",
    includeDirs: cross("hppa-linux-gnu"),
    predefined: { __hppa__: "1" },
    arches: ["SCMP_ARCH_PARISC"],
  },
  {
    file: "parisc64",
    pkg: "linux-libc-dev-hppa-cross",
    includeDirs: cross("hppa-linux-gnu"),
    predefined: { __hppa__: "1", __LP64__: "1" },
    arches: ["SCMP_ARCH_PARISC64"],
  },
  {
    file: "m68k",
    pkg: "linux-libc-dev-m68k-cross",
    includeDirs: cross("m68k-linux-gnu"),
    predefined: { __m68k__: "1" },
    arches: ["SCMP_ARCH_M68K"],
  },
  {
    file: "sh",
    pkg: "linux-libc-dev-sh4-cross",
    includeDirs: cross("sh4-linux-gnu"),
    predefined: { __sh__: "1", __SH4__: "1" },
    arches: ["SCMP_ARCH_SH", "SCMP_ARCH_SHEB"],
  },
];

/** The header giving the AUDIT_ARCH_* values, and how to read it. */
const AUDIT = {
  pkg: "linux-libc-dev",
  header: "linux/audit.h",
  includeDirs: X86_DIRS,
  predefined: { __x86_64__: "1", __LP64__: "1" },
};

/** __NR_* macros that are not system calls: counts, bases, and mips's numbered placeholders. */
const NOT_SYSCALLS = /^__NR_(syscalls|arch_specific_syscall|unused\d+|reserved\d+)$/;

// ---------------------------------------------------------------------------------------------
// A small C preprocessor: enough of one to evaluate the kernel's uapi headers

interface Macro {
  /** null for object-like macros. */
  params: string[] | null;
  body: string;
}

type Token = { kind: "num"; value: bigint } | { kind: "id"; name: string } | { kind: "op"; op: string };

class Preprocessor {
  readonly macros = new Map<string, Macro>();
  readonly files: string[] = [];

  constructor(
    private readonly includeDirs: string[],
    predefined: Record<string, string>,
  ) {
    for (const [name, body] of Object.entries(predefined)) this.macros.set(name, { params: null, body });
  }

  include(name: string, from?: string): void {
    const candidates = [...(from ? [dirname(from)] : []), ...this.includeDirs].map((d) => join(d, name));
    const path = candidates.find((p) => existsSync(p));
    if (!path) throw new Error(`#include ${name}: not found in ${this.includeDirs.join(", ")}`);
    this.processFile(path);
  }

  private processFile(path: string): void {
    if (this.files.length > 200) throw new Error(`more than 200 headers read, at ${path}: an include loop?`);
    this.files.push(path);
    const lines = stripComments(readFileSync(path, "utf8").replace(/\\\r?\n/g, "")).split("\n");
    // Each entry: is this branch live, and has any branch of the group been taken.
    const stack: { live: boolean; taken: boolean; outer: boolean }[] = [];
    const live = () => stack.every((s) => s.live);
    lines.forEach((line, i) => {
      const m = /^\s*#\s*([A-Za-z_]+)\b\s*(.*?)\s*$/.exec(line);
      if (!m) return;
      const directive = m[1]!;
      const rest = m[2]!;
      const where = `${path}:${i + 1}`;
      try {
        switch (directive) {
          case "if":
          case "ifdef":
          case "ifndef": {
            const outer = live();
            let cond = false;
            if (outer) {
              if (directive === "if") cond = this.evaluate(rest, true) !== 0n;
              else cond = this.macros.has(identifier(rest)) === (directive === "ifdef");
            }
            stack.push({ live: cond, taken: cond, outer });
            break;
          }
          case "elif": {
            const top = stack.at(-1);
            if (!top) throw new Error("#elif without #if");
            top.live = top.outer && !top.taken && this.evaluate(rest, true) !== 0n;
            top.taken ||= top.live;
            break;
          }
          case "else": {
            const top = stack.at(-1);
            if (!top) throw new Error("#else without #if");
            top.live = top.outer && !top.taken;
            top.taken = true;
            break;
          }
          case "endif":
            if (!stack.pop()) throw new Error("#endif without #if");
            break;
          default:
            if (live()) this.directive(directive, rest, path);
        }
      } catch (err) {
        throw new Error(`${where}: ${err instanceof Error ? err.message : String(err)}`);
      }
    });
    if (stack.length > 0) throw new Error(`${path}: unterminated #if`);
  }

  private directive(directive: string, rest: string, path: string): void {
    switch (directive) {
      case "define": {
        const m = /^([A-Za-z_]\w*)(\(([^)]*)\))?\s*(.*)$/.exec(rest);
        if (!m) throw new Error(`bad #define ${rest}`);
        const params = m[2] === undefined ? null : m[3]!.split(",").map((p) => p.trim()).filter(Boolean);
        this.macros.set(m[1]!, { params, body: m[4]!.trim() });
        return;
      }
      case "undef":
        this.macros.delete(identifier(rest));
        return;
      case "include": {
        const m = /^[<"]([^>"]+)[>"]$/.exec(rest);
        if (!m) throw new Error(`bad #include ${rest}`);
        this.include(m[1]!, rest.startsWith('"') ? path : undefined);
        return;
      }
      case "error":
        throw new Error(`#error ${rest}`);
      case "warning":
      case "pragma":
      case "line":
      case "ident":
        return;
      default:
        throw new Error(`unsupported directive #${directive}`);
    }
  }

  /** The value of an expression; in #if, unknown identifiers are 0, elsewhere an error. */
  evaluate(text: string, inIf: boolean): bigint {
    const tokens = this.expand(tokenize(text), inIf, new Set());
    return new Parser(tokens, text).parse();
  }

  /** The value of a macro, as a number. */
  valueOf(name: string): number {
    const macro = this.macros.get(name);
    if (!macro || macro.params) throw new Error(`${name} is not an object-like macro`);
    const value = this.evaluate(macro.body, false);
    if (value < 0n || value > 0xffffffffn) throw new Error(`${name} = ${value}: out of range`);
    return Number(value);
  }

  private expand(tokens: Token[], inIf: boolean, hidden: Set<string>): Token[] {
    const out: Token[] = [];
    for (let i = 0; i < tokens.length; i++) {
      const t = tokens[i]!;
      if (t.kind !== "id") {
        out.push(t);
        continue;
      }
      if (inIf && t.name === "defined") {
        let j = i + 1;
        const paren = tokens[j]?.kind === "op" && (tokens[j] as { op: string }).op === "(";
        if (paren) j++;
        const target = tokens[j];
        if (target?.kind !== "id") throw new Error("defined needs a macro name");
        if (paren) {
          j++;
          const close = tokens[j];
          if (close?.kind !== "op" || close.op !== ")") throw new Error("defined( without )");
        }
        out.push({ kind: "num", value: this.macros.has(target.name) ? 1n : 0n });
        i = j;
        continue;
      }
      const macro = hidden.has(t.name) ? undefined : this.macros.get(t.name);
      if (macro) {
        if (macro.params) throw new Error(`function-like macro ${t.name} in an expression`);
        out.push(...this.expand(tokenize(macro.body), inIf, new Set([...hidden, t.name])));
      } else if (inIf) {
        out.push({ kind: "num", value: 0n });
      } else {
        throw new Error(`unresolved identifier ${t.name}`);
      }
    }
    return out;
  }
}

function identifier(text: string): string {
  const m = /^([A-Za-z_]\w*)/.exec(text.trim());
  if (!m) throw new Error(`expected a macro name, got "${text}"`);
  return m[1]!;
}

/** Removes C and C++ comments, leaving string and character literals alone. */
function stripComments(src: string): string {
  let out = "";
  let i = 0;
  while (i < src.length) {
    const c = src[i]!;
    if (c === "/" && src[i + 1] === "*") {
      const end = src.indexOf("*/", i + 2);
      if (end < 0) throw new Error("unterminated comment");
      // Keep the line count, so error positions stay right.
      out += " " + src.slice(i, end + 2).replace(/[^\n]/g, "");
      i = end + 2;
    } else if (c === "/" && src[i + 1] === "/") {
      while (i < src.length && src[i] !== "\n") i++;
    } else if (c === '"' || c === "'") {
      let j = i + 1;
      while (j < src.length && src[j] !== c && src[j] !== "\n") j += src[j] === "\\" ? 2 : 1;
      out += src.slice(i, j + 1);
      i = j + 1;
    } else {
      out += c;
      i++;
    }
  }
  return out;
}

const OPERATORS = ["||", "&&", "==", "!=", "<=", ">=", "<<", ">>", ..."()!~+-*/%<>&|^?:"];

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const rest = text.slice(i);
    const space = /^\s+/.exec(rest);
    if (space) {
      i += space[0].length;
      continue;
    }
    const num = /^(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9]\d*)[uUlL]*/.exec(rest);
    if (num) {
      const digits = num[1]!;
      const value = /^0[0-7]+$/.test(digits) ? BigInt(`0o${digits.slice(1)}`) : BigInt(digits);
      tokens.push({ kind: "num", value });
      i += num[0].length;
      continue;
    }
    const id = /^[A-Za-z_]\w*/.exec(rest);
    if (id) {
      tokens.push({ kind: "id", name: id[0] });
      i += id[0].length;
      continue;
    }
    const op = OPERATORS.find((o) => rest.startsWith(o));
    if (!op) throw new Error(`cannot read "${rest}"`);
    tokens.push({ kind: "op", op });
    i += op.length;
  }
  return tokens;
}

/** C integer expressions by precedence climbing; values are unbounded (the headers never overflow). */
class Parser {
  private pos = 0;

  constructor(
    private readonly tokens: Token[],
    private readonly source: string,
  ) {}

  parse(): bigint {
    const value = this.conditional();
    if (this.pos !== this.tokens.length) this.fail("trailing tokens");
    return value;
  }

  private static readonly BINARY: Record<string, [number, (a: bigint, b: bigint) => bigint]> = {
    "||": [1, (a, b) => (a !== 0n || b !== 0n ? 1n : 0n)],
    "&&": [2, (a, b) => (a !== 0n && b !== 0n ? 1n : 0n)],
    "|": [3, (a, b) => a | b],
    "^": [4, (a, b) => a ^ b],
    "&": [5, (a, b) => a & b],
    "==": [6, (a, b) => (a === b ? 1n : 0n)],
    "!=": [6, (a, b) => (a !== b ? 1n : 0n)],
    "<": [7, (a, b) => (a < b ? 1n : 0n)],
    ">": [7, (a, b) => (a > b ? 1n : 0n)],
    "<=": [7, (a, b) => (a <= b ? 1n : 0n)],
    ">=": [7, (a, b) => (a >= b ? 1n : 0n)],
    "<<": [8, (a, b) => a << b],
    ">>": [8, (a, b) => a >> b],
    "+": [9, (a, b) => a + b],
    "-": [9, (a, b) => a - b],
    "*": [10, (a, b) => a * b],
    "/": [10, (a, b) => (b === 0n ? Parser.divByZero() : a / b)],
    "%": [10, (a, b) => (b === 0n ? Parser.divByZero() : a % b)],
  };

  private static divByZero(): never {
    throw new Error("division by zero");
  }

  private peekOp(): string | undefined {
    const t = this.tokens[this.pos];
    return t?.kind === "op" ? t.op : undefined;
  }

  private expect(op: string): void {
    if (this.peekOp() !== op) this.fail(`expected ${op}`);
    this.pos++;
  }

  private conditional(): bigint {
    const cond = this.binary(1);
    if (this.peekOp() !== "?") return cond;
    this.pos++;
    const a = this.conditional();
    this.expect(":");
    const b = this.conditional();
    return cond !== 0n ? a : b;
  }

  private binary(minPrec: number): bigint {
    let left = this.unary();
    for (;;) {
      const op = this.peekOp();
      const entry = op === undefined ? undefined : Parser.BINARY[op];
      if (!entry || entry[0] < minPrec) return left;
      this.pos++;
      const right = this.binary(entry[0] + 1);
      left = entry[1](left, right);
    }
  }

  private unary(): bigint {
    const t = this.tokens[this.pos];
    if (!t) this.fail("unexpected end");
    this.pos++;
    if (t.kind === "num") return t.value;
    if (t.kind === "id") this.fail(`unexpected identifier ${t.name}`);
    switch (t.op) {
      case "(": {
        const value = this.conditional();
        this.expect(")");
        return value;
      }
      case "!":
        return this.unary() === 0n ? 1n : 0n;
      case "~":
        return ~this.unary();
      case "-":
        return -this.unary();
      case "+":
        return this.unary();
    }
    this.fail(`unexpected ${t.op}`);
  }

  private fail(why: string): never {
    throw new Error(`${why} in "${this.source}"`);
  }
}

// ---------------------------------------------------------------------------------------------
// Reading the packages

function packageVersion(pkg: string): string | undefined {
  const r = Bun.spawnSync(["dpkg-query", "-W", "-f=${db:Status-Status} ${Version}", pkg], {
    stdout: "pipe",
    stderr: "ignore",
  });
  const m = /^installed (\S+)$/.exec(r.stdout.toString().trim());
  return r.exitCode === 0 && m ? m[1] : undefined;
}

interface Table {
  abi: Abi;
  version: string;
  /** name → number, sorted by number then name. */
  entries: [string, number][];
  /** Highest number outside the arch-private range. */
  max: number;
}

function readTable(abi: Abi, version: string): Table {
  const pp = new Preprocessor(abi.includeDirs, abi.predefined);
  pp.include("asm/unistd.h");
  const entries: [string, number][] = [];
  const names = new Set<string>();
  const prefix = abi.privatePrefix;
  let max = -1;
  for (const [macro, def] of pp.macros) {
    if (def.params) continue;
    let name: string;
    let isPrivate = false;
    if (/^__NR_[a-z0-9_]+$/.test(macro) && !NOT_SYSCALLS.test(macro)) {
      name = macro.slice("__NR_".length);
    } else if (prefix && macro.startsWith(prefix) && /^[a-z0-9_]+$/.test(macro.slice(prefix.length))) {
      name = macro.slice(prefix.length);
      isPrivate = true;
    } else {
      continue;
    }
    if (names.has(name)) throw new Error(`${abi.file}: ${name} defined twice (${macro})`);
    names.add(name);
    const nr = pp.valueOf(macro);
    entries.push([name, nr]);
    if (!isPrivate) max = Math.max(max, nr);
  }
  if (entries.length < 250) {
    throw new Error(`${abi.file}: only ${entries.length} syscalls found; the headers were not read right`);
  }
  entries.sort((a, b) => a[1] - b[1] || (a[0] < b[0] ? -1 : 1));
  return { abi, version, entries, max };
}

function readAuditArches(): AuditArches {
  const pp = new Preprocessor(AUDIT.includeDirs, AUDIT.predefined);
  pp.include(AUDIT.header);
  const out = {} as AuditArches;
  for (const [arch, macro] of ARCHES) out[arch] = { value: pp.valueOf(macro), macro };
  return out;
}

// ---------------------------------------------------------------------------------------------
// Writing the files

const HEADER = "// Generated by src/linux/seccomp/tables/generate.ts: do not edit by hand, rerun it.";
const hex = (n: number) => `0x${n.toString(16).toUpperCase().padStart(8, "0")}`;
/** Decimal, or hex for numbers carrying a flag bit or base (x32's, arm's private calls). */
const num = (n: number) => (n >= 0x10000 ? `0x${n.toString(16)}` : String(n));
const key = (name: string) => (/^[A-Za-z_$][\w$]*$/.test(name) ? name : JSON.stringify(name));

function describe(abi: Abi): string {
  const defs = Object.entries(abi.predefined)
    .map(([k, v]) => (v === "1" ? k : `${k}=${v}`))
    .join(" ");
  return `asm/unistd.h as a compiler defining ${defs} reads it`;
}

function tableSource(t: Table): string {
  const lines = [
    HEADER,
    `// Source: Debian package ${t.abi.pkg} ${t.version}, ${describe(t.abi)}.`,
    `// Used for ${t.abi.arches.join(", ")}. Numbers are as the kernel sees them in seccomp_data.nr`,
    `// (with any ABI base or flag bit included); aliases the header defines are kept.`,
    "export default {",
    ...t.entries.map(([name, nr]) => `  ${key(name)}: ${num(nr)},`),
    "} as const satisfies Record<string, number>;",
    "",
  ];
  return lines.join("\n");
}

type AuditArches = Record<Arch, { value: number; macro: string }>;

function indexSource(tables: Table[], audit: AuditArches, auditVersion: string): string {
  const byArch = new Map<Arch, Table>();
  for (const t of tables) for (const a of t.abi.arches) byArch.set(a, t);
  const sources = [...new Set(tables.map((t) => t.abi.file))];
  const out = [
    HEADER,
    "// The seccomp architecture names (SCMP_ARCH_*, as runtime-spec config-linux.md and libseccomp's",
    "// seccomp.h spell them), the AUDIT_ARCH_* value the kernel puts in seccomp_data.arch for each,",
    `// read from linux/audit.h of Debian package ${AUDIT.pkg} ${auditVersion}, and the syscall tables,`,
    "// loaded on first use.",
    "import { endianness } from \"node:os\";",
    "import { BuncError } from \"../../../errors.ts\";",
    "",
    "export type SeccompArch =",
    ...ARCHES.map(([a], i) => `  | "${a}"${i === ARCHES.length - 1 ? ";" : ""}`),
    "",
    "/** Every architecture name, in runtime-spec order followed by the ones libseccomp 2.6 added. */",
    "export const SECCOMP_ARCHES: readonly SeccompArch[] = [",
    ...ARCHES.map(([a]) => `  "${a}",`),
    "];",
    "",
    "/**",
    " * seccomp_data.arch for each architecture. SCMP_ARCH_X32 shares AUDIT_ARCH_X86_64: the kernel tells",
    " * x32 calls apart only by __X32_SYSCALL_BIT (0x40000000) in the syscall number.",
    " */",
    "export const AUDIT_ARCH: Readonly<Record<SeccompArch, number>> = {",
    ...ARCHES.map(([a]) => `  ${a}: ${hex(audit[a].value)}, // ${audit[a].macro}`),
    "};",
    "",
    "/** The first bit of the x32 syscall numbers (asm/unistd.h __X32_SYSCALL_BIT). */",
    "export const X32_SYSCALL_BIT = 0x40000000;",
    "",
    "type Table = Readonly<Record<string, number>>;",
    "",
    "interface TableSource {",
    "  load: () => Table;",
    "  /** Highest syscall number, not counting arch-private calls (arm's 0xf0000 range). */",
    "  max: number;",
    "}",
    "",
    "// require() rather than import: a table is only parsed into objects when first asked for.",
    ...sources.map((file) => {
      const t = tables.find((x) => x.abi.file === file)!;
      return `const ${file}: TableSource = { load: () => require("./${file}.ts").default, max: ${num(t.max)} };`;
    }),
    "",
    "const SOURCES: Readonly<Record<SeccompArch, TableSource | undefined>> = {",
    ...ARCHES.map(([a]) => `  ${a}: ${byArch.get(a)?.abi.file ?? "undefined"},`),
    "};",
    "",
    "const loaded = new Map<TableSource, Table>();",
    "",
    "/** The syscall table of an arch, or undefined when bunc has none. */",
    "export function syscallTable(arch: SeccompArch): Table | undefined {",
    "  const source = SOURCES[arch];",
    "  if (!source) return undefined;",
    "  let table = loaded.get(source);",
    "  if (!table) {",
    "    // No prototype: a profile naming \"constructor\" or \"__proto__\" finds nothing.",
    "    table = Object.freeze(Object.assign(Object.create(null) as Record<string, number>, source.load()));",
    "    loaded.set(source, table);",
    "  }",
    "  return table;",
    "}",
    "",
    "/** The number of a syscall on an arch, or undefined when the arch has no such call (or no table). */",
    "// Lookups go through a Map: on the frozen, prototype-less table objects every lookup takes",
    "// the slow path, which made them most of a profile's compile time.",
    "const numbers = new Map<SeccompArch, Map<string, number>>();",
    "",
    "export function syscallNumber(arch: SeccompArch, name: string): number | undefined {",
    "  let map = numbers.get(arch);",
    "  if (!map) {",
    "    const table = syscallTable(arch);",
    "    if (!table) return undefined;",
    "    map = new Map(Object.entries(table));",
    "    numbers.set(arch, map);",
    "  }",
    "  return map.get(name);",
    "}",
    "",
    "/**",
    " * Highest syscall number in the table (for the \"newer than the profile knows → ENOSYS\" rule),",
    " * not counting arm's private calls at 0xf0000 and above. x32's includes X32_SYSCALL_BIT.",
    " */",
    "export function maxSyscallNumber(arch: SeccompArch): number | undefined {",
    "  return SOURCES[arch]?.max;",
    "}",
    "",
    "/** Whether a string is one of the architecture names. */",
    "export function isSeccompArch(name: string): name is SeccompArch {",
    "  return Object.hasOwn(SOURCES, name);",
    "}",
    "",
    "/** The arch bunc runs on: SCMP_ARCH_X86_64 on x64, SCMP_ARCH_AARCH64 on arm64. */",
    "export function nativeArch(): SeccompArch {",
    "  switch (process.arch) {",
    "    case \"x64\":",
    "      return \"SCMP_ARCH_X86_64\";",
    "    case \"arm64\":",
    "      return \"SCMP_ARCH_AARCH64\";",
    "    case \"ia32\":",
    "      return \"SCMP_ARCH_X86\";",
    "    case \"arm\":",
    "      return \"SCMP_ARCH_ARM\";",
    "    case \"riscv64\":",
    "      return \"SCMP_ARCH_RISCV64\";",
    "    case \"s390x\":",
    "      return \"SCMP_ARCH_S390X\";",
    "    case \"ppc64\":",
    "      return endianness() === \"LE\" ? \"SCMP_ARCH_PPC64LE\" : \"SCMP_ARCH_PPC64\";",
    "    case \"loong64\":",
    "      return \"SCMP_ARCH_LOONGARCH64\";",
    "    case \"mips\":",
    "      return \"SCMP_ARCH_MIPS\";",
    "    case \"mipsel\":",
    "      return \"SCMP_ARCH_MIPSEL\";",
    "  }",
    "  throw new BuncError(\"unsupported\", `seccomp: no architecture name for ${process.arch}`);",
    "}",
    "",
  ];
  return out.join("\n");
}

// ---------------------------------------------------------------------------------------------

function main(): void {
  const here = import.meta.dir;
  const packages = [...new Set([AUDIT.pkg, ...ABIS.map((a) => a.pkg)])];
  const versions = new Map<string, string>();
  const missing: string[] = [];
  for (const pkg of packages) {
    const v = packageVersion(pkg);
    if (v) versions.set(pkg, v);
    else missing.push(pkg);
  }
  if (missing.length > 0) {
    console.error(`generate: missing Debian packages; install them with:\n  apt-get install -y ${missing.join(" ")}`);
    process.exit(1);
  }

  const tables = ABIS.map((abi) => readTable(abi, versions.get(abi.pkg)!));
  const audit = readAuditArches();
  for (const t of tables) {
    writeFileSync(resolve(here, `${t.abi.file}.ts`), tableSource(t));
    console.log(`${t.abi.file}.ts: ${t.entries.length} names, highest ${t.max} (${t.abi.pkg} ${t.version})`);
  }
  writeFileSync(resolve(here, "index.ts"), indexSource(tables, audit, versions.get(AUDIT.pkg)!));
  const covered = ARCHES.filter(([a]) => tables.some((t) => t.abi.arches.includes(a))).length;
  console.log(`index.ts: ${ARCHES.length} architectures, ${covered} with a table`);
}

main();
