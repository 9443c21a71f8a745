// Where an image's blobs come from: a layout directory (oci:DIR, and bunc's own store), a
// tar of a layout (oci-archive:), or a `docker save` archive (docker-archive:, converted to
// an OCI manifest on the fly). resolve.ts walks any of them the same way.
import type { Descriptor } from "../spec/image-manifest.ts";

export interface RootSelection {
  /** Descriptors that answer to the reference: one image, or one per platform. */
  candidates: Descriptor[];
  /** The name the image carries in the source, when it has one. */
  name?: string;
}

export interface BlobSource {
  /** How messages name the source: "oci:/x", "oci-archive:/y.tar". */
  readonly label: string;
  /** The descriptors `ref` selects (every image when ref is undefined and there is one). */
  select(ref: string | undefined): Promise<RootSelection>;
  /** A blob read whole, at most `cap` bytes, checked against its digest and size. */
  readBlob(d: Descriptor, cap: number, what: string): Promise<Uint8Array>;
  /** A blob's bytes as stored, not yet checked against its digest. */
  openBlob(d: Descriptor): ReadableStream<Uint8Array>;
}

/** A ReadableStream over an async iterator, closing the iterator when the reader cancels. */
export function streamFrom(make: () => AsyncIterator<Uint8Array>): ReadableStream<Uint8Array> {
  let it: AsyncIterator<Uint8Array> | undefined;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      it ??= make();
      try {
        const r = await it.next();
        if (r.done) controller.close();
        else controller.enqueue(r.value);
      } catch (err) {
        controller.error(err);
      }
    },
    async cancel() {
      await it?.return?.();
    },
  });
}
