import { OperatorError } from '../platform/operator-error.ts';
import { type Command, EXIT, UsageError } from './command.ts';
import { ApiError, HubClient as Client, type HubClient, reportError } from './hub-client.ts';

export const setupToken: Command = {
  name: 'setup-token',
  usage: 'parachute setup-token',
  summary: 'Print the one-time setup token of a hub that has no admin yet',
  help: [
    'Reads the bootstrap token from the running hub over loopback with the operator',
    'token (a file only the hub’s user and root can read), so it never has to be',
    'copied from a log. Paste it at <hub>/admin/setup. Once an admin exists there is',
    'no token: sign in instead.',
  ].join('\n'),
  async run(args) {
    if (args.length > 0) throw new UsageError(`unexpected argument "${args[0]}"`);
    try {
      console.log(await readSetupToken(Client.connect()));
      return EXIT.ok;
    } catch (error) {
      return reportError(error);
    }
  },
};

/** GET /api/setup/token; "already set up" becomes an error that says where to sign in. */
export async function readSetupToken(client: HubClient): Promise<string> {
  try {
    const { bootstrap_token } = await client.call<{ bootstrap_token: string }>(
      'GET',
      '/api/setup/token',
    );
    return bootstrap_token;
  } catch (error) {
    if (error instanceof ApiError && error.code === 'already_set_up') {
      throw new OperatorError(
        'this hub already has an admin: there is no setup token any more.',
        `Sign in at ${client.origin}/login.`,
      );
    }
    throw error;
  }
}
