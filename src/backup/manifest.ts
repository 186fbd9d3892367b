import { z } from 'zod';

/** The archive's own files; everything of the home lives under `home/`. */
export const MANIFEST_FILE = 'manifest.json';
/** SHA-256 of manifest.json, so an edited manifest is caught like an edited file. */
export const MANIFEST_SUM_FILE = 'manifest.sha256';
export const HOME_PREFIX = 'home/';
export const FORMAT = 'parachute-export';
export const FORMAT_VERSION = 1;

// A path inside the home: relative, forward slashes, no empty, `.` or `..` segment.
const RelPath = z
  .string()
  .min(1)
  .refine(
    (p) =>
      !p.startsWith('/') &&
      !p.includes('\\') &&
      p.split('/').every((s) => s !== '' && s !== '.' && s !== '..'),
    'must be a plain relative path inside the home',
  );

export const ManifestFile = z.object({
  path: RelPath,
  size: z.number().int().nonnegative(),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  /** Permission bits (0600 for .env files and hub.db). */
  mode: z.number().int().min(0).max(0o777),
  /** `sqlite`: copied with VACUUM INTO, not byte for byte. */
  kind: z.enum(['file', 'sqlite']),
  /** sqlite: rows per table at the snapshot's instant (absent in older exports). */
  rows: z.record(z.string(), z.number().int().nonnegative()).optional(),
});
export type ManifestFile = z.infer<typeof ManifestFile>;

export const ManifestLink = z.object({ path: RelPath, target: z.string().min(1) });
export type ManifestLink = z.infer<typeof ManifestLink>;

export const Manifest = z.object({
  format: z.literal(FORMAT),
  format_version: z.literal(FORMAT_VERSION),
  hub_version: z.string(),
  hub_commit: z.string(),
  created_at: z.string(),
  /** The PARACHUTE_HOME it came from: paths recorded under it are moved to the new home. */
  home: z.string(),
  files: z.array(ManifestFile),
  symlinks: z.array(ManifestLink),
  /**
   * The scheduled backup run this archive is, and its name in the target: its row in the archive's
   * hub.db still says running (the snapshot was taken mid-run), and a hub
   * restored from it records it as the good backup it proved to be.
   */
  backup: z.object({ run: z.number().int().positive(), object: z.string().min(1) }).optional(),
});
export type Manifest = z.infer<typeof Manifest>;

/** Hex SHA-256 of some bytes. */
export function sha256(bytes: Uint8Array | string): string {
  return new Bun.CryptoHasher('sha256').update(bytes).digest('hex');
}

/** Hex SHA-256 of a file, streamed. */
export async function fileSha256(path: string): Promise<string> {
  const hash = new Bun.CryptoHasher('sha256');
  for await (const chunk of Bun.file(path).stream()) hash.update(chunk);
  return hash.digest('hex');
}
