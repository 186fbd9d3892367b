/** Password length rules of auth.md section 6. */
export const PASSWORD_MIN = 12;
export const PASSWORD_MAX = 256;

// OWASP's argon2id floor (19 MiB, 2 passes): strong, and a login does not
// need 64 MiB of RAM on a $3 machine.
const ARGON2 = { algorithm: 'argon2id', memoryCost: 19_456, timeCost: 2 } as const;

/** Why a password is refused, in words for the user, or null when it is acceptable. */
export function passwordProblem(password: string, username?: string): string | null {
  const length = [...password].length;
  if (length < PASSWORD_MIN)
    return `The password must be at least ${PASSWORD_MIN} characters long.`;
  if (length > PASSWORD_MAX) return `The password must be at most ${PASSWORD_MAX} characters long.`;
  if (username && password.toLowerCase() === username.toLowerCase()) {
    return 'The password must not be the username.';
  }
  return null;
}

/** argon2id hash in PHC string form. */
export function hashPassword(password: string): Promise<string> {
  return Bun.password.hash(password, ARGON2);
}

// Verifying against this when the user does not exist keeps "no such user"
// and "wrong password" equally slow, so timing does not reveal usernames.
let dummyHash: Promise<string> | undefined;

/** True when `password` matches `hash`; pass null for an unknown user to spend the same time. */
export async function verifyPassword(password: string, hash: string | null): Promise<boolean> {
  if (hash === null) {
    dummyHash ??= hashPassword('not-a-real-password-for-timing');
    await Bun.password.verify(password, await dummyHash).catch(() => false);
    return false;
  }
  return Bun.password.verify(password, hash).catch(() => false);
}

/** A random temporary password an admin hands to a new user (forced change at first login). */
export function temporaryPassword(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(15));
  return Buffer.from(bytes).toString('base64url');
}
