// Parts of the config that bunc does not apply yet. A container must never run with less
// confinement (or fewer effects) than its config asks for, so each is refused by name.
import { BuncError } from "../errors.ts";
import type { Spec } from "../spec/runtime-config.ts";

const present = (v: unknown) =>
  v !== undefined && v !== null && v !== "" && !(Array.isArray(v) && v.length === 0) &&
  !(typeof v === "object" && !Array.isArray(v) && Object.keys(v as object).length === 0);

export function refuseUnsupported(config: Spec, consoleSocket?: string): void {
  const checks: [string, unknown, string][] = [
    ["process.apparmorProfile", config.process?.apparmorProfile, "AppArmor is not supported yet"],
    ["process.selinuxLabel", config.process?.selinuxLabel, "SELinux labels are not supported yet"],
    ["linux.mountLabel", config.linux?.mountLabel, "SELinux labels are not supported yet"],
    ["linux.intelRdt", config.linux?.intelRdt, "Intel RDT is not supported yet"],
    ["linux.personality", config.linux?.personality, "personality is not supported yet"],
    ["linux.memoryPolicy", (config.linux as Record<string, unknown> | undefined)?.memoryPolicy, "memory policies are not supported yet"],
    ["linux.netDevices", (config.linux as Record<string, unknown> | undefined)?.netDevices, "netDevices are not supported yet"],
    ["process.scheduler", config.process?.scheduler, "scheduler settings are not supported yet"],
    ["process.ioPriority", config.process?.ioPriority, "ioPriority is not supported yet"],
    ["process.execCPUAffinity", config.process?.execCPUAffinity, "execCPUAffinity is not supported yet"],
    ["linux.timeOffsets", config.linux?.timeOffsets, "time namespace offsets are not supported yet"],
  ];
  // Only a foreground run stays to attach the pty to the caller's terminal (it passes a
  // socket of its own); otherwise the master has to go somewhere.
  if (config.process?.terminal && !consoleSocket) {
    throw new BuncError("usage", "process.terminal is true but no --console-socket was given: without one, only a foreground run (not create, not run --detach) can attach the terminal");
  }
  if (!config.process?.terminal && consoleSocket) {
    throw new BuncError("usage", "--console-socket: the config asks for no terminal (process.terminal is false)");
  }
  for (const [field, value, why] of checks) {
    if (present(value)) throw new BuncError("unsupported", `${field}: ${why}`);
  }
  (config.mounts ?? []).forEach((m, i) => {
    if (present(m.uidMappings) || present(m.gidMappings)) {
      throw new BuncError("unsupported", `mounts[${i}]: idmapped mounts are not supported yet`);
    }
  });
}
