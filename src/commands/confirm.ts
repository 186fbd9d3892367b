import { closeSync, openSync, readSync, writeSync } from 'node:fs';

/**
 * Asks a yes/no question on the terminal (/dev/tty, never stdin: under
 * `curl | sh` stdin is the script). Null when there is no terminal to ask
 * on, so the caller can require -y instead.
 */
export function askOnTty(question: string): boolean | null {
  let fd: number;
  try {
    fd = openSync('/dev/tty', 'r+');
  } catch {
    return null;
  }
  try {
    writeSync(fd, `${question} [y/N] `);
    const buffer = Buffer.alloc(256);
    const n = readSync(fd, buffer, 0, buffer.length, null);
    return /^y(es)?$/i.test(buffer.subarray(0, n).toString('utf8').trim());
  } catch {
    return null;
  } finally {
    closeSync(fd);
  }
}

/**
 * Asks for a secret on the terminal without echoing it (stty -echo on
 * /dev/tty, restored afterwards). Null when there is no terminal.
 */
export function askSecretOnTty(question: string): string | null {
  let fd: number;
  try {
    fd = openSync('/dev/tty', 'r+');
  } catch {
    return null;
  }
  const stty = (mode: string) =>
    Bun.spawnSync(['stty', mode], { stdin: fd, stdout: 'ignore', stderr: 'ignore' }).exitCode === 0;
  const hidden = stty('-echo');
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
    try {
      writeSync(fd, '\n');
    } catch {}
    closeSync(fd);
  }
}

/**
 * Asks for a line of text on the terminal (echoed), for confirmations that
 * must be typed out (an app's name before destroying it). Null when there is
 * no terminal.
 */
export function askLineOnTty(question: string): string | null {
  let fd: number;
  try {
    fd = openSync('/dev/tty', 'r+');
  } catch {
    return null;
  }
  try {
    writeSync(fd, `${question} `);
    const buffer = Buffer.alloc(1024);
    const n = readSync(fd, buffer, 0, buffer.length, null);
    return buffer.subarray(0, n).toString('utf8').trim();
  } catch {
    return null;
  } finally {
    closeSync(fd);
  }
}
