/**
 * The hub's own log lines, prefixed `[hub]` the way module lines are
 * prefixed `[name]`, so one journal reads as one story. No timestamps:
 * journald and launchd add their own. console.* is native in Bun, whereas
 * process.stdout would build Node's stream machinery in every hub process.
 */
export const log = {
  info(message: string): void {
    console.log(`[hub] ${message}`);
  },
  warn(message: string): void {
    console.error(`[hub] warning: ${message}`);
  },
  error(message: string): void {
    console.error(`[hub] error: ${message}`);
  },
};
