import { describe, expect, test } from "bun:test";
import { formatRegistryReference, parseRegistryReference } from "./reference.ts";

const D = `sha256:${"a".repeat(64)}`;

describe("parseRegistryReference", () => {
  test.each([
    ["alpine", { registry: "docker.io", apiHost: "registry-1.docker.io", repository: "library/alpine", tag: "latest" }],
    ["docker://alpine:3.19", { registry: "docker.io", apiHost: "registry-1.docker.io", repository: "library/alpine", tag: "3.19" }],
    ["user/app", { registry: "docker.io", apiHost: "registry-1.docker.io", repository: "user/app", tag: "latest" }],
    ["docker.io/library/busybox:1", { registry: "docker.io", apiHost: "registry-1.docker.io", repository: "library/busybox", tag: "1" }],
    ["index.docker.io/busybox", { registry: "docker.io", apiHost: "registry-1.docker.io", repository: "library/busybox", tag: "latest" }],
    ["localhost/app", { registry: "localhost", apiHost: "localhost", repository: "app", tag: "latest" }],
    ["localhost:5000/a/b/c:v1.0", { registry: "localhost:5000", apiHost: "localhost:5000", repository: "a/b/c", tag: "v1.0" }],
    ["127.0.0.1:5000/repo@" + D, { registry: "127.0.0.1:5000", apiHost: "127.0.0.1:5000", repository: "repo", digest: D }],
    ["quay.io/org/app:tag@" + D, { registry: "quay.io", apiHost: "quay.io", repository: "org/app", tag: "tag", digest: D }],
    ["[::1]:5000/repo:t", { registry: "[::1]:5000", apiHost: "[::1]:5000", repository: "repo", tag: "t" }],
    ["Registry.Example/repo", { registry: "Registry.Example", apiHost: "Registry.Example", repository: "repo", tag: "latest" }],
    ["a__b/c-d/e---f.g_h", { registry: "docker.io", apiHost: "registry-1.docker.io", repository: "a__b/c-d/e---f.g_h", tag: "latest" }],
  ])("%s", (input, expected) => {
    expect(parseRegistryReference(input)).toEqual(expected);
  });

  test.each([
    ["", "name: empty"],
    ["docker://", "name: empty"],
    ["Alpine", 'repository component "Alpine": must be lowercase'],
    ["host:5000/Repo", 'repository component "Repo": must be lowercase'],
    ["a//b", "empty path component"],
    ["a/-b", 'repository component "-b"'],
    ["a/b_", 'repository component "b_"'],
    ["a:-bad", 'tag "-bad"'],
    ["a:" + "x".repeat(129), "tag"],
    ["a:t@sha256:abc", "sha256 needs 64 lowercase hex digits"],
    ["a@sha256:" + "A".repeat(64), "lowercase hex"],
    ["a@md5:" + "a".repeat(32), 'digest algorithm "md5" is not supported'],
    ["a@sha256:../../etc", "is not a digest"],
    ["host:99999/a", 'registry port "99999"'],
    ["host:x/a:b", 'registry port "x"'],
    ["-bad.host/a", 'registry "-bad.host": not a host name'],
    ["[::1/a", "unclosed ["],
    ["x/" + "a".repeat(260), "longer than 255"],
  ])("refuses %p", (input, part) => {
    expect(() => parseRegistryReference(input)).toThrow(part);
    expect(() => parseRegistryReference(input)).toThrow(`invalid image reference ${JSON.stringify(input)}`);
  });

  test("formats back to the full name", () => {
    expect(formatRegistryReference(parseRegistryReference("alpine"))).toBe("docker.io/library/alpine:latest");
    expect(formatRegistryReference(parseRegistryReference(`h:1/r@${D}`))).toBe(`h:1/r@${D}`);
  });
});
