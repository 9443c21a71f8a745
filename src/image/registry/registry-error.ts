// Errors of the registry client: a bad reference, a refused or failed request, a document or
// blob that is not what it claims. The message names the registry, URL, digest or field.
import { BuncError } from "../../errors.ts";

export const registryError = (message: string) => new BuncError("registry", message);

/** Shorten untrusted text (a server's error body, a hostile header) before it goes in a message. */
export function shown(text: string, max = 200): string {
  return JSON.stringify(text.length > max ? `${text.slice(0, max)}…` : text);
}
