import type { Database } from 'bun:sqlite';
import { calculateJwkThumbprint, importJWK, importPKCS8, type JWK } from 'jose';

/** Access tokens and the operator token are RS256: every existing module verifies it. */
export const ALG = 'RS256';

interface KeyRow {
  kid: string;
  private_pkcs8: string;
  public_jwk: string;
  retired_at: number | null;
  max_token_exp: number;
}

/**
 * The hub's JWT signing keys, stored in hub.db. One key is active (signs);
 * retired keys stay published in the JWKS until every token they signed has
 * expired (auth.md section 3). Reads go to the database, so a key rotated
 * by the CLI while the hub runs is picked up at once.
 */
export class SigningKeys {
  private readonly publicKeys = new Map<string, CryptoKey>();
  private activeCache: { kid: string; key: CryptoKey } | null = null;
  /** The key being created, so concurrent first uses share one generation. */
  private creating: Promise<KeyRow> | null = null;

  constructor(private readonly db: Database) {}

  /**
   * Creates the first key if there is none. Called on first need (a token to
   * sign, the JWKS asked for), not at boot: a new hub that nobody has set up
   * yet never pays for RSA generation (50-100 ms on a worker thread, ~4 MB of
   * RSS that stays).
   */
  async ensureActive(): Promise<void> {
    if (!this.activeRow()) await this.insertNewKey();
  }

  /** The key new tokens are signed with. */
  async active(): Promise<{ kid: string; key: CryptoKey }> {
    const row = this.activeRow() ?? (await this.insertNewKey());
    if (this.activeCache?.kid !== row.kid) {
      this.activeCache = { kid: row.kid, key: await importPKCS8(row.private_pkcs8, ALG) };
    }
    return this.activeCache;
  }

  /** The public key for `kid`, if the hub ever had it and it is still published. */
  async publicKey(
    kid: string,
    nowSeconds = Math.floor(Date.now() / 1000),
  ): Promise<CryptoKey | null> {
    const row = this.db.query('SELECT * FROM signing_keys WHERE kid = ?').get(kid) as KeyRow | null;
    if (!row || !isPublished(row, nowSeconds)) return null;
    let key = this.publicKeys.get(kid);
    if (!key) {
      key = (await importJWK(JSON.parse(row.public_jwk) as JWK, ALG)) as CryptoKey;
      this.publicKeys.set(kid, key);
    }
    return key;
  }

  /** Records that `kid` signed a token valid until `exp`, so JWKS keeps it that long. */
  noteSigned(kid: string, exp: number): void {
    this.db.run('UPDATE signing_keys SET max_token_exp = MAX(max_token_exp, ?) WHERE kid = ?', [
      exp,
      kid,
    ]);
  }

  /** RFC 7517 key set: the active key and retired keys with live tokens. */
  jwks(nowSeconds = Math.floor(Date.now() / 1000)): { keys: JWK[] } {
    const rows = this.db
      .query('SELECT * FROM signing_keys ORDER BY retired_at IS NOT NULL, created_at DESC')
      .all() as KeyRow[];
    return {
      keys: rows
        .filter((r) => isPublished(r, nowSeconds))
        .map((r) => JSON.parse(r.public_jwk) as JWK),
    };
  }

  /** Makes a new key active and retires the old one; returns the new kid. */
  async rotate(): Promise<string> {
    const fresh = await generate();
    this.db.transaction(() => {
      this.db.run('UPDATE signing_keys SET retired_at = ? WHERE retired_at IS NULL', [Date.now()]);
      this.insert(fresh);
    })();
    return fresh.kid;
  }

  private activeRow(): KeyRow | null {
    return this.db
      .query('SELECT * FROM signing_keys WHERE retired_at IS NULL ORDER BY created_at DESC LIMIT 1')
      .get() as KeyRow | null;
  }

  private insertNewKey(): Promise<KeyRow> {
    this.creating ??= this.generateAndInsert().finally(() => {
      this.creating = null;
    });
    return this.creating;
  }

  private async generateAndInsert(): Promise<KeyRow> {
    const fresh = await generate();
    // Another process (the CLI) may have created one meanwhile: keep a single active key.
    const existing = this.activeRow();
    if (existing) return existing;
    this.insert(fresh);
    return this.activeRow() as KeyRow;
  }

  private insert(k: { kid: string; pkcs8: string; jwk: JWK }): void {
    this.db.run(
      'INSERT INTO signing_keys (kid, private_pkcs8, public_jwk, created_at) VALUES (?, ?, ?, ?)',
      [k.kid, k.pkcs8, JSON.stringify(k.jwk), Date.now()],
    );
  }
}

function isPublished(row: KeyRow, nowSeconds: number): boolean {
  return row.retired_at === null || row.max_token_exp > nowSeconds;
}

/**
 * A new RSA-2048 key pair. Generated with node:crypto's callback API, which
 * runs on a worker thread: WebCrypto's generateKey blocks the event loop
 * for 30-160 ms here, and /health must keep answering while a first boot
 * creates its key. Imported lazily so warm boots never load node:crypto.
 */
async function generate(): Promise<{ kid: string; pkcs8: string; jwk: JWK }> {
  const { generateKeyPair } = await import('node:crypto');
  const { publicKey, privateKey } = await new Promise<{ publicKey: string; privateKey: string }>(
    (resolve, reject) =>
      generateKeyPair(
        'rsa',
        {
          modulusLength: 2048,
          publicKeyEncoding: { type: 'spki', format: 'pem' },
          privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
        },
        (error, pub, priv) =>
          error ? reject(error) : resolve({ publicKey: pub, privateKey: priv }),
      ),
  );
  const { importSPKI, exportJWK } = await import('jose');
  const publicJwk = await exportJWK(await importSPKI(publicKey, ALG, { extractable: true }));
  // RFC 7638 thumbprint: the kid is derived from the key, so it can never name two keys.
  const kid = await calculateJwkThumbprint(publicJwk);
  return {
    kid,
    pkcs8: privateKey,
    jwk: { kty: 'RSA', n: publicJwk.n, e: publicJwk.e, kid, alg: ALG, use: 'sig' },
  };
}
