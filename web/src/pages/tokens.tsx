import { useEffect, useId, useState } from 'preact/hooks';
import { api, describeError } from '../api.ts';
import { ConfirmButton } from '../confirm-button.tsx';
import { Field, FormError, useAction } from '../forms.tsx';
import { ScopeList } from '../grant-list.tsx';
import { useUser } from '../session.tsx';
import { formatTime } from '../time.ts';

/** One recorded token, as GET /api/auth/tokens lists it. */
interface RecordedToken {
  jti: string;
  user_id: string | null;
  subject: string;
  client_id: string;
  scopes: string[];
  audience: string | string[];
  created_via: string;
  connection_id?: string | null;
  created_at: string;
  expires_at: string;
  revoked_at: string | null;
  permissions: { scoped_tags?: string[] } | null;
}

interface TokenPage {
  tokens: RecordedToken[];
  next_cursor: string | null;
}

/** POST /api/auth/mint-token's answer: the token itself is in it, and only in it. */
interface Minted {
  jti: string;
  token: string;
  expires_at: number | string;
  scope: string;
}

const VIA_WORDS: Record<string, string> = {
  mint_token: 'minted',
  connection_credential: 'connection credential',
  agent_grant: 'agent grant',
  vault_create: 'made with a vault',
  page: 'page session',
};

const EXPIRY_DAYS = [1, 7, 30, 90, 365];

/**
 * /admin/tokens (admins): every token the hub recorded (minted here or with
 * the API, connection credentials, agent grants), minting a new one and
 * revoking any live one.
 */
export function Tokens() {
  const admin = useUser().role === 'admin';
  if (!admin) {
    return (
      <section>
        <h1>Tokens</h1>
        <p class="muted">Only admins can see and mint tokens.</p>
      </section>
    );
  }
  return <AdminTokens />;
}

function AdminTokens() {
  const [tokens, setTokens] = useState<RecordedToken[]>();
  const [cursor, setCursor] = useState<string | null>(null);
  const [offered, setOffered] = useState<string[]>([]);
  const { busy, error, run } = useAction();

  function loadFirst() {
    return run(
      async () => {
        const page = await api<TokenPage>('GET', '/api/auth/tokens?revoked=all');
        setTokens(page.tokens);
        setCursor(page.next_cursor);
      },
      (caught) => `Could not list the tokens: ${describeError(caught)}`,
    );
  }
  function loadMore() {
    if (cursor === null) return;
    void run(
      async () => {
        const page = await api<TokenPage>(
          'GET',
          `/api/auth/tokens?revoked=all&cursor=${encodeURIComponent(cursor)}`,
        );
        // A token minted meanwhile cannot repeat: pages go by creation, newest first.
        setTokens((old) => [...(old ?? []), ...page.tokens]);
        setCursor(page.next_cursor);
      },
      (caught) => `Could not list more tokens: ${describeError(caught)}`,
    );
  }
  useEffect(() => {
    void loadFirst();
    api<{ scopes_supported?: string[] }>('GET', '/.well-known/oauth-authorization-server').then(
      (meta) => setOffered(meta.scopes_supported ?? []),
      // Suggestions only: the field works without them.
      () => setOffered([]),
    );
  }, []);

  function revoked(jti: string, at: string) {
    setTokens((old) => old?.map((t) => (t.jti === jti ? { ...t, revoked_at: at } : t)));
    // Tokens minted with it ended too: read again as many as are shown.
    void refreshShown((tokens?.length ?? 0) || 1).catch(() => undefined);
  }
  async function refreshShown(count: number) {
    let all: RecordedToken[] = [];
    let next: string | null = null;
    do {
      const query: string = next === null ? '' : `&cursor=${encodeURIComponent(next)}`;
      const page: TokenPage = await api<TokenPage>('GET', `/api/auth/tokens?revoked=all${query}`);
      all = [...all, ...page.tokens];
      next = page.next_cursor;
    } while (next !== null && all.length < count);
    setTokens(all);
    setCursor(next);
  }

  return (
    <section>
      <h1>Tokens</h1>
      <section aria-labelledby="mint-heading">
        <h2 id="mint-heading">Mint a token</h2>
        <p class="muted">
          For scripts and other programs that call a module with a bearer token. It acts for you
          until it expires or is revoked.
        </p>
        <MintForm offered={offered} onMinted={() => void loadFirst()} />
      </section>
      <HubCredentials />
      <section aria-labelledby="tokens-heading">
        <h2 id="tokens-heading">Recorded tokens</h2>
        <FormError message={error} />
        {!tokens && !error && <p class="muted">Loading…</p>}
        {tokens && tokens.length === 0 && <p class="muted">No tokens have been minted yet.</p>}
        {tokens && tokens.length > 0 && (
          <ul class="cards" aria-label="Recorded tokens">
            {tokens.map((token) => (
              <TokenCard key={token.jti} token={token} onRevoked={revoked} />
            ))}
          </ul>
        )}
        {cursor !== null && (
          <div class="actions load-more">
            <button type="button" class="secondary" disabled={busy} onClick={loadMore}>
              {busy ? 'Loading…' : 'Load more'}
            </button>
          </div>
        )}
      </section>
    </section>
  );
}

/**
 * The hub's own credentials: the operator token (the CLI's, in
 * $PARACHUTE_HOME/operator.token) and the key that signs every token.
 * Rotating either here is what `parachute token rotate | rotate-key` does.
 */
function HubCredentials() {
  const { busy, error, run } = useAction();
  const [done, setDone] = useState<string>();
  function rotateOperator() {
    void run(
      async () => {
        const answer = await api<{ expires_at: string }>('POST', '/api/hub/operator-token/rotate');
        setDone(
          `A new operator token is in operator.token (it expires ${formatTime(Date.parse(answer.expires_at))}); the previous one no longer works.`,
        );
      },
      (caught) => `Could not rotate the operator token: ${describeError(caught)}`,
    );
  }
  function rotateKey() {
    void run(
      async () => {
        const answer = await api<{ kid: string }>('POST', '/api/hub/signing-key/rotate');
        setDone(
          `New tokens are signed with key ${answer.kid}; tokens signed before stay valid until they expire.`,
        );
      },
      (caught) => `Could not rotate the signing key: ${describeError(caught)}`,
    );
  }
  return (
    <section aria-labelledby="hub-credentials-heading">
      <h2 id="hub-credentials-heading">Hub credentials</h2>
      <FormError message={error} />
      {done && (
        <p class="notice" role="status">
          {done}
        </p>
      )}
      <dl class="facts">
        <dt>Operator token</dt>
        <dd>
          The command line's key to this hub, kept in <code>operator.token</code> (readable only by
          the hub's user). Rotate it if a copy may have leaked.
        </dd>
      </dl>
      <div class="actions">
        <ConfirmButton
          label="Rotate operator token"
          question="Replace the operator token? The current one stops working at once."
          confirmLabel="Yes, rotate it"
          disabled={busy}
          onConfirm={rotateOperator}
        />
      </div>
      <dl class="facts">
        <dt>Signing key</dt>
        <dd>
          Signs every token the hub issues. A new key signs from now on; the old one stays published
          until the tokens it signed expire, so nothing is signed out.
        </dd>
      </dl>
      <div class="actions">
        <ConfirmButton
          label="Rotate signing key"
          question="Start signing with a new key?"
          confirmLabel="Yes, rotate it"
          disabled={busy}
          onConfirm={rotateKey}
        />
      </div>
    </section>
  );
}

type TokenState = 'live' | 'expired' | 'revoked';

function stateOf(token: RecordedToken): TokenState {
  if (token.revoked_at !== null) return 'revoked';
  return Date.parse(token.expires_at) <= Date.now() ? 'expired' : 'live';
}

function TokenCard(props: { token: RecordedToken; onRevoked: (jti: string, at: string) => void }) {
  const { token } = props;
  const state = stateOf(token);
  const { busy, error, run } = useAction();
  const scopes = token.scopes.join(' ');
  const tags = token.permissions?.scoped_tags;
  function revoke() {
    void run(
      async () => {
        const done = await api<{ jti: string; revoked_at: string }>(
          'POST',
          '/api/auth/revoke-token',
          { jti: token.jti },
        );
        props.onRevoked(token.jti, done.revoked_at);
      },
      (caught) => `Could not revoke: ${describeError(caught)}`,
    );
  }
  return (
    <li class={`card token ${state}`} aria-label={`Token ${scopes}`} data-testid="token">
      <div class="card-head">
        <h3>
          <ScopeList scopes={token.scopes} />
        </h3>
        <span class={`badge ${state}`} data-testid="token-state">
          {state}
        </span>
      </div>
      <FormError message={error} />
      <dl class="facts">
        <dt>Subject</dt>
        <dd>
          <code>{token.subject}</code>
        </dd>
        <dt>Made as</dt>
        <dd>{VIA_WORDS[token.created_via] ?? token.created_via.replaceAll('_', ' ')}</dd>
        {tags && tags.length > 0 && (
          <>
            <dt>Tags</dt>
            <dd>{tags.join(', ')}</dd>
          </>
        )}
        <dt>Created</dt>
        <dd>{formatTime(Date.parse(token.created_at))}</dd>
        <dt>{state === 'expired' ? 'Expired' : 'Expires'}</dt>
        <dd>{formatTime(Date.parse(token.expires_at))}</dd>
        {token.revoked_at !== null && (
          <>
            <dt>Revoked</dt>
            <dd>{formatTime(Date.parse(token.revoked_at))}</dd>
          </>
        )}
        <dt>ID</dt>
        <dd>
          <code data-testid="token-jti">{token.jti}</code>
        </dd>
      </dl>
      {state === 'live' && (
        <div class="actions">
          <ConfirmButton
            label="Revoke"
            question={
              <>
                Revoke the token for <strong>{scopes}</strong>? Programs using it, and tokens minted
                with it, stop working at once.
              </>
            }
            disabled={busy}
            onConfirm={revoke}
          />
        </div>
      )}
    </li>
  );
}

function MintForm(props: { offered: string[]; onMinted: () => void }) {
  const [scope, setScope] = useState('');
  const [days, setDays] = useState(90);
  const [subject, setSubject] = useState('');
  const [tags, setTags] = useState('');
  const [minted, setMinted] = useState<Minted>();
  const { busy, error, setError, run } = useAction();
  const listId = useId();
  const expiryId = useId();
  const asked = scope.split(/\s+/).filter(Boolean);
  const forVault = asked.some((s) => s.startsWith('vault:'));
  const tagList = tags
    .split(',')
    .map((t) => t.trim())
    .filter(Boolean);

  function submit(event: Event) {
    event.preventDefault();
    setMinted(undefined);
    if (tagList.length > 0 && !forVault) {
      setError('Tags limit vault scopes only: add a vault scope or clear the tags.');
      return;
    }
    void run(
      async () => {
        // The session cannot mint: the hub's own short-lived token for this
        // admin does, sent as a bearer.
        const host = await api<{ token: string }>('GET', '/admin/host-admin-token');
        const result = await api<Minted>(
          'POST',
          '/api/auth/mint-token',
          {
            scope: asked.join(' '),
            expires_in: days * 24 * 3600,
            ...(subject.trim() ? { subject: subject.trim() } : {}),
            ...(forVault && tagList.length > 0 ? { permissions: { scoped_tags: tagList } } : {}),
          },
          host.token,
        );
        setMinted(result);
        setScope('');
        setSubject('');
        setTags('');
        props.onMinted();
      },
      (caught) => `Could not mint: ${describeError(caught)}`,
    );
  }

  return (
    <>
      <form onSubmit={submit} aria-label="Mint a token">
        <Field
          label="Scopes"
          value={scope}
          onValue={setScope}
          list={listId}
          hint="One or more, separated by spaces, all for one module or vault. Admin scopes (a module’s <name>:admin, vault:<name>:admin) may be typed too."
        />
        <datalist id={listId}>
          {props.offered.map((s) => (
            <option key={s} value={s} />
          ))}
        </datalist>
        <div class="field">
          <label for={expiryId}>Expires after</label>
          <select
            id={expiryId}
            value={String(days)}
            onChange={(e) => setDays(Number(e.currentTarget.value))}
          >
            {EXPIRY_DAYS.map((d) => (
              <option key={d} value={String(d)}>
                {d === 1 ? '1 day' : `${d} days`}
              </option>
            ))}
          </select>
        </div>
        <Field
          label="Subject (optional)"
          value={subject}
          onValue={setSubject}
          required={false}
          hint="A label for who or what uses it; your account when empty."
        />
        <Field
          label="Tags (optional)"
          value={tags}
          onValue={setTags}
          required={false}
          hint="Vault scopes only: comma-separated tags the token is limited to."
        />
        <FormError message={error} />
        <div class="actions">
          <button type="submit" disabled={busy || asked.length === 0}>
            {busy ? 'Minting…' : 'Mint token'}
          </button>
        </div>
      </form>
      {minted && <NewToken minted={minted} onDone={() => setMinted(undefined)} />}
    </>
  );
}

/** The token, once: the hub keeps only its record, never the token itself. */
function NewToken(props: { minted: Minted; onDone: () => void }) {
  const [copied, setCopied] = useState<string>();
  const boxId = useId();
  function copy() {
    navigator.clipboard.writeText(props.minted.token).then(
      () => setCopied('Copied.'),
      () => setCopied('Could not copy: select the token and copy it yourself.'),
    );
  }
  return (
    <div class="notice-box new-token" role="status" aria-label="New token">
      <p>
        <strong>Copy this token now: you will not see it again.</strong> It carries{' '}
        <code>{props.minted.scope}</code>.
      </p>
      <label for={boxId} class="visually-hidden">
        New token
      </label>
      <textarea
        id={boxId}
        class="secret token-box"
        readOnly
        rows={4}
        spellcheck={false}
        data-testid="new-token"
        value={props.minted.token}
        onFocus={(e) => e.currentTarget.select()}
      />
      <div class="actions">
        <button type="button" class="small" onClick={copy}>
          Copy
        </button>
        <button type="button" class="secondary small" onClick={props.onDone}>
          Done
        </button>
        {copied && <span class="muted">{copied}</span>}
      </div>
    </div>
  );
}
