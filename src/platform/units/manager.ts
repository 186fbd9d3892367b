import type { UnitConfig, UnitScope } from './unit-config.ts';

/** What `unit install` did to the running hub. */
export type StartOutcome = 'started' | 'restarted' | 'already running' | 'not started';

/** One service manager (systemd system or user, launchd) driving the hub's unit. */
export interface UnitManager {
  scope: UnitScope;
  /** Whatever must exist before the unit is written: the account, linger, the log folder. */
  prepare(config: UnitConfig): Promise<void>;
  /** Loads the written unit, enables it at boot, and starts or restarts the hub as asked. */
  apply(options: {
    changed: boolean;
    restart: boolean;
    noStart: boolean;
    home: string;
  }): Promise<StartOutcome>;
  /** Starts the installed hub now (also after a crash loop hit the start limit). */
  start(): Promise<void>;
  /** The manager's word for the hub now: active, inactive, failed, running … */
  state(): Promise<string>;
  /** Stops the hub, disables the unit and forgets it; the caller removes the file. */
  remove(): Promise<void>;
  /** Called once the file is gone. */
  forget(): Promise<void>;
  /** The hub's recent output as the manager keeps it, for a start that did not come up. */
  recentLog(home: string): Promise<string>;
  /** The command that shows the hub's log, for messages. */
  logCommand(home: string): string;
}

/** True for states in which the manager has the hub running or coming up. */
export function isUp(state: string): boolean {
  return ['active', 'activating', 'reloading', 'running'].includes(state);
}
