// Run as its own process by a test that kills it mid-download: pulls one blob into a
// directory sink. Argument: JSON {ref, descriptor, dir}.
import { pullBlobs } from "../../src/image/registry/pull.ts";
import { RegistrySession } from "../../src/image/registry/session.ts";
import { DirectoryBlobSink } from "../../src/image/registry/blob-sink.ts";

const { ref, descriptor, dir } = JSON.parse(process.argv[2]!);
await pullBlobs(ref, [descriptor], new DirectoryBlobSink(dir), { session: new RegistrySession({ credentials: async () => undefined }) });
