// What `create` needs only once the init is spawned, loaded then: while these modules load,
// the init boots on the other core.
export { applyResources, createCgroup, destroyCgroup, planContainerCgroup } from "./container-cgroup.ts";
export { addProcess } from "../linux/cgroups/cgroup.ts";
export { oomKillCount } from "../linux/cgroups/oom.ts";
export { compiledSeccomp } from "./seccomp-cache.ts";
export { hookState, runHooks, runHooksWarning } from "./hooks.ts";
export { writeIdMaps } from "../linux/user-namespace.ts";
export { namespaceOf } from "./container.ts";
export { unmountRootfs } from "./host-mounts.ts";
