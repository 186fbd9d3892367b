/**
 * How a hub run by `parachute fly-boot` (the launcher on Fly) asks it for a
 * restart: it stops cleanly (modules first) and exits with one of these
 * codes, which the launcher reads (src/fly/launcher.ts).
 */

/** The hub binary on the volume was swapped by an upgrade: start it again and gate on /health. */
export const RESTART_EXIT = 75;
/** An import is staged in <home>/tmp/import: import it into the home, then start the hub again. */
export const IMPORT_EXIT = 76;

/** The value the launcher sets in its child's PARACHUTE_LAUNCHER. */
export const LAUNCHER_NAME = 'fly-boot';

type Env = Record<string, string | undefined>;

/** True when this hub was started by the launcher (which restarts it after an exit 75 or 76). */
export function underLauncher(env: Env): boolean {
  return env.PARACHUTE_LAUNCHER === LAUNCHER_NAME;
}

let settle: ((code: number) => void) | undefined;
const requested = new Promise<number>((resolve) => {
  settle = resolve;
});

/** Asks the serving hub to stop cleanly and exit with `code` (serve.ts waits for it). */
export function requestLauncherExit(code: typeof RESTART_EXIT | typeof IMPORT_EXIT): void {
  settle?.(code);
}

/**
 * Resolves with the exit code once one is asked for: by a route in this
 * process, or by SIGUSR2 from the upgrade (run-upgrade.ts, after it swapped
 * the binary). Only under the launcher: elsewhere SIGUSR2 keeps its default.
 */
export function launcherExitRequested(): Promise<number> {
  process.on('SIGUSR2', () => requestLauncherExit(RESTART_EXIT));
  return requested;
}
