import { expect, test } from 'bun:test';
import { readFileSync } from 'node:fs';

// Another process reads the environment, as a module would: the wiped value
// is gone, every other variable (also one whose name starts the same) stays.
test.if(process.platform === 'linux')(
  'a wiped variable is gone from /proc/<pid>/environ; the others are intact',
  async () => {
    const script = `
      import { wipeFromEnviron } from ${JSON.stringify(`${import.meta.dir}/environ.ts`)};
      console.log(wipeFromEnviron('FX_SECRET'), wipeFromEnviron('FX_NEVER_SET'));
      await Bun.stdin.text();
    `;
    const child = Bun.spawn([process.execPath, '-e', script], {
      env: { FX_SECRET: 'hunter2 hunter2', FX_SECRET_NOT: 'kept', FX_OTHER: 'also kept' },
      stdin: 'pipe',
      stdout: 'pipe',
    });
    const reader = child.stdout.getReader();
    const first = new TextDecoder().decode((await reader.read()).value);
    expect(first.trim()).toBe('true true');
    const environ = readFileSync(`/proc/${child.pid}/environ`, 'latin1').split('\0');
    child.stdin.end();
    await child.exited;
    expect(environ.join('\n')).not.toContain('hunter2');
    expect(environ).toContain('FX_SECRET_NOT=kept');
    expect(environ).toContain('FX_OTHER=also kept');
  },
);
