import { UsageError } from './command.ts';

/** A --port value: a whole number from 0 to 65535, else a UsageError saying so. */
export function parsePort(raw: string): number {
  const port = Number(raw);
  if (!/^\d+$/.test(raw.trim()) || port > 65535) {
    throw new UsageError(`invalid port "${raw}": use a number from 0 to 65535`);
  }
  return port;
}
