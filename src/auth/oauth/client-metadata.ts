// Client ID Metadata Documents (auth.md section 4; MCP authorization,
// revision 2026-07-28; draft-ietf-oauth-client-id-metadata-document): a
// client whose client_id is an https URL publishes its registration there,
// and the hub reads it at authorize time instead of asking it to register.

import type { Database } from 'bun:sqlite';
import {
  fetchPublic,
  PublicFetchError,
  type PublicFetchLimits,
} from '../../platform/public-fetch.ts';
import { addressKey, SlidingWindow } from '../rate-limit.ts';
import { type Client, clients, parseRegistration } from './clients.ts';

/** Documents are small; a larger one is not a client's registration (the draft suggests 5 KB). */
export const MAX_DOCUMENT_BYTES = 5 * 1024;
const FETCH_TIMEOUT_MS = 5_000;
/** Without caching headers a document is re-read after this long... */
const DEFAULT_TTL_MS = 5 * 60 * 1000;
/** ...and never kept longer than this, whatever the headers say. */
const MAX_TTL_MS = 24 * 3600 * 1000;
/** A failure is remembered briefly, so a broken client does not make the hub fetch on every click. */
const FAILURE_TTL_MS = 10 * 1000;
const MAX_CACHED = 500;
/** Fetches one address may cause (cache misses only): the hub must not become anyone's crawler. */
const FETCHES_PER_ADDRESS = 30;
const FETCH_WINDOW_MS = 10 * 60 * 1000;

/**
 * True when `clientId` claims to be a metadata document URL rather than a
 * registered id (registered ids never contain `://`); an http one is then
 * refused with a reason instead of "unknown client".
 */
export function isMetadataDocumentId(clientId: string): boolean {
  return /^https?:\/\//i.test(clientId);
}

/** Why `clientId` cannot be a metadata document URL (draft section 3), or null. */
export function metadataDocumentIdProblem(clientId: string): string | null {
  const url = URL.parse(clientId);
  if (url?.protocol !== 'https:') return `client_id ${clientId} is not an https URL`;
  if (url.hash || clientId.includes('#')) return 'client_id must not contain a fragment';
  if (url.username || url.password) return 'client_id must not contain credentials';
  if (url.pathname === '/') return 'client_id must have a path (it names a document)';
  if (/\/\.\.?(\/|$)/.test(clientId.replace(/[?].*$/, ''))) {
    return 'client_id must not contain . or .. path segments';
  }
  if (clientId.length > 2048) return 'client_id is longer than 2048 characters';
  return null;
}

type Stored = Record<string, unknown> & { redirect_uris: string[] };
type Cached = { expiresAt: number } & ({ client: Client } | { problem: string });

/**
 * Reads, checks and caches metadata documents, and keeps each client as a
 * row of oauth_clients (client_id = the URL) so approval, grants and the
 * token endpoint treat it like a registered public client.
 */
export class ClientMetadataDocuments {
  private readonly cache = new Map<string, Cached>();
  private readonly fetches = new SlidingWindow(FETCH_WINDOW_MS);

  constructor(
    private readonly db: Database,
    private readonly limits: Pick<PublicFetchLimits, 'privateHosts'> &
      Partial<PublicFetchLimits> = { privateHosts: new Set() },
  ) {}

  /** The client `clientId` names, fetched when not cached; or why it cannot be used. */
  async resolve(clientId: string, address: string): Promise<Client | { problem: string }> {
    const invalid = metadataDocumentIdProblem(clientId);
    if (invalid) return { problem: invalid };
    const cached = this.cache.get(clientId);
    if (cached && cached.expiresAt > Date.now()) {
      if ('problem' in cached) return { problem: cached.problem };
      // The row may have been deleted by an admin meanwhile: it is written again.
      return (
        clients.byId(this.db, clientId) ?? this.store(clientId, cached.client.metadata as Stored)
      );
    }
    const key = addressKey(address);
    const wait = this.fetches.wait(key, FETCHES_PER_ADDRESS);
    if (wait > 0) {
      return { problem: `Too many app descriptions fetched for this address; retry in ${wait} s.` };
    }
    this.fetches.record(key);
    const outcome = await this.fetchDocument(clientId);
    this.remember(clientId, outcome);
    return 'problem' in outcome ? { problem: outcome.problem } : outcome.client;
  }

  private async fetchDocument(clientId: string): Promise<Cached> {
    const now = Date.now();
    const failed = (problem: string): Cached => ({ problem, expiresAt: now + FAILURE_TTL_MS });
    let res: Awaited<ReturnType<typeof fetchPublic>>;
    try {
      res = await fetchPublic(clientId, {
        maxBytes: this.limits.maxBytes ?? MAX_DOCUMENT_BYTES,
        timeoutMs: this.limits.timeoutMs ?? FETCH_TIMEOUT_MS,
        privateHosts: this.limits.privateHosts,
      });
    } catch (error) {
      if (error instanceof PublicFetchError) return failed(error.message);
      throw error;
    }
    if (res.status !== 200) return failed(`${clientId} answered HTTP ${res.status}`);
    let doc: unknown;
    try {
      doc = JSON.parse(res.body);
    } catch {
      return failed(`${clientId} is not a JSON document`);
    }
    if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) {
      return failed(`${clientId} is not a JSON object`);
    }
    const fields = doc as Record<string, unknown>;
    // The document must name itself: otherwise anyone could publish another app's identity.
    if (fields.client_id !== clientId) {
      return failed(
        `the document's client_id (${String(fields.client_id)}) is not its own URL ${clientId}`,
      );
    }
    const method = fields.token_endpoint_auth_method;
    if (method !== undefined && method !== 'none') {
      return failed(
        `the app authenticates with ${String(method)}; this hub only has public clients (none)`,
      );
    }
    if ('client_secret' in fields || 'client_secret_expires_at' in fields) {
      return failed('a metadata document must not carry a client_secret');
    }
    const parsed = parseRegistration(fields);
    if (!parsed.ok) return failed(`${clientId}: ${parsed.description}`);
    const client = this.store(clientId, parsed.metadata);
    return { client, expiresAt: now + ttlOf(res.headers) };
  }

  private store(clientId: string, metadata: Stored): Client {
    return clients.upsertDocument(this.db, clientId, metadata);
  }

  private remember(clientId: string, entry: Cached): void {
    this.cache.delete(clientId);
    if (entry.expiresAt <= Date.now()) return;
    // Oldest first: Map keeps insertion order, and a refresh re-inserts at the end.
    while (this.cache.size >= MAX_CACHED) {
      this.cache.delete(this.cache.keys().next().value as string);
    }
    this.cache.set(clientId, entry);
  }
}

/** How long a document may be reused, from Cache-Control (RFC 9111), within the bounds above. */
function ttlOf(headers: Headers): number {
  const cc = (headers.get('cache-control') ?? '').toLowerCase();
  if (/(^|[,\s])(no-store|no-cache)\b/.test(cc)) return 0;
  const maxAge = /(^|[,\s])max-age\s*=\s*"?(\d+)/.exec(cc)?.[2];
  if (maxAge === undefined) return DEFAULT_TTL_MS;
  return Math.min(Number(maxAge) * 1000, MAX_TTL_MS);
}
