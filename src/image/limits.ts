// Bounds on what bunc reads from an image before it has checked it. A manifest, an index, a
// config, a layout's index.json or oci-layout, or a docker archive's manifest.json larger
// than this is refused unread (CVE-2023-25153: unbounded reads of imported documents).
// Real ones are a few KiB; 4 MiB is what containerd and containers/image allow.
export const MAX_DOCUMENT_BYTES = 4 * 1024 * 1024;

/** How deep an index may nest indexes before bunc stops following it. */
export const MAX_INDEX_DEPTH = 4;

/** How long an import or gc waits for another one holding the store's lock. */
export const STORE_LOCK_TIMEOUT_MS = 120_000;

/** Members an image archive may have: a tar of countless empty entries is refused. */
export const MAX_ARCHIVE_ENTRIES = 100_000;
