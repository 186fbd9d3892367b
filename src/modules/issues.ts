import type * as z from 'zod/mini';

// zod/mini carries no English messages (every issue says "Invalid input"),
// and a module author fixing module.json needs the field and what it must
// be: `health: required`, `port: expected a whole number, got the string "80"`.

const MAX_LISTED = 5;

/**
 * Every failing field of `input` as `field: what is wrong`, joined by `; `
 * (at most five, then how many more). `input` is the value that was
 * parsed: it tells a missing field ("required") from a wrong one.
 */
export function describeIssue(error: z.core.$ZodError, input: unknown): string {
  const lines = error.issues.map(
    (issue) =>
      `${issue.path.map(String).join('.') || '(the whole document)'}: ${explain(issue, valueAt(input, issue.path))}`,
  );
  const more = lines.length - MAX_LISTED;
  return lines.slice(0, MAX_LISTED).join('; ') + (more > 0 ? `; and ${more} more` : '');
}

/**
 * The same words keyed by top-level field (`port`, `paths`), the first
 * problem of each: what a form shows next to the field it names.
 */
export function issueFields(error: z.core.$ZodError, input: unknown): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const issue of error.issues) {
    const key = issue.path.length > 0 ? String(issue.path[0]) : '(the whole document)';
    const rest = issue.path.slice(1).map(String).join('.');
    fields[key] ??= `${rest ? `${rest}: ` : ''}${explain(issue, valueAt(input, issue.path))}`;
  }
  return fields;
}

function explain(issue: z.core.$ZodIssue, value: unknown): string {
  if (value === undefined && issue.path.length > 0) return 'required';
  switch (issue.code) {
    case 'invalid_type':
      return `expected ${noun(issue.expected)}, got ${shown(value)}`;
    case 'too_small':
      return bound('at least', issue.origin, Number(issue.minimum));
    case 'too_big':
      return bound('at most', issue.origin, Number(issue.maximum));
    case 'invalid_value':
      return `expected one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}, got ${shown(value)}`;
    default:
      // Our own checks carry their own words (`must start with /`).
      return issue.message === 'Invalid input'
        ? `invalid value ${shown(value)}`
        : `${issue.message} (got ${shown(value)})`;
  }
}

function bound(limit: string, origin: string, n: number): string {
  if (origin === 'string')
    return n === 1 && limit === 'at least'
      ? 'must not be empty'
      : `must be ${limit} ${n} characters long`;
  if (origin === 'array') return `must list ${limit} ${n} ${n === 1 ? 'entry' : 'entries'}`;
  return `must be ${limit} ${n}`;
}

function noun(expected: string): string {
  const nouns: Record<string, string> = {
    string: 'a string',
    number: 'a number',
    int: 'a whole number',
    boolean: 'true or false',
    array: 'a list',
    object: 'an object',
  };
  return nouns[expected] ?? expected;
}

function shown(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'string') {
    const text = value.length > 40 ? `${value.slice(0, 40)}…` : value;
    return `the string ${JSON.stringify(text)}`;
  }
  if (typeof value === 'object') return 'an object';
  return String(value);
}

function valueAt(input: unknown, path: readonly PropertyKey[]): unknown {
  let value = input;
  for (const key of path) {
    if (value === null || typeof value !== 'object') return undefined;
    value = (value as Record<PropertyKey, unknown>)[key];
  }
  return value;
}
