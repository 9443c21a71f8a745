import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { endWarmUp, warmUpMigration } from "./migration-warmup.ts";

test("the warm-up migration leaves the caller in the cgroups it was in", async () => {
  const before = readFileSync("/proc/self/cgroup", "utf8");
  warmUpMigration();
  warmUpMigration(); // a second call starts nothing
  await Bun.sleep(100); // longer than a grace period here
  endWarmUp();
  expect(readFileSync("/proc/self/cgroup", "utf8")).toBe(before);
});
