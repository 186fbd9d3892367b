import { existsSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { checkExport } from '../backup/import.ts';
import { fetchFlyApp, flyAppOrigin } from '../fly/app-url.ts';
import { OperatorError } from '../platform/operator-error.ts';
import { hubPaths } from '../platform/paths.ts';
import { cliHome } from './cli-home.ts';
import { type Command, EXIT, UsageError } from './command.ts';
import { parseFlags } from './flags.ts';
import { HubClient, reportError } from './hub-client.ts';

export const exportCommand: Command = {
  name: 'export',
  usage: 'parachute export [-o file.tar.gz] [--from fly --app NAME]',
  summary: 'Save the whole hub (accounts, apps, modules and their data) to one file',
  help: [
    'Asks the running hub for a consistent snapshot (it keeps serving meanwhile) and',
    'saves it; `parachute import <file>` restores it into an empty PARACHUTE_HOME.',
    'The file holds password hashes, signing keys and module secrets: keep it private.',
    '',
    'Options:',
    '  -o, --output F   where to write it (default ./parachute-export-<time>.tar.gz);',
    '                   an existing file is not overwritten',
    '  --from fly --app NAME',
    '                   export the hub running on Fly at https://NAME.fly.dev instead (the way',
    '                   back from `parachute deploy fly`), with PARACHUTE_TOKEN, else this',
    "                   home's operator.token, as an admin token",
  ].join('\n'),
  async run(args) {
    const { values, positionals } = parseFlags(
      args,
      { output: 'value', from: 'value', app: 'value' },
      { '-o': 'output' },
    );
    if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"`);
    if (values.from !== undefined && values.from !== 'fly')
      throw new UsageError(`--from takes fly, not "${values.from}"`);
    const app = typeof values.app === 'string' ? values.app : undefined;
    if (values.from === 'fly' && !app) throw new UsageError('--from fly needs --app NAME');
    if (app !== undefined && values.from !== 'fly')
      throw new UsageError('--app goes with --from fly');
    const stamp = new Date().toISOString().replace(/[:.]/g, '-');
    const out = resolve(
      typeof values.output === 'string' ? values.output : `parachute-export-${stamp}.tar.gz`,
    );
    if (existsSync(out)) throw new UsageError(`${out} already exists; give another -o file`);
    // Written under a temporary name and renamed once whole and verified, so an
    // interrupted export never leaves a file that looks like a good one.
    const partial = `${out}.partial`;
    try {
      const res = app
        ? await downloadFromFly(app)
        : await HubClient.connect().download('/api/hub/export');
      // It holds password hashes and keys: owner-only from the first byte.
      writeFileSync(partial, '', { mode: 0o600 });
      const written = await Bun.write(partial, res).catch((error: Error) => {
        throw cut(error.message);
      });
      // A download cut short fails here: the archive must read to its end and match its manifest.
      const manifest = await checkExport(partial).catch(() => {
        throw cut('what arrived is incomplete or does not match its manifest');
      });
      renameSync(partial, out);
      console.log(
        `exported ${manifest.files.length} files (${written} bytes) of hub ${manifest.hub_version} to ${out}`,
      );
      return EXIT.ok;
    } catch (error) {
      rmSync(partial, { force: true });
      return reportError(error);
    }
  },
};

/** GET https://NAME.fly.dev/api/hub/export with PARACHUTE_TOKEN or the local operator token. */
async function downloadFromFly(app: string): Promise<Response> {
  const url = `${flyAppOrigin(app)}/api/hub/export`;
  const token = process.env.PARACHUTE_TOKEN?.trim() || localOperatorToken();
  if (!token) {
    throw new OperatorError(
      'no token to export with: PARACHUTE_TOKEN is not set and this home has no operator.token.',
      `Set PARACHUTE_TOKEN to an admin token of the Fly hub (its operator token: \`fly ssh console -a ${app} -C "cat /parachute/operator.token"\`).`,
    );
  }
  let res: Response;
  try {
    res = await fetchFlyApp(url, { headers: { authorization: `Bearer ${token}` } });
  } catch (error) {
    throw new OperatorError(
      `could not reach ${url}: ${(error as Error).message}`,
      `Is the app running? \`parachute deploy fly --app ${app}\` brings it up.`,
    );
  }
  if (res.ok && res.body) return res;
  const text = await res.text();
  const description = (() => {
    try {
      return (JSON.parse(text) as { error_description?: string }).error_description ?? text;
    } catch {
      return text.trim().slice(0, 200) || res.statusText;
    }
  })();
  if (res.status === 401 || res.status === 403) {
    throw new OperatorError(
      `${url} refused the token (${res.status}): ${description}`,
      `Set PARACHUTE_TOKEN to an admin token of that hub (its operator token: \`fly ssh console -a ${app} -C "cat /parachute/operator.token"\`).`,
    );
  }
  throw new OperatorError(
    `${url} answered ${res.status}: ${description}`,
    'Try again in a moment.',
  );
}

function localOperatorToken(): string | null {
  try {
    return readFileSync(hubPaths(cliHome()).operatorToken, 'utf8').trim() || null;
  } catch {
    return null;
  }
}

function cut(detail: string): OperatorError {
  return new OperatorError(
    `the export was cut off (${detail}); nothing was saved.`,
    'The hub may have stopped or restarted; check with `parachute status` and export again.',
  );
}
