import { readFileSync } from 'node:fs';
import { writeFileAtomic } from '../platform/atomic-write.ts';
import { OperatorError } from '../platform/operator-error.ts';
import { describeIssue, ServiceRow, ServicesFile } from './schema.ts';

/** A row the registry could not use, and why (reported, never fatal). */
export interface SkippedRow {
  index: number;
  name?: string;
  reason: string;
}

export interface RegistrySnapshot {
  rows: ServiceRow[];
  skipped: SkippedRow[];
}

/** How often a change is redone because a module rewrote services.json meanwhile. */
const MAX_WRITE_ATTEMPTS = 5;
/** How long after writing a row the hub puts it back if a module's rewrite dropped it. */
export const REPAIR_WINDOW_MS = 30_000;

/** Paths the hub always owns (modules.md section 2). */
export const RESERVED_PATHS = [
  '/',
  '/admin',
  '/api',
  '/oauth',
  '/.well-known',
  '/health',
  '/login',
  // POST /vaults, DELETE /vaults/:name (modules/vaults-routes.ts).
  '/vaults',
];

/**
 * services.json: the registry is the only code in the hub that writes it.
 * Modules write it too (they self-register on boot), so every change is a
 * read-modify-write of the file as it is now, applied to one row, with
 * every field and row the hub does not know left exactly as it was.
 */
export class Registry {
  /** Rows the hub wrote lately, until when a module's rewrite that drops one is undone. */
  private readonly recent = new Map<string, { row: unknown; until: number }>();

  constructor(
    readonly path: string,
    private readonly hooks: {
      /** For tests: runs after the hub's copy is on disk, just before it would replace the file. */
      beforeReplace?: () => void;
      /** For tests: the clock the repair window is measured on. */
      now?: () => number;
    } = {},
  ) {}

  /** The usable rows; bad rows are skipped with a reason. A malformed file is an OperatorError. */
  read(): RegistrySnapshot {
    const doc = this.readDocument();
    const rows: ServiceRow[] = [];
    const skipped: SkippedRow[] = [];
    const ports = new Map<number, string>();
    doc.services.forEach((raw, index) => {
      const parsed = ServiceRow.safeParse(raw);
      const name =
        typeof (raw as { name?: unknown })?.name === 'string'
          ? (raw as { name: string }).name
          : undefined;
      if (!parsed.success) {
        skipped.push({ index, name, reason: `invalid row: ${describeIssue(parsed.error, raw)}` });
        return;
      }
      const row = parsed.data;
      const holder = ports.get(row.port);
      if (holder) {
        skipped.push({
          index,
          name,
          reason: `port ${row.port} is already used by "${holder}"; give one of them another port`,
        });
        return;
      }
      if (rows.some((r) => r.name === row.name)) {
        skipped.push({ index, name, reason: `a second row named "${row.name}"` });
        return;
      }
      ports.set(row.port, row.name);
      rows.push(row);
    });
    return { rows, skipped };
  }

  /** Inserts or replaces the row named `row.name`, keeping fields of the old row the new one does not set. */
  upsert(row: ServiceRow): void {
    let written: unknown = row;
    this.change((services) => {
      const i = services.findIndex((r) => nameOf(r) === row.name);
      if (i === -1) services.push(row);
      else services[i] = { ...(services[i] as object), ...row };
      written = services[i === -1 ? services.length - 1 : i];
    });
    this.recent.set(row.name, { row: written, until: this.now() + REPAIR_WINDOW_MS });
  }

  /**
   * Puts back rows the hub wrote in the last few seconds that are gone from
   * the file, and returns their names. A module that rewrites services.json
   * from a copy it read just before the hub's write (at boot, while another
   * module installs) drops the hub's row with it; modules only ever edit
   * their own rows, so a row gone that soon was lost, not removed.
   */
  restoreLost(): string[] {
    const now = this.now();
    for (const [name, entry] of this.recent) if (entry.until <= now) this.recent.delete(name);
    if (this.recent.size === 0) return [];
    const present = new Set(this.readDocument().services.map(nameOf));
    const lost = [...this.recent].filter(([name]) => !present.has(name));
    if (lost.length === 0) return [];
    this.change((services) => {
      for (const [name, { row }] of lost) {
        if (!services.some((r) => nameOf(r) === name)) services.push(row);
      }
    });
    return lost.map(([name]) => name);
  }

  /** Removes the row named `name`; true if there was one. */
  remove(name: string): boolean {
    this.recent.delete(name);
    let removed = false;
    this.change((services) => {
      const i = services.findIndex((r) => nameOf(r) === name);
      if (i !== -1) {
        services.splice(i, 1);
        removed = true;
      }
    });
    return removed;
  }

  /**
   * Applies `mutate` to the file as it is and writes it back. A module that
   * rewrites the file while the hub writes and fsyncs its copy (modules
   * self-register at boot, often while another module installs) would lose
   * its change to the hub's rename: the hub then starts over from what the
   * module wrote. `mutate` may run more than once.
   */
  private change(mutate: (services: unknown[]) => void): void {
    for (let attempt = 1; ; attempt++) {
      const text = this.readText();
      const doc = this.parse(text);
      mutate(doc.services);
      const written = writeFileAtomic(this.path, `${JSON.stringify(doc, null, 2)}\n`, {
        // A writer that never stops gets no more chances than this; the hub's change still lands.
        stillCurrent: () => {
          this.hooks.beforeReplace?.();
          return attempt >= MAX_WRITE_ATTEMPTS || this.readText() === text;
        },
      });
      if (written) return;
    }
  }

  private now(): number {
    return this.hooks.now?.() ?? performance.now();
  }

  /** The file's text, or null when there is none. */
  private readText(): string | null {
    try {
      return readFileSync(this.path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw error;
    }
  }

  private readDocument(): { services: unknown[] } & Record<string, unknown> {
    return this.parse(this.readText());
  }

  private parse(text: string | null): { services: unknown[] } & Record<string, unknown> {
    if (text === null) return { services: [] };
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (error) {
      throw new OperatorError(
        `${this.path} is not valid JSON (${(error as Error).message}).`,
        'Fix or remove it; the hub will not overwrite it while it is broken, so nothing in it is lost.',
      );
    }
    const doc = ServicesFile.safeParse(json);
    if (!doc.success) {
      throw new OperatorError(
        `${this.path} has no "services" list (${describeIssue(doc.error, json)}).`,
        'It must look like {"services": [...]}. Fix it; the hub will not overwrite it meanwhile.',
      );
    }
    return doc.data as { services: unknown[] } & Record<string, unknown>;
  }
}

function nameOf(row: unknown): string | undefined {
  return (row as { name?: string } | null)?.name;
}

/** Why `paths` cannot be mounted next to `rows` (reserved or taken), or null. */
export function pathConflict(
  paths: string[],
  rows: ServiceRow[],
  ignoreName?: string,
): string | null {
  for (const path of paths) {
    const normalized = path.replace(/\/+$/, '') || '/';
    const reserved = RESERVED_PATHS.find(
      (r) => normalized === r || (r !== '/' && normalized.startsWith(`${r}/`)),
    );
    if (reserved) return `${path} is reserved by the hub (${reserved})`;
    for (const row of rows) {
      if (row.name === ignoreName) continue;
      if (row.paths.some((p) => (p.replace(/\/+$/, '') || '/') === normalized)) {
        return `${path} is already mounted by "${row.name}"`;
      }
    }
  }
  return null;
}
