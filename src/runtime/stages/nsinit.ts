// The nsinit stage, used only when the config has a user namespace: a single-threaded Bun
// may unshare(CLONE_NEWUSER) or setns into a user namespace, the multi-threaded CLI may not.
// It enters the user namespace, lets the CLI write the id maps, becomes root there, enters
// the pid (and time) namespace for its children, spawns the init and reports its pid.
import { childExitCode } from "../child-exit.ts";
import { AT_FDCWD, O, PR } from "../../../ffi/constants.ts";
import { linuxSys, type Sys } from "../../../ffi/sys.ts";
import { enterNamespaces, namespaceSet, openNamespace, type NamespaceType } from "../../linux/namespaces.ts";
import { expect, receive, send } from "./channel.ts";
import { errorMessage } from "./init.ts";
import { SPAWNER_NAMESPACES, type NsinitPlan } from "./plans.ts";
import { assertSingleThreaded, stageCommand, stageEnv, STAGE_FD_VAR } from "./stage-env.ts";

export async function runNsinit(sys: Sys = linuxSys): Promise<never> {
  const stageFd = Number(process.env[STAGE_FD_VAR] ?? 3);
  let relay = false;
  try {
    assertSingleThreaded("nsinit");
    // Rootless, the CLI writes our maps as a user, and /proc/<pid>/*_map of a non-dumpable
    // process belong to root: stay dumpable (to our own user only) until they are written.
    const rootless = process.geteuid!() !== 0;
    if (!rootless) sys.prctl(PR.SET_DUMPABLE, 0);
    const plan = receive(stageFd, "nsinit plan") as unknown as NsinitPlan;
    relay = plan.relay;
    const open = (p: string) => sys.openat(AT_FDCWD, p, O.RDONLY | O.CLOEXEC);
    const userSet = namespaceSet(plan.namespaces, ["user"]);
    enterNamespaces(sys, userSet, userSet.join.map((e) => openNamespace(sys, e, "linux.namespaces (user).path", open)));
    send(stageFd, { type: "userns-ready" });
    expect(stageFd, "maps-written", "the CLI to write the id maps");
    if (rootless) sys.prctl(PR.SET_DUMPABLE, 0);
    // Root inside the namespace: gid first, while we still may change it.
    sys.setresgid(0);
    sys.setresuid(0);
    const others = namespaceSet(plan.namespaces, SPAWNER_NAMESPACES.filter((t) => t !== "user") as NamespaceType[]);
    enterNamespaces(sys, others, others.join.map((e) => openNamespace(sys, e, `linux.namespaces (${e.type}).path`, open)));
    const init = Bun.spawn({
      cmd: stageCommand(stageFd + 1),
      env: stageEnv("init", stageFd),
      stdio: ["inherit", "inherit", "inherit", ...Array.from({ length: plan.preserveFds + 2 }, (_, i) => 3 + i)] as never,
      cwd: "/",
    });
    send(stageFd, { type: "init-pid", pid: init.pid });
    if (!relay) {
      init.unref();
      process.exit(0);
    }
    await init.exited;
    process.exit(childExitCode(init, 1));
  } catch (err) {
    try {
      send(stageFd, errorMessage(err));
    } catch {}
    process.exit(1);
  }
}
