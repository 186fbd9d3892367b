import { OperatorError } from '../operator-error.ts';

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a manager command (systemctl, launchctl, useradd …) to completion, capturing its output. */
export async function run(
  argv: string[],
  env: Record<string, string | undefined> = process.env,
): Promise<RunResult> {
  let proc: ReturnType<typeof Bun.spawn>;
  try {
    proc = Bun.spawn(argv, { env, stdin: 'ignore', stdout: 'pipe', stderr: 'pipe' });
  } catch (error) {
    throw new OperatorError(
      `could not run ${argv[0]}: ${(error as Error).message}`,
      `${argv[0]} must be on PATH to manage the hub's service.`,
    );
  }
  const [stdout, stderr, code] = await Promise.all([
    new Response(proc.stdout as ReadableStream).text(),
    new Response(proc.stderr as ReadableStream).text(),
    proc.exited,
  ]);
  return { code, stdout, stderr };
}

/** Runs argv and throws an OperatorError naming it and its output when it fails. */
export async function runOrFail(
  argv: string[],
  hint: string,
  env?: Record<string, string | undefined>,
): Promise<RunResult> {
  const result = await run(argv, env);
  if (result.code !== 0) {
    const said = `${result.stderr}${result.stdout}`.trim();
    throw new OperatorError(
      `\`${argv.join(' ')}\` failed (exit ${result.code})${said ? `: ${said}` : '.'}`,
      hint,
    );
  }
  return result;
}

/** systemctl --user finds the user's manager through XDG_RUNTIME_DIR, which su, cron and ssh without PAM do not always set. */
export function userManagerEnv(
  env: Record<string, string | undefined>,
): Record<string, string | undefined> {
  const uid = process.getuid?.();
  if (env.XDG_RUNTIME_DIR || uid === undefined || uid === 0) return env;
  return { ...env, XDG_RUNTIME_DIR: `/run/user/${uid}` };
}
