import { afterAll, describe, expect, test } from 'bun:test';
import { VisitorPools } from './visitor-pools.ts';

// A module on loopback that answers with the address and port of the
// connection each request came on: equal answers, one connection.
const module_ = Bun.serve({
  port: 0,
  hostname: '127.0.0.1',
  fetch(req, server) {
    const ip = server.requestIP(req);
    return new Response(`${ip?.address}:${ip?.port}`);
  },
});
afterAll(() => module_.stop(true));
const url = `http://127.0.0.1:${module_.port}/`;

async function via(session: Bun.FetchSession | null): Promise<string> {
  const res = await (session?.fetch ?? fetch)(url, { keepalive: session !== null });
  return res.text();
}

describe('a pool per visitor connection', () => {
  test('one visitor connection reuses one module connection; another never gets it', async () => {
    const pools = new VisitorPools(60_000);
    const a = pools.session('203.0.113.9', 50_001);
    const b = pools.session('203.0.113.9', 50_002);
    expect(a).not.toBeNull();
    expect(pools.session('203.0.113.9', 50_001)).toBe(a);
    expect(b).not.toBe(a);
    const a1 = await via(a);
    const a2 = await via(a);
    const b1 = await via(b);
    expect(a2).toBe(a1);
    expect(b1).not.toBe(a1);
    pools.closeAll();
    expect(pools.size).toBe(0);
  });

  test('an unknown peer, or a full table, gets no pool (a connection per request)', () => {
    const pools = new VisitorPools(60_000, 2);
    expect(pools.session(undefined, 1)).toBeNull();
    expect(pools.session('127.0.0.1', undefined)).toBeNull();
    expect(pools.session('127.0.0.1', 1)).not.toBeNull();
    expect(pools.session('127.0.0.1', 2)).not.toBeNull();
    expect(pools.session('127.0.0.1', 3)).toBeNull();
    // A visitor that has one keeps it.
    expect(pools.session('127.0.0.1', 1)).not.toBeNull();
    pools.closeAll();
  });

  test('a pool idle for its time is closed and forgotten: the next request from that peer gets a new one', async () => {
    const pools = new VisitorPools(100);
    const first = pools.session('127.0.0.1', 40_000);
    const before = await via(first);
    // Polled with a deadline: the sweep runs every idle/4 ms.
    const deadline = performance.now() + 5_000;
    while (pools.size > 0 && performance.now() < deadline) await Bun.sleep(20);
    expect(pools.size).toBe(0);
    const second = pools.session('127.0.0.1', 40_000);
    expect(second).not.toBe(first);
    // The old pool's idle connection was closed: the new pool opens another.
    expect(await via(second)).not.toBe(before);
    pools.closeAll();
  });
});
