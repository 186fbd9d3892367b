import { mintOperatorToken } from '../auth/operator-token.ts';
import { SigningKeys } from '../auth/signing-keys.ts';
import { users } from '../auth/users.ts';
import { OperatorError } from '../platform/operator-error.ts';
import { resolveOrigin } from '../platform/origin.ts';
import { hubPaths, resolveHome } from '../platform/paths.ts';
import { readRuntime } from '../platform/runtime-file.ts';
import { openStoreWhenUnlocked } from '../store/db.ts';
import { getSetting } from '../store/settings.ts';
import { type Command, EXIT, UsageError } from './command.ts';
import { reportOperatorError } from './report.ts';

/**
 * Both verbs work on hub.db directly, so they behave the same whether the
 * hub is running or not: SQLite (WAL) lets the CLI and the hub share the
 * file, and the hub reads signing keys and revocations from the database.
 */
export const token: Command = {
  name: 'token',
  usage: 'parachute token rotate | rotate-key',
  summary: 'Re-mint the operator token, or rotate the JWT signing key',
  help: [
    'rotate       write a new operator token to $PARACHUTE_HOME/operator.token (mode 0600)',
    '             and revoke the previous one',
    'rotate-key   make a new RSA signing key active; tokens signed by the old key',
    '             stay valid until they expire (it stays in the JWKS until then)',
  ].join('\n'),
  async run(args) {
    const [verb, ...rest] = args;
    if (rest.length > 0) throw new UsageError(`unexpected argument "${rest[0]}"`);
    if (verb !== 'rotate' && verb !== 'rotate-key') {
      throw new UsageError(
        verb ? `unknown token command "${verb}"` : 'say what to do: rotate or rotate-key',
      );
    }
    const home = resolveHome();
    try {
      const db = await openStoreWhenUnlocked(hubPaths(home).db);
      try {
        const keys = new SigningKeys(db);
        if (verb === 'rotate-key') {
          const kid = await keys.rotate();
          console.log(
            `new signing key ${kid} is active; the previous key stays published until its tokens expire`,
          );
          return EXIT.ok;
        }
        if (users.count(db, 'admin') === 0) {
          throw new OperatorError(
            'this hub has no admin yet.',
            'Finish setup at <hub>/admin/setup first; setup writes the operator token.',
          );
        }
        // The running hub knows its real port; otherwise the same default serve uses.
        const port = readRuntime(home)?.port ?? Number(process.env.PORT ?? 1939);
        const origin = resolveOrigin(getSetting(db, 'origin'), process.env, port).origin;
        const path = hubPaths(home).operatorToken;
        const { exp } = await mintOperatorToken({ db, keys, origin }, path);
        console.log(
          `operator token written to ${path} (expires ${new Date(exp * 1000).toISOString()})`,
        );
        return EXIT.ok;
      } finally {
        db.close();
      }
    } catch (error) {
      return reportOperatorError(error);
    }
  },
};
