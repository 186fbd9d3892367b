const format = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });

/** A Unix-ms time as the reader's local date and time. */
export function formatTime(ms: number): string {
  return format.format(new Date(ms));
}
