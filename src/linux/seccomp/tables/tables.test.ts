import { describe, expect, test } from "bun:test";
import {
  AUDIT_ARCH,
  isSeccompArch,
  maxSyscallNumber,
  nativeArch,
  SECCOMP_ARCHES,
  type SeccompArch,
  syscallNumber,
  syscallTable,
  X32_SYSCALL_BIT,
} from "./index.ts";

describe("seccomp syscall tables", () => {
  test("x86_64", () => {
    expect(syscallNumber("SCMP_ARCH_X86_64", "read")).toBe(0);
    expect(syscallNumber("SCMP_ARCH_X86_64", "write")).toBe(1);
    expect(syscallNumber("SCMP_ARCH_X86_64", "openat")).toBe(257);
    expect(syscallNumber("SCMP_ARCH_X86_64", "seccomp")).toBe(317);
    expect(syscallNumber("SCMP_ARCH_X86_64", "clone3")).toBe(435);
    expect(syscallNumber("SCMP_ARCH_X86_64", "openat2")).toBe(437);
    expect(syscallNumber("SCMP_ARCH_X86_64", "socketcall")).toBeUndefined();
  });

  test("x86 (i386)", () => {
    expect(syscallNumber("SCMP_ARCH_X86", "read")).toBe(3);
    expect(syscallNumber("SCMP_ARCH_X86", "socketcall")).toBe(102);
    expect(syscallNumber("SCMP_ARCH_X86", "_llseek")).toBe(140);
    expect(syscallNumber("SCMP_ARCH_X86", "openat2")).toBe(437);
  });

  test("x32 numbers carry __X32_SYSCALL_BIT", () => {
    expect(X32_SYSCALL_BIT).toBe(0x40000000);
    expect(syscallNumber("SCMP_ARCH_X32", "read")).toBe(0x40000000);
    expect(syscallNumber("SCMP_ARCH_X32", "openat")).toBe(0x40000000 + 257);
    // the x32-only entry points at 512 and up
    expect(syscallNumber("SCMP_ARCH_X32", "rt_sigaction")).toBe(0x40000000 + 512);
    for (const nr of Object.values(syscallTable("SCMP_ARCH_X32")!)) expect(nr & X32_SYSCALL_BIT).toBe(X32_SYSCALL_BIT);
  });

  test("aarch64 (asm-generic numbering)", () => {
    expect(syscallNumber("SCMP_ARCH_AARCH64", "openat")).toBe(56);
    expect(syscallNumber("SCMP_ARCH_AARCH64", "clone")).toBe(220);
    expect(syscallNumber("SCMP_ARCH_AARCH64", "read")).toBe(63);
    // __NR3264_* resolved to the 64-bit names
    expect(syscallNumber("SCMP_ARCH_AARCH64", "fcntl")).toBe(25);
    expect(syscallNumber("SCMP_ARCH_AARCH64", "lseek")).toBe(62);
    expect(syscallNumber("SCMP_ARCH_AARCH64", "mmap")).toBe(222);
    expect(syscallNumber("SCMP_ARCH_AARCH64", "newfstatat")).toBe(79);
    expect(syscallNumber("SCMP_ARCH_AARCH64", "fcntl64")).toBeUndefined();
    // __ARCH_WANT_RENAMEAT, __ARCH_WANT_SET_GET_RLIMIT, __ARCH_WANT_SYS_CLONE3
    expect(syscallNumber("SCMP_ARCH_AARCH64", "renameat")).toBe(38);
    expect(syscallNumber("SCMP_ARCH_AARCH64", "getrlimit")).toBe(163);
    expect(syscallNumber("SCMP_ARCH_AARCH64", "clone3")).toBe(435);
    // no legacy calls
    for (const name of ["open", "stat", "fork", "pipe", "dup2", "arch_specific_syscall", "syscalls"]) {
      expect(syscallNumber("SCMP_ARCH_AARCH64", name)).toBeUndefined();
    }
  });

  test("riscv64 (asm-generic plus its own call)", () => {
    expect(syscallNumber("SCMP_ARCH_RISCV64", "openat")).toBe(56);
    expect(syscallNumber("SCMP_ARCH_RISCV64", "riscv_flush_icache")).toBe(259);
    expect(syscallNumber("SCMP_ARCH_RISCV64", "renameat")).toBeUndefined();
  });

  test("arm (EABI)", () => {
    expect(syscallNumber("SCMP_ARCH_ARM", "read")).toBe(3);
    expect(syscallNumber("SCMP_ARCH_ARM", "openat")).toBe(322);
    expect(syscallNumber("SCMP_ARCH_ARM", "arm_sync_file_range")).toBe(341);
    expect(syscallNumber("SCMP_ARCH_ARM", "sync_file_range2")).toBe(341);
    // the ARM-private calls, named without __ARM_NR_
    expect(syscallNumber("SCMP_ARCH_ARM", "cacheflush")).toBe(0x0f0002);
    expect(syscallNumber("SCMP_ARCH_ARM", "set_tls")).toBe(0x0f0005);
    expect(syscallNumber("SCMP_ARCH_ARM", "BASE")).toBeUndefined();
  });

  test("mips ABIs include their base", () => {
    expect(syscallNumber("SCMP_ARCH_MIPS", "read")).toBe(4003);
    expect(syscallNumber("SCMP_ARCH_MIPSEL", "read")).toBe(4003);
    expect(syscallNumber("SCMP_ARCH_MIPS64", "read")).toBe(5000);
    expect(syscallNumber("SCMP_ARCH_MIPSEL64N32", "read")).toBe(6000);
    expect(syscallNumber("SCMP_ARCH_MIPS", "unused18")).toBeUndefined();
  });

  test("other 32/64-bit pairs", () => {
    expect(syscallNumber("SCMP_ARCH_PPC64LE", "openat")).toBe(286);
    expect(syscallTable("SCMP_ARCH_PPC64")).toBe(syscallTable("SCMP_ARCH_PPC64LE")!);
    expect(syscallNumber("SCMP_ARCH_PPC", "fcntl64")).toBe(204);
    expect(syscallNumber("SCMP_ARCH_PPC64", "fcntl64")).toBeUndefined();
    expect(syscallNumber("SCMP_ARCH_S390X", "openat")).toBe(288);
    expect(syscallNumber("SCMP_ARCH_S390", "socketcall")).toBe(102);
    expect(syscallNumber("SCMP_ARCH_PARISC64", "openat")).toBe(275);
  });

  test("lookups ignore inherited keys", () => {
    for (const name of ["constructor", "toString", "__proto__", "hasOwnProperty"]) {
      expect(syscallNumber("SCMP_ARCH_X86_64", name)).toBeUndefined();
    }
    expect(Object.getPrototypeOf(syscallTable("SCMP_ARCH_X86_64")!)).toBeNull();
    expect(Object.isFrozen(syscallTable("SCMP_ARCH_X86_64")!)).toBe(true);
  });

  test("every table is sane and its max matches", () => {
    for (const arch of SECCOMP_ARCHES) {
      const table = syscallTable(arch);
      if (!table) {
        expect(arch).toBe("SCMP_ARCH_LOONGARCH64");
        expect(maxSyscallNumber(arch)).toBeUndefined();
        continue;
      }
      const names = Object.keys(table);
      expect(names.length).toBeGreaterThan(250);
      for (const name of names) expect(name).toMatch(/^[a-z_][a-z0-9_]*$/);
      const regular = Object.values(table).filter((nr) => arch !== "SCMP_ARCH_ARM" || nr < 0x0f0000);
      expect(maxSyscallNumber(arch)).toBe(Math.max(...regular));
      // every table has the basics under some name
      expect(syscallNumber(arch, "read")).toBeNumber();
      expect(syscallNumber(arch, "openat")).toBeNumber();
    }
    expect(maxSyscallNumber("SCMP_ARCH_X86_64")).toBeGreaterThanOrEqual(450);
    expect(maxSyscallNumber("SCMP_ARCH_ARM")).toBeLessThan(0x0f0000);
    expect(maxSyscallNumber("SCMP_ARCH_X32")! & X32_SYSCALL_BIT).toBe(X32_SYSCALL_BIT);
  });
});

describe("seccomp architectures", () => {
  test("the runtime-spec names are all there", () => {
    const spec: SeccompArch[] = [
      "SCMP_ARCH_X86",
      "SCMP_ARCH_X86_64",
      "SCMP_ARCH_X32",
      "SCMP_ARCH_ARM",
      "SCMP_ARCH_AARCH64",
      "SCMP_ARCH_MIPS",
      "SCMP_ARCH_MIPS64",
      "SCMP_ARCH_MIPS64N32",
      "SCMP_ARCH_MIPSEL",
      "SCMP_ARCH_MIPSEL64",
      "SCMP_ARCH_MIPSEL64N32",
      "SCMP_ARCH_PPC",
      "SCMP_ARCH_PPC64",
      "SCMP_ARCH_PPC64LE",
      "SCMP_ARCH_S390",
      "SCMP_ARCH_S390X",
      "SCMP_ARCH_PARISC",
      "SCMP_ARCH_PARISC64",
      "SCMP_ARCH_RISCV64",
    ];
    for (const arch of spec) expect(SECCOMP_ARCHES).toContain(arch);
    expect(Object.keys(AUDIT_ARCH).sort()).toEqual([...SECCOMP_ARCHES].sort());
    expect(isSeccompArch("SCMP_ARCH_X86_64")).toBe(true);
    expect(isSeccompArch("SCMP_ARCH_PDP11")).toBe(false);
    expect(isSeccompArch("toString")).toBe(false);
  });

  test("AUDIT_ARCH values", () => {
    expect(AUDIT_ARCH.SCMP_ARCH_X86_64).toBe(0xc000003e);
    expect(AUDIT_ARCH.SCMP_ARCH_X86).toBe(0x40000003);
    expect(AUDIT_ARCH.SCMP_ARCH_X32).toBe(0xc000003e); // the kernel reports x32 as x86_64
    expect(AUDIT_ARCH.SCMP_ARCH_AARCH64).toBe(0xc00000b7);
    expect(AUDIT_ARCH.SCMP_ARCH_ARM).toBe(0x40000028);
    expect(AUDIT_ARCH.SCMP_ARCH_MIPS).toBe(0x00000008);
    expect(AUDIT_ARCH.SCMP_ARCH_MIPSEL64N32).toBe(0xe0000008);
    expect(AUDIT_ARCH.SCMP_ARCH_PPC64LE).toBe(0xc0000015);
    expect(AUDIT_ARCH.SCMP_ARCH_S390X).toBe(0x80000016);
    expect(AUDIT_ARCH.SCMP_ARCH_RISCV64).toBe(0xc00000f3);
    expect(AUDIT_ARCH.SCMP_ARCH_LOONGARCH64).toBe(0xc0000102);
    for (const value of Object.values(AUDIT_ARCH)) {
      expect(Number.isInteger(value) && value >= 0 && value <= 0xffffffff).toBe(true);
    }
  });

  test("nativeArch", () => {
    const expected: Partial<Record<string, SeccompArch>> = { x64: "SCMP_ARCH_X86_64", arm64: "SCMP_ARCH_AARCH64" };
    expect(nativeArch()).toBe(expected[process.arch]!);
    expect(syscallTable(nativeArch())).toBeDefined();
  });
});
