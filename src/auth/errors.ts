/** JSON error bodies of the auth APIs ({error, error_description}, modules.md section 6). */
export function authError(error: string, description: string) {
  return { error, error_description: description };
}

/** 429 rate_limited with Retry-After, for every route that counts failed password or code guesses. */
export function rateLimited(seconds: number, what = 'failed sign-ins'): Response {
  const minutes = Math.ceil(seconds / 60);
  return new Response(
    JSON.stringify(
      authError('rate_limited', `Too many ${what}. Try again in ${minutes} minute(s).`),
    ),
    {
      status: 429,
      headers: { 'content-type': 'application/json', 'retry-after': String(seconds) },
    },
  );
}
