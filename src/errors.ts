// One error type for all of bunc: a stable code, a message that names the file, field or
// value at fault, and the errno when the kernel said no.
export type ErrorCode =
  | "usage" // bad command line
  | "config" // bundle config.json invalid
  | "state" // operation not allowed in the container's current status
  | "not-found" // no such container
  | "exists" // container id taken
  | "registry" // a registry reference is invalid, or a registry refused, failed or sent something invalid
  | "system" // a system call failed
  | "stage" // a stage process failed or went silent
  | "exec-not-found"
  | "exec-denied"
  | "image" // an image, its reference, a layout or an archive is invalid or missing
  | "layer" // an image layer is invalid, hostile, or could not be applied
  | "unsupported"; // config asks for something bunc does not do yet

export class BuncError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly errno?: number,
  ) {
    super(message);
    this.name = "BuncError";
  }
}

export const configError = (field: string, why: string) => new BuncError("config", `config.json: ${field}: ${why}`);

export function messageOf(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}
