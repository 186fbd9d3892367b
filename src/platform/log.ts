import { LogBuffer } from '../supervisor/log-buffer.ts';

/**
 * The hub's recent log lines (without the `[hub] ` prefix), bounded in bytes
 * like a module's, for GET /api/hub/logs. Only what `log` writes lands here:
 * `log.secret` lines never do.
 */
export const hubLogBuffer = new LogBuffer();

/**
 * The hub's own log lines, prefixed `[hub]` the way module lines are
 * prefixed `[name]`, so one journal reads as one story. No timestamps:
 * journald and launchd add their own. console.* is native in Bun, whereas
 * process.stdout would build Node's stream machinery in every hub process.
 */
export const log = {
  info(message: string): void {
    console.log(`[hub] ${message}`);
    hubLogBuffer.push({ ts: Date.now(), stream: 'out', line: message });
  },
  warn(message: string): void {
    console.error(`[hub] warning: ${message}`);
    hubLogBuffer.push({ ts: Date.now(), stream: 'err', line: `warning: ${message}` });
  },
  error(message: string): void {
    console.error(`[hub] error: ${message}`);
    hubLogBuffer.push({ ts: Date.now(), stream: 'err', line: `error: ${message}` });
  },
  /**
   * A line for the journal only (the bootstrap banner with its one-time
   * token): the admin UI's log view must never show it to a second reader.
   */
  secret(message: string): void {
    console.log(`[hub] ${message}`);
  },
};
