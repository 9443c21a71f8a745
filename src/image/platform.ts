// Platforms as image-spec image-index.md writes them: os, architecture with Go's GOARCH
// names, and a variant for ARM. Matching is strict: the os and architecture must be equal,
// and an ARM variant only falls back to older ones the CPU runs (an arm/v7 machine takes v7,
// v6, v5 but never v8); arm64 treats "no variant" and "v8" as the same.
import { readFileSync } from "node:fs";
import { BuncError } from "../errors.ts";

export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
}

const GOARCH: Record<string, string> = {
  x64: "amd64",
  arm64: "arm64",
  arm: "arm",
  ia32: "386",
  ppc64: "ppc64le",
  s390x: "s390x",
  riscv64: "riscv64",
};
export const KNOWN_ARCHITECTURES = ["amd64", "arm64", "arm", "386", "ppc64le", "s390x", "riscv64"];

// 32-bit ARM: the variant is the CPU architecture version /proc/cpuinfo reports.
function armVariant(): string {
  try {
    const m = /^CPU architecture\s*:\s*(\d+)/m.exec(readFileSync("/proc/cpuinfo", "utf8"));
    if (m) return `v${Math.min(Number(m[1]), 8)}`;
  } catch {}
  return "v7";
}

/** This machine's platform. */
export function hostPlatform(): Platform {
  const architecture = GOARCH[process.arch] ?? process.arch;
  const p: Platform = { os: process.platform, architecture };
  if (architecture === "arm64") p.variant = "v8";
  if (architecture === "arm") p.variant = armVariant();
  return p;
}

/** Parse --platform os/arch[/variant]. */
export function parsePlatform(text: string): Platform {
  const parts = text.split("/");
  const fail = (why: string) => new BuncError("usage", `--platform ${JSON.stringify(text)}: ${why}`);
  if (parts.length < 2 || parts.length > 3 || parts.some((p) => !/^[a-z0-9._-]+$/.test(p))) {
    throw fail("expected os/arch[/variant] in lowercase, e.g. linux/arm64 or linux/arm/v7");
  }
  const [os, architecture, variant] = parts as [string, string, string?];
  if (!KNOWN_ARCHITECTURES.includes(architecture)) throw fail(`unknown architecture ${JSON.stringify(architecture)} (one of ${KNOWN_ARCHITECTURES.join(", ")})`);
  if (variant !== undefined && (architecture === "arm" || architecture === "arm64") && !/^v[5-8]$/.test(variant)) {
    throw fail(`unknown ${architecture} variant ${JSON.stringify(variant)} (v5 to v8)`);
  }
  return variant === undefined ? { os, architecture } : { os, architecture, variant };
}

export const formatPlatform = (p: { os: string; architecture: string; variant?: string | undefined }): string =>
  `${p.os}/${p.architecture}${p.variant ? `/${p.variant}` : ""}`;

// A missing variant means the architecture's baseline: v8 for arm64, v7 for arm (containerd
// reads it the same way).
function normalVariant(architecture: string, variant: string | undefined): string {
  if (variant) return variant;
  if (architecture === "arm64") return "v8";
  if (architecture === "arm") return "v7";
  return "";
}

/**
 * How well an image's platform suits the wanted one: 0 is an exact match, higher is a
 * fallback (arm/v6 on a v7 machine is 1), undefined is no match.
 */
export function platformRank(want: Platform, have: { os: string; architecture: string; variant?: string | undefined }): number | undefined {
  if (have.os !== want.os || have.architecture !== want.architecture) return undefined;
  const w = normalVariant(want.architecture, want.variant);
  const h = normalVariant(have.architecture, have.variant);
  if (want.architecture === "arm") {
    const wv = Number(w.slice(1));
    const hv = Number(h.slice(1));
    if (!/^v[0-9]$/.test(h) || hv > wv) return undefined;
    return wv - hv;
  }
  // Elsewhere a variant must be equal; an unspecified wanted variant takes the plain image.
  return w === h ? 0 : undefined;
}
