/** An error answer from the hub: `{error, error_description}` plus the HTTP status. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly error: string,
    readonly description?: string,
    /** Seconds to wait, from Retry-After on a 429. */
    readonly retryAfter?: number,
    /** The whole error body, for answers with more than a description (`fields` of invalid_manifest). */
    readonly body?: Record<string, unknown>,
  ) {
    super(description ?? error);
    this.name = 'ApiError';
  }
}

// Over https the hub names its cookies with the `__Host-` prefix (src/auth/cookies.ts).
const CSRF_COOKIES = ['__Host-parachute_csrf', 'parachute_csrf'];

/**
 * Calls the hub's JSON API. Every state-changing request carries the CSRF
 * cookie's value in a header (double-submit): another site can make the
 * browser send the cookie, but cannot read it to copy it into the header.
 * Resolves with the parsed body, or undefined for 204.
 */
export async function api<T = undefined>(
  method: string,
  path: string,
  body?: unknown,
  /** Call as this bearer token instead of the session: no cookies, no CSRF header. */
  bearer?: string,
): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  // A Blob (an uploaded file) goes as it is; anything else as JSON.
  const raw = body instanceof Blob;
  if (body !== undefined)
    headers['content-type'] = raw ? 'application/octet-stream' : 'application/json';
  if (bearer !== undefined) headers.authorization = `Bearer ${bearer}`;
  else if (method !== 'GET' && method !== 'HEAD') {
    const token = CSRF_COOKIES.map(readCookie).find(Boolean);
    if (token) headers['x-csrf-token'] = token;
  }
  let res: Response;
  try {
    res = await fetch(path, {
      method,
      headers,
      credentials: bearer === undefined ? 'same-origin' : 'omit',
      body: body === undefined ? undefined : raw ? body : JSON.stringify(body),
    });
  } catch {
    throw new ApiError(0, 'network_error', 'Cannot reach the hub. Check that it is running.');
  }
  if (res.status === 204) return undefined as T;
  const data = (await res.json().catch(() => undefined)) as
    | { error?: unknown; error_description?: unknown }
    | undefined;
  if (res.ok) return data as T;
  throw new ApiError(
    res.status,
    typeof data?.error === 'string' ? data.error : `http_${res.status}`,
    typeof data?.error_description === 'string' ? data.error_description : undefined,
    parseRetryAfter(res.headers.get('retry-after')),
    data as Record<string, unknown> | undefined,
  );
}

function readCookie(name: string): string | undefined {
  for (const pair of document.cookie.split(';')) {
    const [key, ...value] = pair.trim().split('=');
    if (key === name) return decodeURIComponent(value.join('='));
  }
  return undefined;
}

// Retry-After is either delay-seconds or an HTTP date (RFC 9110 §10.2.3).
function parseRetryAfter(header: string | null): number | undefined {
  if (!header) return undefined;
  if (/^\d+$/.test(header.trim())) return Number(header.trim());
  const date = Date.parse(header);
  return Number.isNaN(date) ? undefined : Math.max(0, Math.ceil((date - Date.now()) / 1000));
}

/**
 * Plain words for a failed request: `words` names what this form says for
 * each error code it expects; anything else falls back to the hub's own
 * description.
 */
export function describeError(error: unknown, words: Record<string, string> = {}): string {
  if (!(error instanceof ApiError)) return 'Something went wrong. Try again.';
  const word = words[error.error];
  if (word) return word;
  if (error.status === 429) return tooManyAttempts(error.retryAfter);
  return error.description ?? `The hub answered ${error.status} (${error.error}).`;
}

function tooManyAttempts(seconds: number | undefined): string {
  if (seconds === undefined) return 'Too many attempts. Try again later.';
  const minutes = Math.max(1, Math.ceil(seconds / 60));
  return `Too many attempts. Try again in ${minutes} ${minutes === 1 ? 'minute' : 'minutes'}.`;
}
