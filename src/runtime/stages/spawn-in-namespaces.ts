// The CLI's way into namespaces without a single-threaded stage: its main thread enters the
// namespaces a multi-threaded process may enter (pid and time apply to children only; ipc,
// uts, net and cgroup move just the calling thread), spawns, and goes back to its own.
import { O } from "../../../ffi/constants.ts";
import { closeFd, openRaw } from "../../../ffi/io.ts";
import { linuxSys } from "../../../ffi/sys.ts";
import { NAMESPACE_FLAGS, NAMESPACE_PROC_NAMES, type NamespaceType } from "../../linux/namespaces.ts";

/**
 * A new network namespace, held by the returned fd: made by the calling thread, which goes
 * back to its own. The kernel takes ~1 ms to make one; the CLI does it while the init boots,
 * and the init joins it.
 */
export function newNetworkNamespace(): number {
  const path = `/proc/thread-self/ns/${NAMESPACE_PROC_NAMES.network}`;
  const own = openRaw(path, O.RDONLY);
  try {
    linuxSys.unshare(NAMESPACE_FLAGS.network);
    try {
      return openRaw(path, O.RDONLY);
    } finally {
      linuxSys.setns(own, NAMESPACE_FLAGS.network, "back to the runtime's network namespace");
    }
  } finally {
    closeFd(own);
  }
}

/** Run `enter`, then `spawn`; the calling thread is back in its namespaces of `kinds` after. */
export function spawnInNamespaces<T>(kinds: NamespaceType[], enter: () => void, spawn: () => T): T {
  if (!kinds.length) return spawn();
  const saved = kinds.map((t) => openRaw(`/proc/self/ns/${NAMESPACE_PROC_NAMES[t]}`, O.RDONLY));
  try {
    enter();
    return spawn();
  } finally {
    // Back to each saved namespace, entered or not: joining the one we are in changes nothing.
    kinds.forEach((t, i) => {
      linuxSys.setns(saved[i]!, NAMESPACE_FLAGS[t], `back to the runtime's ${t} namespace`);
      closeFd(saved[i]!);
    });
  }
}
