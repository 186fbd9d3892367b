/**
 * The hub's own log lines, prefixed `[hub]` the way module lines are
 * prefixed `[name]`, so one journal reads as one story. No timestamps:
 * journald and launchd add their own.
 */
export const log = {
  info(message: string): void {
    process.stdout.write(`[hub] ${message}\n`);
  },
  warn(message: string): void {
    process.stderr.write(`[hub] warning: ${message}\n`);
  },
  error(message: string): void {
    process.stderr.write(`[hub] error: ${message}\n`);
  },
};
