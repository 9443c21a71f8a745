import { describe, expect, test } from "bun:test";
import { chooseFromIndex, pulledName } from "./pull-image.ts";
import { parseRegistryReference } from "./registry/reference.ts";

const M = "application/vnd.oci.image.manifest.v1+json";
const entry = (n: string, platform: { os: string; architecture: string; variant?: string }) => ({ mediaType: M, digest: `sha256:${n.repeat(64)}`, size: 10, platform });
const idx = {
  schemaVersion: 2 as const,
  manifests: [
    entry("a", { os: "linux", architecture: "amd64" }),
    entry("b", { os: "linux", architecture: "arm", variant: "v6" }),
    entry("c", { os: "linux", architecture: "arm", variant: "v7" }),
    entry("d", { os: "unknown", architecture: "unknown" }),
  ],
};

describe("pull", () => {
  test("chooses by platform.ts's ranking, an arm/v7 machine takes v7 over v6", () => {
    expect(chooseFromIndex(idx, { os: "linux", architecture: "arm", variant: "v7" }, "x").digest).toBe(`sha256:${"c".repeat(64)}`);
    expect(chooseFromIndex(idx, { os: "linux", architecture: "arm", variant: "v6" }, "x").digest).toBe(`sha256:${"b".repeat(64)}`);
  });

  test("no match lists the image platforms, not attestations", () => {
    expect(() => chooseFromIndex(idx, { os: "linux", architecture: "s390x" }, "img")).toThrow("img: no image for platform linux/s390x; it has linux/amd64, linux/arm/v6, linux/arm/v7");
  });

  test("names are stored in docker's full form", () => {
    expect(pulledName(parseRegistryReference("alpine:3"))).toBe("docker.io/library/alpine:3");
    expect(pulledName(parseRegistryReference("docker://index.docker.io/user/app"))).toBe("docker.io/user/app:latest");
    expect(pulledName(parseRegistryReference("localhost:5000/a/b:1"))).toBe("localhost:5000/a/b:1");
  });
});
