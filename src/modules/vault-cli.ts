import type { ModuleManager } from './manager.ts';

/** The vault CLI gets this long per command; past it, it is killed and the step fails. */
const CLI_TIMEOUT_MS = 30_000;
/** How much of the CLI's stderr an error description carries. */
const STDERR_TAIL = 600;

/** The module that serves vaults: the one mounting `/vault/<name>`, else the row `parachute-vault`. */
export interface VaultModule {
  /** services.json row name. */
  row: string;
  version: string;
}

const VAULT_MOUNT = /^\/vault\/[^/]+\/?$/;

export function findVaultModule(modules: ModuleManager): VaultModule | null {
  const views = modules.list();
  const view =
    views.find((v) => v.paths.some((p) => VAULT_MOUNT.test(p))) ??
    views.find((v) => v.name === 'parachute-vault');
  return view ? { row: view.name, version: view.version } : null;
}

export interface CliResult {
  ok: boolean;
  stdout: string;
  /** Why it failed, with the tail of its stderr; empty when it succeeded. */
  problem: string;
}

/**
 * Runs the vault module's own CLI (`<cli> create <name> --json`,
 * `<cli> remove <name> --yes`, as upstream's hub does): its startCmd[0]
 * resolved as the supervisor resolves it, in the module's folder and
 * environment, killed after CLI_TIMEOUT_MS.
 */
export async function runVaultCli(
  modules: ModuleManager,
  vault: VaultModule,
  args: string[],
): Promise<CliResult> {
  const command = modules.commandOf(vault.row);
  if (!command) {
    return {
      ok: false,
      stdout: '',
      problem: `${vault.row} has no start command whose program can be found, so its CLI cannot be run`,
    };
  }
  const child = Bun.spawn([command.program, ...args], {
    cwd: command.cwd,
    env: command.env,
    stdin: 'ignore',
    stdout: 'pipe',
    stderr: 'pipe',
  });
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    child.kill('SIGKILL');
  }, CLI_TIMEOUT_MS);
  const [stdout, stderr, code] = await Promise.all([
    new Response(child.stdout).text(),
    new Response(child.stderr).text(),
    child.exited,
  ]);
  clearTimeout(timer);
  if (code === 0 && !timedOut) return { ok: true, stdout, problem: '' };
  const tail = stderr.trim().slice(-STDERR_TAIL);
  const what = timedOut ? `did not finish within ${CLI_TIMEOUT_MS / 1000} s` : `exited ${code}`;
  return {
    ok: false,
    stdout,
    problem: `\`${[command.program.split('/').pop(), ...args].join(' ')}\` ${what}${tail ? `: ${tail}` : ''}`,
  };
}

/** The last line of the CLI's stdout that is a JSON object (`--json` prints one). */
export function lastJsonLine(stdout: string): Record<string, unknown> | null {
  for (const line of stdout.trim().split('\n').reverse()) {
    try {
      const value = JSON.parse(line);
      if (value && typeof value === 'object' && !Array.isArray(value)) return value;
    } catch {
      // Not JSON: a log line.
    }
  }
  return null;
}
