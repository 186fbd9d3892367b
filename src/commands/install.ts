import { existsSync, statSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { OperatorError } from '../platform/operator-error.ts';
import { type Command, UsageError } from './command.ts';
import { connectEnsuringHub } from './ensure-hub.ts';
import { parseFlags } from './flags.ts';
import { followOperation } from './follow-operation.ts';
import { reportError } from './hub-client.ts';

export const install: Command = {
  name: 'install',
  usage: 'parachute install <package|folder|file.tgz> [--channel C] [--manifest file.json]',
  summary: 'Install a module into the running hub and start it',
  help: [
    'The package is an npm name (`vault`, `@scope/x@1.2.3`), a local folder or a .tgz.',
    'Progress is printed as the hub works; exit 0 once the module is installed and up.',
    '',
    'Options:',
    '  --channel C          version or dist-tag to install (default latest)',
    '  --manifest FILE      module.json for a package that ships none',
  ].join('\n'),
  async run(args) {
    const { values, positionals } = parseFlags(args, { channel: 'value', manifest: 'value' });
    const [spec, extra] = positionals;
    if (!spec) throw new UsageError('say what to install');
    if (extra !== undefined) throw new UsageError(`unexpected argument "${extra}"`);
    try {
      const local = localPath(spec);
      if (local && values.channel !== undefined) {
        throw new UsageError('--channel applies to npm packages, not to a local folder or file');
      }
      const body = {
        package: local ?? spec,
        ...(typeof values.channel === 'string' ? { channel: values.channel } : {}),
        ...(typeof values.manifest === 'string'
          ? { manifest: await readManifest(values.manifest) }
          : {}),
      };
      const client = await connectEnsuringHub();
      // A hub running as another user (the system unit's `parachute`, with a
      // private /tmp) cannot read the caller's files: send a tarball instead.
      const upload = local !== null && statSync(local).isFile() && !sameOwner(client.home);
      if (upload && values.manifest !== undefined) {
        throw new OperatorError(
          `the hub runs as another user and cannot read ${local}; --manifest needs a path it can read.`,
          'Copy the tarball where the hub’s user can read it (not /tmp), or put .parachute/module.json in the package.',
        );
      }
      const { operation_id } = upload
        ? await client.call<{ operation_id: string }>(
            'POST',
            '/api/modules/upload',
            Bun.file(local as string),
          )
        : await client.call<{ operation_id: string }>('POST', '/api/modules/install', body);
      return await followOperation(client, operation_id);
    } catch (error) {
      return reportError(error);
    }
  },
};

/** True when the hub's home belongs to the user running this command (so the hub can read our files). */
function sameOwner(home: string): boolean {
  return statSync(home).uid === process.getuid?.();
}

/**
 * The absolute path of a local folder or tarball, or null for an npm spec.
 * Same test as the hub's installer, which resolves relative paths against
 * its own working directory, not the caller's.
 */
function localPath(spec: string): string | null {
  const home = process.env.HOME;
  const expanded = spec.startsWith('~/') && home ? `${home}${spec.slice(1)}` : spec;
  const looksLocal =
    expanded.startsWith('.') || isAbsolute(expanded) || /\.(tgz|tar\.gz|tar)$/.test(expanded);
  if (!looksLocal && !existsSync(expanded)) return null;
  const path = resolve(expanded);
  if (!existsSync(path)) {
    throw new OperatorError(
      `${path} does not exist.`,
      'Give a package folder, a .tgz, or an npm name.',
    );
  }
  return path;
}

async function readManifest(path: string): Promise<unknown> {
  const file = Bun.file(path);
  if (!(await file.exists())) {
    throw new OperatorError(
      `manifest file ${resolve(path)} does not exist.`,
      'Check the --manifest path.',
    );
  }
  let manifest: unknown;
  try {
    manifest = JSON.parse(await file.text());
  } catch (error) {
    throw new OperatorError(
      `manifest file ${resolve(path)} is not valid JSON: ${(error as Error).message}`,
      MANIFEST_HINT,
    );
  }
  if (typeof manifest !== 'object' || manifest === null || Array.isArray(manifest)) {
    throw new OperatorError(`manifest file ${resolve(path)} is not a JSON object.`, MANIFEST_HINT);
  }
  return manifest;
}

// The hub validates the fields; the CLI only makes sure there is an object to send.
const MANIFEST_HINT =
  'It must hold one module.json object: {"name", "manifestName", "port", "paths", "health", "startCmd"}.';
