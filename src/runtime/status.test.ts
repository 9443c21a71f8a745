import { expect, test } from "bun:test";
import { canDelete, canKill, canStart, statusFrom } from "./status.ts";
import { isAlive, readProcStat } from "./proc-stat.ts";

test("status follows the facts", () => {
  expect(statusFrom({ alive: false, fifoPresent: true, frozen: false })).toBe("stopped");
  expect(statusFrom({ alive: false, fifoPresent: false, frozen: true })).toBe("stopped");
  expect(statusFrom({ alive: true, fifoPresent: true, frozen: false })).toBe("created");
  expect(statusFrom({ alive: true, fifoPresent: false, frozen: false })).toBe("running");
  expect(statusFrom({ alive: true, fifoPresent: false, frozen: true })).toBe("paused");
});

test("allowed operations per status", () => {
  expect(canStart("created")).toBe(true);
  expect(canStart("running")).toBe(false);
  expect(canStart("stopped")).toBe(false);
  expect(canKill("stopped")).toBe(false);
  expect(canKill("running")).toBe(true);
  expect(canDelete("running")).toBe(false);
  expect(canDelete("created")).toBe(false);
  expect(canDelete("stopped")).toBe(true);
});

test("a process is alive only with the start time it was recorded with", () => {
  const stat = readProcStat(process.pid)!;
  expect(stat.state).toMatch(/[RS]/);
  expect(isAlive(process.pid, stat.startTime)).toBe(true);
  expect(isAlive(process.pid, "1")).toBe(false);
  expect(isAlive(0, stat.startTime)).toBe(false);
  expect(isAlive(2 ** 22 + 7, stat.startTime)).toBe(false);
});
