// A fake of Cloudflare's DNS records API (v4) on loopback: the zone's
// records in memory, Cloudflare's envelope {success, errors, messages,
// result}, its bearer check, and failures to inject.
//   GET    /client/v4/zones/:zone/dns_records[?type=&name=]
//   POST   /client/v4/zones/:zone/dns_records
//   DELETE /client/v4/zones/:zone/dns_records/:id

export interface FakeRecord {
  id: string;
  type: string;
  name: string;
  content: string;
  proxied: boolean;
  ttl: number;
  comment?: string;
}

export interface FakeDns {
  /** Base URL to give as CLOUDFLARE_API_BASE (ends in /client/v4). */
  api: string;
  token: string;
  zoneId: string;
  records(): FakeRecord[];
  calls: { method: string; path: string; status: number; at: number }[];
  /** The next `count` requests (optionally only this method) answer 500. */
  failNext(count: number, method?: string): void;
  stop(): Promise<void>;
}

const envelope = (
  status: number,
  result: unknown,
  errors: { code: number; message: string }[] = [],
) => Response.json({ success: errors.length === 0, errors, messages: [], result }, { status });

export function startFakeDns(
  options: {
    token?: string;
    zoneId?: string;
    /** Added before every answer (Cloudflare's API is some 150–300 ms away). */
    latencyMs?: number;
  } = {},
): FakeDns {
  const token = options.token ?? `cf-${crypto.randomUUID()}`;
  const zoneId = options.zoneId ?? crypto.randomUUID().replaceAll('-', '');
  const records = new Map<string, FakeRecord>();
  const calls: FakeDns['calls'] = [];
  let failing = 0;
  let failMethod: string | undefined;
  const base = `/client/v4/zones/${zoneId}/dns_records`;

  const answer = async (req: Request): Promise<Response> => {
    const url = new URL(req.url);
    if (req.headers.get('authorization') !== `Bearer ${token}`) {
      return envelope(403, null, [{ code: 10000, message: 'Authentication error' }]);
    }
    if (failing > 0 && (!failMethod || failMethod === req.method)) {
      failing--;
      return envelope(500, null, [{ code: 10001, message: 'Internal error (injected)' }]);
    }
    if (!url.pathname.startsWith(base)) {
      return envelope(404, null, [{ code: 7003, message: 'Could not route to the zone' }]);
    }
    const id = url.pathname.slice(base.length).replace(/^\//, '');
    if (req.method === 'GET' && id === '') {
      const type = url.searchParams.get('type');
      const name = url.searchParams.get('name');
      const list = [...records.values()].filter(
        (r) => (!type || r.type === type) && (!name || r.name === name),
      );
      return envelope(200, list);
    }
    if (req.method === 'POST' && id === '') {
      const body = (await req.json().catch(() => null)) as Partial<FakeRecord> | null;
      if (!body?.type || !body.name || !body.content) {
        return envelope(400, null, [
          { code: 9000, message: 'DNS record type, name and content are required' },
        ]);
      }
      // Cloudflare refuses a CNAME next to any other record of the same name.
      if ([...records.values()].some((r) => r.name === body.name)) {
        return envelope(400, null, [
          { code: 81053, message: 'An A, AAAA, or CNAME record with that host already exists.' },
        ]);
      }
      const record: FakeRecord = {
        id: crypto.randomUUID().replaceAll('-', ''),
        type: body.type,
        name: body.name,
        content: body.content,
        proxied: body.proxied ?? false,
        ttl: body.ttl ?? 1,
        comment: body.comment,
      };
      records.set(record.id, record);
      return envelope(200, record);
    }
    if (req.method === 'DELETE' && id !== '') {
      if (!records.delete(id)) {
        return envelope(404, null, [{ code: 81044, message: 'Record does not exist.' }]);
      }
      return envelope(200, { id });
    }
    return envelope(405, null, [{ code: 10405, message: 'Method not allowed' }]);
  };

  const server = Bun.serve({
    port: 0,
    hostname: '127.0.0.1',
    async fetch(req) {
      if (options.latencyMs) await Bun.sleep(options.latencyMs);
      const res = await answer(req);
      calls.push({
        method: req.method,
        path: new URL(req.url).pathname,
        status: res.status,
        at: Date.now(),
      });
      return res;
    },
  });
  return {
    api: `http://127.0.0.1:${server.port}/client/v4`,
    token,
    zoneId,
    records: () => [...records.values()],
    calls,
    failNext(count, method) {
      failing = count;
      failMethod = method;
    },
    stop: () => server.stop(true),
  };
}
