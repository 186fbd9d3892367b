/** One schema change. Versions are dense and never reused; a migration is never edited once released. */
export interface Migration {
  version: number;
  name: string;
  sql: string;
}

/** Every schema change hub.db has seen, oldest first. Append only. */
export const migrations: Migration[] = [
  {
    version: 1,
    name: 'settings',
    // Hub-wide settings the admin changes at runtime (the saved origin, for one).
    sql: `
      CREATE TABLE settings (
        key        TEXT PRIMARY KEY,
        value      TEXT NOT NULL,
        updated_at INTEGER NOT NULL
      ) STRICT;
    `,
  },
  {
    version: 2,
    name: 'accounts',
    // Times are Unix milliseconds unless a column says otherwise.
    sql: `
      CREATE TABLE users (
        id                   TEXT PRIMARY KEY,
        username             TEXT NOT NULL UNIQUE COLLATE NOCASE,
        password_hash        TEXT NOT NULL,
        role                 TEXT NOT NULL CHECK (role IN ('admin', 'user')),
        must_change_password INTEGER NOT NULL DEFAULT 0,
        totp_secret          TEXT,
        totp_enabled         INTEGER NOT NULL DEFAULT 0,
        totp_last_step       INTEGER,
        -- Tokens issued before this instant are refused (password reset, delete).
        tokens_valid_after   INTEGER NOT NULL DEFAULT 0,
        created_at           INTEGER NOT NULL,
        updated_at           INTEGER NOT NULL
      ) STRICT;

      CREATE TABLE backup_codes (
        user_id   TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
        code_hash TEXT NOT NULL,
        used_at   INTEGER,
        PRIMARY KEY (user_id, code_hash)
      ) STRICT;

      CREATE TABLE sessions (
        id_hash      TEXT PRIMARY KEY,
        user_id      TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
        csrf_hash    TEXT NOT NULL,
        created_at   INTEGER NOT NULL,
        last_seen_at INTEGER NOT NULL,
        ip           TEXT,
        user_agent   TEXT
      ) STRICT;
      CREATE INDEX sessions_by_user ON sessions (user_id);

      CREATE TABLE signing_keys (
        kid            TEXT PRIMARY KEY,
        private_pkcs8  TEXT NOT NULL,
        public_jwk     TEXT NOT NULL,
        created_at     INTEGER NOT NULL,
        retired_at     INTEGER,
        -- Latest exp (JWT seconds) of any token this key signed: JWKS keeps a
        -- retired key until then, so long-lived tokens stay verifiable.
        max_token_exp  INTEGER NOT NULL DEFAULT 0
      ) STRICT;

      CREATE TABLE revoked_tokens (
        jti        TEXT PRIMARY KEY,
        expires_at INTEGER NOT NULL,
        revoked_at INTEGER NOT NULL
      ) STRICT;
    `,
  },
];
