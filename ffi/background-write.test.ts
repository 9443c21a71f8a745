import { expect, test } from "bun:test";
import { mkdtempSync, openSync, readFileSync, rmSync, closeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { writeInBackground, type BackgroundWrite } from "./background-write.ts";

async function settle(w: BackgroundWrite): Promise<number> {
  for (let i = 0; i < 500; i++) {
    const r = w.result();
    if (r !== null) return r;
    await Bun.sleep(2);
  }
  throw new Error("the background write never finished");
}

test("writes the bytes at offset 0 and reports the count", async () => {
  const dir = mkdtempSync(join(tmpdir(), "bunc-bgw-"));
  try {
    const file = join(dir, "f");
    const fd = openSync(file, "w");
    try {
      expect(await settle(writeInBackground(fd, "12345"))).toBe(5);
    } finally {
      closeSync(fd);
    }
    expect(readFileSync(file, "utf8")).toBe("12345");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("a write that fails reports its errno as a negative", async () => {
  const EBADF = 9;
  expect(await settle(writeInBackground(1_000_000, "x"))).toBe(-EBADF);
});
