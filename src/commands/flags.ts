import { UsageError } from './command.ts';

/** What a verb accepts: each flag takes a value (`--port 1939`, `--port=1939`) or is a switch. */
export type FlagSpec = Record<string, 'value' | 'switch'>;

export interface ParsedFlags {
  values: Record<string, string | true>;
  positionals: string[];
}

/**
 * Parses `args` against `spec`; an unknown flag or a missing value is a
 * UsageError naming it. `short` maps single-letter flags to long names
 * (`{ '-f': 'follow' }`). (node:util's parseArgs would page ~3 MB of runtime
 * code into every hub process for two flags.)
 */
export function parseFlags(
  args: string[],
  spec: FlagSpec,
  short: Record<string, string> = {},
): ParsedFlags {
  const values: Record<string, string | true> = {};
  const positionals: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const given = args[i] as string;
    // A short flag is rewritten to its long form, so one code path handles both.
    // (hasOwn: a positional such as `constructor` must not match Object.prototype.)
    const arg = Object.hasOwn(short, given) ? `--${short[given]}` : given;
    if (arg === '--') {
      positionals.push(...args.slice(i + 1));
      break;
    }
    if (!arg.startsWith('--') || arg === '--') {
      positionals.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const name = arg.slice(2, eq === -1 ? undefined : eq);
    const kind = spec[name];
    if (!kind) throw new UsageError(`unknown option --${name}`);
    if (kind === 'switch') {
      if (eq !== -1) throw new UsageError(`--${name} takes no value`);
      values[name] = true;
      continue;
    }
    const value = eq !== -1 ? arg.slice(eq + 1) : args[++i];
    if (value === undefined || (eq === -1 && value.startsWith('--'))) {
      throw new UsageError(`--${name} needs a value`);
    }
    values[name] = value;
  }
  return { values, positionals };
}
