// Linux signal numbers by name (without the SIG prefix).
// The generic Linux numbering, shared by x86-64 and arm64 (mips, sparc and alpha differ,
// but Bun does not run there).
export const SIGNALS: Readonly<Record<string, number>> = Object.freeze({
  HUP: 1,
  INT: 2,
  QUIT: 3,
  ILL: 4,
  TRAP: 5,
  ABRT: 6,
  IOT: 6,
  BUS: 7,
  FPE: 8,
  KILL: 9,
  USR1: 10,
  SEGV: 11,
  USR2: 12,
  PIPE: 13,
  ALRM: 14,
  TERM: 15,
  STKFLT: 16,
  CHLD: 17,
  CLD: 17,
  CONT: 18,
  STOP: 19,
  TSTP: 20,
  TTIN: 21,
  TTOU: 22,
  URG: 23,
  XCPU: 24,
  XFSZ: 25,
  VTALRM: 26,
  PROF: 27,
  WINCH: 28,
  IO: 29,
  POLL: 29,
  PWR: 30,
  SYS: 31,
});

// The C library keeps the first two real-time signals (32, 33) for its own threads, so the
// usable range, and what RTMIN means to users, starts at 34.
export const SIGRTMIN = 34;
export const SIGRTMAX = 64;
