import { describe, expect, test } from 'bun:test';
import type { BackupStatus } from '../backup/backup-types.ts';
import type { LiveModule } from '../modules/live-modules.ts';
import type { OAuthClient } from '../oauth-types.ts';
import { APPS_SHOWN, attentionItems } from './attention.ts';

const mod = (name: string, state: string): LiveModule => ({
  name,
  module: name,
  displayName: null,
  state,
  version: '1.0.0',
  paths: [],
  dataDir: null,
  pid: null,
  port: 1,
  uptimeMs: null,
  restarts: 0,
  lastError: null,
  resources: null,
});

const app = (id: string, status: OAuthClient['status']): OAuthClient => ({
  client_id: id,
  client_name: id === 'nameless' ? null : id,
  client_uri: null,
  redirect_uris: [],
  status,
  created_at: 1,
  grant_count: 0,
});

describe('attentionItems', () => {
  test('troubled modules need attention; running, stopped and starting ones do not', () => {
    const states = ['running', 'stopped', 'starting', 'stopping', 'crashed', 'backoff', 'unbound'];
    const items = attentionItems({ modules: states.map((s) => mod(s, s)), apps: null });
    expect(items.map((i) => i.title)).toEqual(['crashed', 'backoff', 'unbound']);
    expect(items[0]).toMatchObject({
      fix: { href: '/admin/modules#module-crashed' },
      logs: { href: '/admin/logs/crashed' },
    });
  });

  test('pending apps link to where they are approved; approved and denied ones are done', () => {
    const items = attentionItems({
      modules: null,
      apps: [app('a', 'approved'), app('nameless', 'pending'), app('d', 'denied')],
    });
    expect(items).toEqual([
      {
        kind: 'app',
        key: 'app nameless',
        title: 'An unnamed app',
        registeredAt: 1,
        fix: { href: '/admin/apps', label: 'Review in Connected apps' },
      },
    ]);
  });

  test('a flood of registrations is one line after the first few', () => {
    const apps = Array.from({ length: 40 }, (_, i) => app(`app${i}`, 'pending'));
    const items = attentionItems({ modules: [mod('x', 'crashed')], apps });
    expect(items).toHaveLength(1 + APPS_SHOWN + 1);
    expect(items[0]?.kind).toBe('module');
    expect(items.at(-1)?.title).toBe(`${40 - APPS_SHOWN} more apps wait for approval`);
  });
});

test('an available upgrade joins the list after what is broken, linking to the Upgrade page', () => {
  const none = attentionItems({
    modules: [],
    apps: [],
    upgrade: { current: '0.1.0', latest: '0.1.0', available: false },
  });
  expect(none).toEqual([]);
  const items = attentionItems({
    modules: [],
    apps: [],
    upgrade: { current: '0.1.0', latest: '0.2.0', available: true },
  });
  expect(items).toEqual([
    {
      kind: 'upgrade',
      key: 'upgrade',
      title: 'Parachute 0.2.0 is available',
      current: '0.1.0',
      latest: '0.2.0',
      fix: { href: '/admin/upgrade', label: 'Open Upgrade' },
    },
  ]);
});

test('a failing or missing backup comes after broken modules and before apps, linking to Backup', () => {
  const status = (state: BackupStatus['state']): BackupStatus => ({
    state,
    message: `The hub says ${state}.`,
    last_good_at: state === 'failing' ? 1_000 : null,
    next_run_at: null,
  });
  for (const state of ['off', 'ok', 'running'] as const) {
    expect(attentionItems({ modules: [], apps: [], backup: status(state) })).toEqual([]);
  }
  const failing = attentionItems({
    modules: [mod('x', 'crashed')],
    apps: [app('p', 'pending')],
    backup: status('failing'),
  });
  expect(failing.map((i) => i.kind)).toEqual(['module', 'backup', 'app']);
  expect(failing[1]).toEqual({
    kind: 'backup',
    key: 'backup',
    title: 'The last backup failed',
    message: 'The hub says failing.',
    lastGoodAt: 1_000,
    fix: { href: '/admin/backup', label: 'Open Backup' },
  });
  const missing = attentionItems({ modules: [], apps: [], backup: status('missing') });
  expect(missing).toMatchObject([
    { kind: 'backup', title: 'No recent good backup', lastGoodAt: null },
  ]);
});
