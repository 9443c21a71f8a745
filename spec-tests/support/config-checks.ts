// Checks shared by the container-config tests (devices, masked and read-only paths,
// propagation, sysctl, capabilities and rlimits).
import { expect } from "bun:test";
import { readdirSync } from "node:fs";
import type { TestRuntime } from "./bunc.ts";
import { mountsUnder } from "./bundle.ts";

/** After a refused command: this runtime's state dir holds no container, none of its
 *  processes is alive and nothing is mounted under its dirs. Unlike
 *  TestRuntime.assertNoLeftovers it looks at this test's own dirs only, so containers of
 *  other test runs on the machine do not count. */
export function expectNothingLeft(rt: TestRuntime): void {
  rt.recordPids();
  const state = readdirSync(rt.root).filter((name) => name !== "@cache");
  expect({ state, live: rt.livePids(), mounts: mountsUnder(rt.base) }).toEqual({ state: [], live: [], mounts: [] });
}

/** A config for a user namespace mapping container 0..65535 to host 100000..165535. */
export function withUserns(c: { linux?: Record<string, unknown> & { namespaces?: { type: string }[] } }): void {
  c.linux!.namespaces!.push({ type: "user" });
  c.linux!.uidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
  c.linux!.gidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
}
