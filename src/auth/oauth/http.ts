// Response helpers shared by the OAuth endpoints.

/**
 * The issuer's public endpoints are called by browser-based clients on
 * other origins. They take no cookies, only what the body carries, so any
 * origin may call them (no credentials are ever allowed cross-origin).
 */
export const CORS_HEADERS = {
  'access-control-allow-origin': '*',
  'access-control-allow-headers': 'authorization, content-type, mcp-protocol-version',
  'access-control-allow-methods': 'GET, POST, OPTIONS',
  'access-control-max-age': '600',
};

/** Answers a CORS preflight. */
export function preflight(): Response {
  return new Response(null, { status: 204, headers: CORS_HEADERS });
}

/** JSON that must never be cached (token and registration answers carry secrets). */
export function noStoreJson(status: number, body: unknown, headers: Record<string, string> = {}) {
  return new Response(JSON.stringify(body), {
    status,
    headers: {
      'content-type': 'application/json',
      'cache-control': 'no-store',
      pragma: 'no-cache',
      ...CORS_HEADERS,
      ...headers,
    },
  });
}

/**
 * An RFC 6749 section 5.2 error answer. A 401 challenges in `scheme`: the
 * one the client authenticated with (section 5.2 requires Basic after Basic).
 */
export function oauthError(
  status: number,
  error: string,
  description: string,
  scheme: 'Bearer' | 'Basic' = 'Bearer',
): Response {
  const challenge = scheme === 'Basic' ? 'Basic realm="parachute"' : `Bearer error="${error}"`;
  const headers: Record<string, string> = status === 401 ? { 'www-authenticate': challenge } : {};
  return noStoreJson(status, { error, error_description: description }, headers);
}

/** Public metadata: revalidated on every use, so a newly installed module's scopes show at once. */
export function metadataJson(body: unknown): Response {
  return new Response(JSON.stringify(body), {
    headers: {
      'content-type': 'application/json',
      'cache-control': 'no-cache',
      ...CORS_HEADERS,
    },
  });
}
