import { readFileSync, rmSync } from 'node:fs';
import { wipeFromEnviron } from '../platform/environ.ts';
import { log } from '../platform/log.ts';
import { OperatorError } from '../platform/operator-error.ts';
import type { AuthContext } from './context.ts';
import { hashPassword, passwordProblem } from './passwords.ts';
import { USERNAME_PATTERN, users } from './users.ts';

type Env = Record<string, string | undefined>;

const USERNAME_VAR = 'PARACHUTE_INITIAL_ADMIN_USERNAME';
const PASSWORD_VAR = 'PARACHUTE_INITIAL_ADMIN_PASSWORD';
const FILE_VAR = 'PARACHUTE_INITIAL_ADMIN_PASSWORD_FILE';

/**
 * Creates the first admin from PARACHUTE_INITIAL_ADMIN_USERNAME and a password
 * given in PARACHUTE_INITIAL_ADMIN_PASSWORD or in the file
 * PARACHUTE_INITIAL_ADMIN_PASSWORD_FILE names, when no admin exists yet.
 */
export async function seedInitialAdmin(ctx: AuthContext, env: Env): Promise<void> {
  // Taken at every boot, not only the first: the variable may stay in a unit or
  // a platform's secrets long after the admin exists (product.md invariant 6).
  const fromEnv = takePasswordVariable(env);
  const file = env[FILE_VAR];
  if (ctx.hasAdmin) {
    if (fromEnv !== undefined || file) {
      log.info(`${fromEnv !== undefined ? PASSWORD_VAR : FILE_VAR} is ignored: an admin exists.`);
    }
    return;
  }
  const username = env[USERNAME_VAR]?.trim();
  if (fromEnv !== undefined && file) {
    throw new OperatorError(
      `${PASSWORD_VAR} and ${FILE_VAR} are both set.`,
      `Set only one of them (the file keeps the password out of the environment).`,
    );
  }
  const password = fromEnv ?? (file ? readPasswordFile(file) : undefined);
  if (!username || !password) return;
  await createAdmin(ctx, username, password);
  if (file) removePasswordFile(file);
}

/**
 * The password from the environment, removed from `env` (which modules and
 * installs are given) and wiped from the process's environment block.
 */
function takePasswordVariable(env: Env): string | undefined {
  const password = env[PASSWORD_VAR];
  if (password === undefined) return undefined;
  delete env[PASSWORD_VAR];
  if (!wipeFromEnviron(PASSWORD_VAR)) {
    log.warn(
      `${PASSWORD_VAR} stays readable by processes of this OS user (ps e, /proc/<pid>/environ) on this system. ` +
        `Prefer ${FILE_VAR}.`,
    );
  }
  return password;
}

function readPasswordFile(file: string): string {
  try {
    // The newline `echo` or an editor leaves at the end is not part of the password.
    return readFileSync(file, 'utf8').replace(/(\r?\n)+$/, '');
  } catch (error) {
    throw new OperatorError(
      `${FILE_VAR}: cannot read ${file} (${(error as NodeJS.ErrnoException).code ?? error}).`,
      'Check the path and that the hub’s user may read it, or unset it to use the setup page.',
    );
  }
}

function removePasswordFile(file: string): void {
  try {
    rmSync(file);
    log.info(`removed ${file} (${FILE_VAR}): it has been used`);
  } catch (error) {
    log.warn(
      `could not remove ${file} (${(error as NodeJS.ErrnoException).code ?? error}): remove it yourself; ` +
        'processes of this OS user can read it.',
    );
  }
}

async function createAdmin(ctx: AuthContext, username: string, password: string): Promise<void> {
  if (!USERNAME_PATTERN.test(username)) {
    throw new OperatorError(
      `${USERNAME_VAR} "${username}" is not a valid username.`,
      'Use 1-64 letters, digits, dots, dashes or underscores, starting with a letter or digit.',
    );
  }
  const weak = passwordProblem(password, username);
  if (weak) {
    throw new OperatorError(
      `The initial admin password is refused: ${weak}`,
      'Set a stronger password and start again.',
    );
  }
  if (users.byUsername(ctx.db, username)) {
    throw new OperatorError(
      `${USERNAME_VAR} "${username}" already exists as a non-admin user.`,
      'Choose another username for the first admin.',
    );
  }
  users.create(ctx.db, {
    username,
    passwordHash: await hashPassword(password),
    role: 'admin',
    mustChangePassword: false,
  });
  ctx.refreshAdminExists();
  log.info(`admin "${username}" created from ${USERNAME_VAR}`);
}
