import { afterAll, describe, expect, test } from "bun:test";
import { writeSync } from "node:fs";
import { closeFd, socketPair } from "../../../ffi/io.ts";
import { encode, expect as expectMessage, MAX_MESSAGE, receive, send } from "./channel.ts";

const [a, b] = socketPair();
afterAll(() => {
  closeFd(a);
  closeFd(b);
});

describe("stage channel", () => {
  test("a message survives the round trip", () => {
    send(a, { type: "ready", n: 1, list: ["x"] });
    expect(receive(b, "test", 1000)).toEqual({ type: "ready", n: 1, list: ["x"] });
  });

  test("a stage error becomes a thrown error with its message and code", () => {
    send(a, { type: "error", message: "mount /proc: EPERM", code: "system", errno: 1 });
    expect(() => expectMessage(b, "ready", "test", 1000)).toThrow("mount /proc: EPERM");
  });

  test("an oversized length is refused before any allocation", () => {
    const header = Buffer.alloc(4);
    header.writeUInt32BE(MAX_MESSAGE + 1, 0);
    writeSync(a, header);
    expect(() => receive(b, "test", 1000)).toThrow(/exceeds the limit/);
  });

  test("a wait with a timeout ends", () => {
    expect(() => receive(b, "nothing", 20)).toThrow(/timed out waiting for nothing/);
  });

  test("frames are length-prefixed JSON", () => {
    const frame = Buffer.from(encode({ type: "x" }));
    expect(frame.readUInt32BE(0)).toBe(frame.length - 4);
    expect(JSON.parse(frame.subarray(4).toString())).toEqual({ type: "x" });
  });
});
