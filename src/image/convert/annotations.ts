// The annotations of image-spec conversion.md: the implicit ones taken from image fields,
// then Config.Labels, which win any conflict. Label values are passed on unchanged.
import type { RunnableImageConfig as ImageConfig } from "../../spec/image-config.ts";

const PREFIX = "org.opencontainers.image.";

export function imageAnnotations(image: ImageConfig): Record<string, string> {
  const implicit: Record<string, string | null | undefined> = {
    os: image.os,
    architecture: image.architecture,
    variant: image.variant,
    "os.version": image["os.version"],
    "os.features": image["os.features"]?.join(","),
    author: image.author,
    created: image.created,
    stopSignal: image.config?.StopSignal,
    exposedPorts: image.config?.ExposedPorts ? Object.keys(image.config.ExposedPorts).join(",") : undefined,
  };
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(implicit)) if (value) out[PREFIX + key] = value;
  return { ...out, ...(image.config?.Labels ?? {}) };
}
