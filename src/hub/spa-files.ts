/** One file of the built admin SPA, embedded in the binary (build.ts writes the table). */
export interface SpaFile {
  /** Path Bun.file() can read: a $bunfs path inside the binary, a disk path from source. */
  path: string;
  /** Precompressed variants, when compression saved bytes. */
  br?: string;
  gzip?: string;
  /** Strong ETag: a hash of the uncompressed content. */
  etag: string;
  /** Content-Type header value. */
  type: string;
}

/** Keyed by path under /admin/, e.g. `index.html`, `assets/index-3fa2.js`. */
export type SpaFiles = Record<string, SpaFile>;
