// systemd socket activation, as runc passes it on: when LISTEN_PID names this process and
// LISTEN_FDS counts fds from 3 up, those fds go to the container's process, before any
// --preserve-fds ones, and its environment says LISTEN_FDS=N and LISTEN_PID=1 (the process
// is pid 1 in its namespace; without one the check simply fails inside, as with runc).
export function listenFds(env: NodeJS.ProcessEnv = process.env, pid = process.pid): number {
  const count = Number(env.LISTEN_FDS);
  if (env.LISTEN_PID !== String(pid) || !Number.isInteger(count) || count <= 0) return 0;
  return count;
}

export const activationEnv = (count: number) => [`LISTEN_FDS=${count}`, "LISTEN_PID=1"];
