import { expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { chainId } from "./chain-id.ts";

const a = "sha256:" + "a".repeat(64);
const b = "sha256:" + "b".repeat(64);

test("one layer: the chain ID is its diff ID", () => {
  expect(chainId([a])).toBe(a);
});

test("two layers: sha256 of the parent chain ID, a space and the diff ID", () => {
  expect(chainId([a, b])).toBe("sha256:" + createHash("sha256").update(`${a} ${b}`).digest("hex"));
  expect(chainId([a, b])).not.toBe(chainId([b, a]));
});
