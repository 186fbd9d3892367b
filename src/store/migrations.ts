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
  {
    version: 3,
    name: 'oauth',
    // The OAuth 2.1 issuer (auth.md sections 2-4). Secrets (codes, refresh
    // tokens) are stored only as SHA-256 hashes.
    sql: `
      CREATE TABLE oauth_clients (
        client_id    TEXT PRIMARY KEY,
        client_name  TEXT,
        -- JSON array; matched exactly, or with any port on loopback.
        redirect_uris TEXT NOT NULL,
        -- The registration as the client sent it (RFC 7591), echoed back.
        metadata     TEXT NOT NULL,
        status       TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'denied')),
        created_at   INTEGER NOT NULL,
        updated_at   INTEGER NOT NULL,
        last_used_at INTEGER
      ) STRICT;

      -- What a user agreed a client may do; later authorizations within it skip consent.
      CREATE TABLE oauth_grants (
        id         TEXT PRIMARY KEY,
        user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
        client_id  TEXT NOT NULL REFERENCES oauth_clients (client_id) ON DELETE CASCADE,
        scope      TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        UNIQUE (user_id, client_id)
      ) STRICT;

      -- One chain of refresh tokens from one authorization code.
      CREATE TABLE oauth_families (
        id           TEXT PRIMARY KEY,
        grant_id     TEXT NOT NULL REFERENCES oauth_grants (id) ON DELETE CASCADE,
        client_id    TEXT NOT NULL,
        user_id      TEXT NOT NULL,
        scope        TEXT NOT NULL,
        resource     TEXT,
        -- JSON: the aud of every access token this family issues.
        audience     TEXT NOT NULL,
        created_at   INTEGER NOT NULL,
        last_used_at INTEGER,
        expires_at   INTEGER NOT NULL
      ) STRICT;
      CREATE INDEX oauth_families_by_grant ON oauth_families (grant_id);

      CREATE TABLE oauth_refresh_tokens (
        token_hash     TEXT PRIMARY KEY,
        family_id      TEXT NOT NULL REFERENCES oauth_families (id) ON DELETE CASCADE,
        created_at     INTEGER NOT NULL,
        expires_at     INTEGER NOT NULL,
        -- Set when a newer token replaced this one; presenting it again is replay.
        rotated_at     INTEGER,
        successor_hash TEXT
      ) STRICT;
      CREATE INDEX oauth_refresh_by_family ON oauth_refresh_tokens (family_id);

      -- Access tokens a family issued, so revoking the family revokes them too.
      CREATE TABLE oauth_access_tokens (
        jti        TEXT PRIMARY KEY,
        family_id  TEXT NOT NULL REFERENCES oauth_families (id) ON DELETE CASCADE,
        expires_at INTEGER NOT NULL
      ) STRICT;
      CREATE INDEX oauth_access_by_family ON oauth_access_tokens (family_id);

      CREATE TABLE oauth_codes (
        code_hash      TEXT PRIMARY KEY,
        client_id      TEXT NOT NULL REFERENCES oauth_clients (client_id) ON DELETE CASCADE,
        user_id        TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
        grant_id       TEXT NOT NULL REFERENCES oauth_grants (id) ON DELETE CASCADE,
        redirect_uri   TEXT NOT NULL,
        code_challenge TEXT NOT NULL,
        scope          TEXT NOT NULL,
        resource       TEXT,
        audience       TEXT NOT NULL,
        expires_at     INTEGER NOT NULL,
        used_at        INTEGER,
        -- The family the exchange started: a replayed code revokes it.
        family_id      TEXT
      ) STRICT;

      -- Vaults a non-admin user may grant access to (auth.md section 6).
      CREATE TABLE user_vaults (
        user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
        vault   TEXT NOT NULL,
        PRIMARY KEY (user_id, vault)
      ) STRICT;
    `,
  },
  {
    version: 4,
    name: 'isolated modules',
    // Modules the admin marked isolated: their documents are sandboxed
    // (modules.md section 7). Kept here, not in services.json: modules write
    // their own rows, and a module must not be able to lift its own isolation.
    sql: `
      CREATE TABLE isolated_modules (
        name       TEXT PRIMARY KEY, -- services.json row name
        updated_at INTEGER NOT NULL
      ) STRICT;
    `,
  },
  {
    version: 5,
    name: 'module sessions',
    // A module origin's session (apps domain), for that module alone. It
    // lives exactly as long as the hub session it was started from.
    sql: `
      CREATE TABLE module_sessions (
        id_hash         TEXT PRIMARY KEY,
        session_id_hash TEXT NOT NULL REFERENCES sessions (id_hash) ON DELETE CASCADE,
        module          TEXT NOT NULL, -- short name, as in <module>.<apps domain>
        created_at      INTEGER NOT NULL
      ) STRICT;
      CREATE INDEX module_sessions_by_session ON module_sessions (session_id_hash);
    `,
  },
  {
    version: 6,
    name: 'minted tokens',
    // Tokens minted outside OAuth that live longer than ten minutes
    // (POST /api/auth/mint-token, connection credentials): recorded so they
    // can be listed and revoked. A token minted with another recorded or
    // OAuth token as its authority ends with it (parent_jti, family_id).
    sql: `
      CREATE TABLE minted_tokens (
        jti         TEXT PRIMARY KEY,
        user_id     TEXT,           -- the person whose authority minted it, if any
        subject     TEXT NOT NULL,  -- its sub claim
        client_id   TEXT NOT NULL,
        scope       TEXT NOT NULL,
        audience    TEXT NOT NULL,  -- JSON: a string or an array
        permissions TEXT,           -- JSON object, or NULL
        created_via TEXT NOT NULL,
        parent_jti  TEXT,           -- the recorded token that minted it
        family_id   TEXT,           -- the OAuth sign-in whose token minted it
        created_at  INTEGER NOT NULL,
        expires_at  INTEGER NOT NULL,
        revoked_at  INTEGER
      ) STRICT;
      CREATE INDEX minted_tokens_by_created ON minted_tokens (created_at);
      CREATE INDEX minted_tokens_by_parent ON minted_tokens (parent_jti);
      CREATE INDEX minted_tokens_by_family ON minted_tokens (family_id);
    `,
  },
  {
    version: 7,
    name: 'connections',
    // Credential connections and agent grants (issue 15 point 2): a vault credential the
    // admin linked to a module, delivered to its declared endpoint. The
    // tokens themselves are rows of minted_tokens, linked by connection_id,
    // so revoking a connection revokes exactly what it minted.
    sql: `
      CREATE TABLE connections (
        id             TEXT PRIMARY KEY,
        kind           TEXT NOT NULL CHECK (kind IN ('credential')),
        module         TEXT NOT NULL, -- short name of the module holding the credential
        credential_key TEXT NOT NULL, -- its module.json credentials[].key
        vault          TEXT NOT NULL,
        scope          TEXT NOT NULL, -- vault:<vault>:read|write
        scoped_tags    TEXT NOT NULL, -- JSON array of tags; [] = the whole vault
        endpoint       TEXT NOT NULL, -- where the credential is delivered, on the module's port
        requested_by   TEXT NOT NULL,
        created_at     INTEGER NOT NULL,
        updated_at     INTEGER NOT NULL
      ) STRICT;
      CREATE INDEX connections_by_vault ON connections (vault);
      ALTER TABLE minted_tokens ADD COLUMN connection_id TEXT;
      CREATE INDEX minted_tokens_by_connection ON minted_tokens (connection_id);

      -- Grants an agent module asks for on behalf of its agents (upstream's
      -- /admin/grants); an admin approves each. Only vault grants for now.
      -- The approved grant's token is its material: the agent fetches it.
      CREATE TABLE agent_grants (
        id          TEXT PRIMARY KEY,
        agent       TEXT NOT NULL,
        kind        TEXT NOT NULL CHECK (kind IN ('vault')),
        target      TEXT NOT NULL, -- the vault
        access      TEXT NOT NULL CHECK (access IN ('read', 'write')),
        tags        TEXT NOT NULL, -- JSON array, sorted; [] = the whole vault
        status      TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'revoked')),
        token       TEXT,          -- while approved: the recorded token (minted_tokens) it hands out
        jti         TEXT,
        approved_at INTEGER,
        created_at  INTEGER NOT NULL,
        updated_at  INTEGER NOT NULL,
        UNIQUE (agent, kind, target, access, tags)
      ) STRICT;
      CREATE INDEX agent_grants_by_agent ON agent_grants (agent);
    `,
  },
  {
    version: 8,
    name: 'audit_log',
    // Who did what, when, from where (issue 16 point 5). Never secrets:
    // detail is a small JSON object built by the caller from safe fields.
    sql: `
      CREATE TABLE audit_log (
        id         INTEGER PRIMARY KEY AUTOINCREMENT,
        at         INTEGER NOT NULL,
        actor_id   TEXT,            -- user id, token sub, or NULL for anonymous
        actor_name TEXT NOT NULL,   -- username, "operator", the token's sub, or "anonymous"
        ip         TEXT NOT NULL,
        action     TEXT NOT NULL,   -- e.g. auth.login.failed, module.install
        target     TEXT,
        outcome    TEXT NOT NULL CHECK (outcome IN ('success', 'failure', 'denied', 'started')),
        detail     TEXT             -- JSON object, or NULL
      ) STRICT;
      CREATE INDEX audit_log_by_at ON audit_log (at);
    `,
  },
  {
    version: 9,
    name: 'backup_runs',
    // One row per scheduled or manual backup (issue 18 point 3): what was
    // written where, and what its restore drill found. Errors are the
    // operator-facing message, never a credential.
    sql: `
      CREATE TABLE backup_runs (
        id           INTEGER PRIMARY KEY AUTOINCREMENT,
        trigger      TEXT NOT NULL CHECK (trigger IN ('schedule', 'manual', 'upgrade')),
        started_at   INTEGER NOT NULL,
        finished_at  INTEGER,
        state        TEXT NOT NULL CHECK (state IN ('running', 'ok', 'failed')),
        stage        TEXT NOT NULL,
        target       TEXT NOT NULL, -- where, in words (a folder, s3://bucket/prefix)
        object       TEXT,          -- the archive's name in the target
        bytes        INTEGER,       -- the archive before encryption
        stored_bytes INTEGER,       -- what the target holds
        files        INTEGER,
        databases    INTEGER,
        drill        TEXT,          -- JSON {ok, ms, databases, tables, rows}, or NULL
        error        TEXT,
        pruned_at    INTEGER        -- when retention removed its archive
      ) STRICT;
      CREATE INDEX backup_runs_by_started ON backup_runs (started_at);
    `,
  },
];
