import { expect, test } from "bun:test";
import { activationEnv, listenFds } from "./socket-activation.ts";

test("LISTEN_FDS counts only when LISTEN_PID is this process", () => {
  expect(listenFds({ LISTEN_FDS: "2", LISTEN_PID: "42" }, 42)).toBe(2);
  expect(listenFds({ LISTEN_FDS: "2", LISTEN_PID: "41" }, 42)).toBe(0);
  expect(listenFds({ LISTEN_FDS: "x", LISTEN_PID: "42" }, 42)).toBe(0);
  expect(listenFds({}, 42)).toBe(0);
  expect(activationEnv(2)).toEqual(["LISTEN_FDS=2", "LISTEN_PID=1"]);
});
