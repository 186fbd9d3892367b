/**
 * PARACHUTE_HOME and PORT as an installed unit file sets them, so the CLI
 * (run by root or by the unit's user) finds the hub the unit runs, and a
 * re-install keeps what was chosen before. Reads only files our renderers
 * wrote (systemd-unit.ts, launchd-plist.ts).
 */
export function unitSettings(text: string): { home?: string; port?: number } {
  const found: Record<string, string> = {};
  // systemd: Environment=NAME=value, or Environment="NAME=value" when quoted.
  for (const m of text.matchAll(/^Environment=(?:"((?:[^"\\]|\\.)*)"|(\S+))\s*$/gm)) {
    const word = m[1] !== undefined ? m[1].replace(/\\(.)/g, '$1') : (m[2] as string);
    const eq = word.indexOf('=');
    if (eq > 0) found[word.slice(0, eq)] = word.slice(eq + 1).replaceAll('%%', '%');
  }
  // launchd: <key>NAME</key> followed by <string>value</string>.
  for (const m of text.matchAll(/<key>(PARACHUTE_HOME|PORT)<\/key>\s*<string>([^<]*)<\/string>/g)) {
    found[m[1] as string] = unxml(m[2] as string);
  }
  const port = Number(found.PORT);
  return {
    ...(found.PARACHUTE_HOME ? { home: found.PARACHUTE_HOME } : {}),
    ...(Number.isInteger(port) && found.PORT ? { port } : {}),
  };
}

function unxml(value: string): string {
  return value
    .replaceAll('&lt;', '<')
    .replaceAll('&gt;', '>')
    .replaceAll('&quot;', '"')
    .replaceAll('&amp;', '&');
}
