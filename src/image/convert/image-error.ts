// Errors about an image config or the rootfs it is converted against: the message names the
// image field (Config.User, Config.Volumes["x"], …) or the rootfs file at fault.
import * as v from "valibot";
import { BuncError } from "../../errors.ts";
import { show } from "../../spec/validate-config.ts";

export const imageError = (field: string, why: string) => new BuncError("config", `image config: ${field}: ${why}`);

/** Parse `input` with `schema`; the first issue becomes an image error naming its field. */
export function checkImageSchema<S extends v.GenericSchema>(schema: S, input: unknown): v.InferOutput<S> {
  if (typeof input !== "object" || input === null || Array.isArray(input)) {
    throw imageError("top level", `expected a JSON object, got ${show(input)}`);
  }
  const result = v.safeParse(schema, input, { abortEarly: true });
  if (result.success) return result.output;
  const issue = result.issues[0];
  const field = (issue.path ?? []).reduce(
    (at: string, step) => (typeof step.key === "number" ? `${at}[${step.key}]` : at ? `${at}[${JSON.stringify(step.key)}]` : String(step.key)),
    "",
  );
  const why = issue.input === undefined ? "required but missing" : `expected ${issue.expected}, got ${show(issue.input)}`;
  throw imageError(field || "top level", why);
}
