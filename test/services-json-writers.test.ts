/**
 * services.json has two kinds of writer: the hub (install, upgrade,
 * uninstall) and modules (self-registration at boot). A module that renames
 * a copy it read before the hub's write drops the row the hub just added;
 * fx-stale-writer does exactly that, at the worst moment, and the hub must
 * put the row back (keeping the module's own change) so the module it just
 * installed stays routed and starts again after a restart.
 */
import { expect, test } from 'bun:test';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { waitFor } from './helpers/binary.ts';
import { packFixture } from './helpers/fixtures.ts';
import { hubWithOperator, install, running, trackHubs } from './helpers/modules.ts';

const hubs = trackHubs();

test('a row a module drops by rewriting services.json from a stale copy is put back, and the module keeps its change', async () => {
  const { url, call, hub } = await hubWithOperator(hubs);
  const servicesJson = join(hub.home, 'services.json');
  expect((await install(call, { package: await packFixture('stale-writer') })).state).toBe(
    'succeeded',
  );
  await running(call, 'fx-stale-writer');
  expect((await install(call, { package: await packFixture('good') })).state).toBe('succeeded');

  // The module did drop fx-good's row from the file.
  const dropped = await waitFor('the stale rewrite', async () => {
    const res = await fetch(`${url}/fx-stale-writer/dropped`);
    const body = (await res.json()) as { dropped: string[] | null };
    return body.dropped ?? undefined;
  });
  expect(dropped).toEqual(['parachute-fixture-good']);

  // The hub put it back, next to the module's own change.
  const rows = await waitFor('both rows in services.json', () => {
    const doc = JSON.parse(readFileSync(servicesJson, 'utf8')) as {
      services: { name: string; selfRegisteredAt?: string }[];
    };
    return doc.services.length === 2 ? doc.services : undefined;
  });
  expect(rows.map((r) => r.name).sort()).toEqual([
    'parachute-fixture-good',
    'parachute-fixture-stale-writer',
  ]);
  expect(
    rows.find((r) => r.name === 'parachute-fixture-stale-writer')?.selfRegisteredAt,
  ).toBeString();
  await running(call, 'fx-good');
  expect((await fetch(`${url}/fx-good/health`)).status).toBe(200);
  expect(hub.stderr()).toContain(
    'services.json lost the row of parachute-fixture-good to a module that rewrote the file at the same moment; the hub put it back',
  );
}, 90_000);
