import type { Database } from 'bun:sqlite';
import {
  generateBackupCodes,
  generateTotpSecret,
  hashBackupCode,
  totpUri,
  verifyTotp,
} from './totp.ts';
import type { User } from './users.ts';

/**
 * True if `code` is the user's current TOTP code (not one already used) or
 * one of their unused backup codes, which it then uses up.
 */
export function checkSecondFactor(db: Database, user: User, code: string): boolean {
  if (!user.totp_enabled || !user.totp_secret) return false;
  const step = verifyTotp(user.totp_secret, code, {
    nowMs: Date.now(),
    lastUsedStep: user.totp_last_step,
  });
  if (step !== null) {
    db.run('UPDATE users SET totp_last_step = ? WHERE id = ?', [step, user.id]);
    return true;
  }
  const used = db.run(
    'UPDATE backup_codes SET used_at = ? WHERE user_id = ? AND code_hash = ? AND used_at IS NULL',
    [Date.now(), user.id, hashBackupCode(code)],
  );
  return used.changes === 1;
}

/** Stores a fresh, not yet enabled secret and returns what the authenticator app needs. */
export function beginTotpEnrollment(db: Database, user: User, issuer: string) {
  const secret = generateTotpSecret();
  db.run('UPDATE users SET totp_secret = ?, totp_enabled = 0, totp_last_step = NULL WHERE id = ?', [
    secret,
    user.id,
  ]);
  return { secret, otpauth_url: totpUri({ issuer, account: user.username, secret }) };
}

/** Turns TOTP on once the user proved their app has the secret; returns new backup codes. */
export function completeTotpEnrollment(db: Database, user: User, code: string): string[] | null {
  if (!user.totp_secret) return null;
  const step = verifyTotp(user.totp_secret, code, { nowMs: Date.now(), lastUsedStep: null });
  if (step === null) return null;
  const codes = generateBackupCodes();
  db.transaction(() => {
    db.run('UPDATE users SET totp_enabled = 1, totp_last_step = ? WHERE id = ?', [step, user.id]);
    db.run('DELETE FROM backup_codes WHERE user_id = ?', [user.id]);
    for (const c of codes) {
      db.run('INSERT INTO backup_codes (user_id, code_hash) VALUES (?, ?)', [
        user.id,
        hashBackupCode(c),
      ]);
    }
  })();
  return codes;
}

/**
 * New backup codes for a user with TOTP on (the old ones lost or used up);
 * the old codes stop working. Returns the new ones, to show once.
 */
export function renewBackupCodes(db: Database, userId: string): string[] {
  const codes = generateBackupCodes();
  db.transaction(() => {
    db.run('DELETE FROM backup_codes WHERE user_id = ?', [userId]);
    for (const c of codes) {
      db.run('INSERT INTO backup_codes (user_id, code_hash) VALUES (?, ?)', [
        userId,
        hashBackupCode(c),
      ]);
    }
  })();
  return codes;
}

/** Turns TOTP off and forgets the secret and backup codes. */
export function disableTotp(db: Database, userId: string): void {
  db.transaction(() => {
    db.run(
      'UPDATE users SET totp_enabled = 0, totp_secret = NULL, totp_last_step = NULL WHERE id = ?',
      [userId],
    );
    db.run('DELETE FROM backup_codes WHERE user_id = ?', [userId]);
  })();
}
