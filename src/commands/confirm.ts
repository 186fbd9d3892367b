import { closeSync, openSync, readSync, writeSync } from 'node:fs';

/**
 * Asks a yes/no question on the terminal (/dev/tty, never stdin: under
 * `curl | sh` stdin is the script). Null when there is no terminal to ask
 * on, so the caller can require -y instead.
 */
export function askOnTty(question: string): boolean | null {
  const answer = readLineFromTty(`${question} [y/N]`, { echo: true });
  return answer === null ? null : /^y(es)?$/i.test(answer.trim());
}

/**
 * Asks for a secret on the terminal without echoing it (stty -echo on
 * /dev/tty, restored afterwards). Null when there is no terminal.
 */
export function askSecretOnTty(question: string): string | null {
  return readLineFromTty(question, { echo: false });
}

/**
 * Asks for a line of text on the terminal (echoed), for confirmations that
 * must be typed out (an app's name before destroying it). Null when there is
 * no terminal.
 */
export function askLineOnTty(question: string): string | null {
  return readLineFromTty(question, { echo: true })?.trim() ?? null;
}

/** One line read from /dev/tty after `question`, without its newline; null without a terminal. */
function readLineFromTty(question: string, options: { echo: boolean }): string | null {
  let fd: number;
  try {
    fd = openSync('/dev/tty', 'r+');
  } catch {
    return null;
  }
  const stty = (mode: string) =>
    Bun.spawnSync(['stty', mode], { stdin: fd, stdout: 'ignore', stderr: 'ignore' }).exitCode === 0;
  const hidden = !options.echo && stty('-echo');
  try {
    writeSync(fd, `${question} `);
    const buffer = Buffer.alloc(4096);
    const n = readSync(fd, buffer, 0, buffer.length, null);
    return buffer
      .subarray(0, n)
      .toString('utf8')
      .replace(/\r?\n$/, '');
  } catch {
    return null;
  } finally {
    if (hidden) stty('echo');
    if (!options.echo) {
      // The Enter the person typed was not echoed either.
      try {
        writeSync(fd, '\n');
      } catch {}
    }
    closeSync(fd);
  }
}
