// Cloudflare's DNS records API (v4): the few calls provisioning needs. Every
// answer comes in Cloudflare's envelope {success, errors, messages, result}.
import { z } from 'zod';

const Record_ = z.looseObject({
  id: z.string(),
  type: z.string(),
  name: z.string(),
  content: z.string(),
});
export type DnsRecord = z.infer<typeof Record_>;

const Envelope = z.looseObject({
  success: z.boolean(),
  errors: z.array(z.looseObject({ code: z.number().optional(), message: z.string() })).default([]),
  result: z.unknown(),
});

export class DnsApiError extends Error {
  override name = 'DnsApiError';
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export interface DnsOptions {
  api: string;
  token: string;
  zoneId: string;
}

export class CloudflareDns {
  constructor(private readonly options: DnsOptions) {}

  /** Every record named `name` (any type): a name with one is not free. */
  async recordsNamed(name: string): Promise<DnsRecord[]> {
    const result = await this.call('GET', `?name=${encodeURIComponent(name)}`);
    return z.array(Record_).parse(result);
  }

  /** The CNAME `name` → `target`, made unless it exists already; returns its record id. */
  async ensureCname(name: string, target: string): Promise<string> {
    const existing = await this.recordsNamed(name);
    const same = existing.find((r) => r.type === 'CNAME' && r.content === target);
    if (same) return same.id;
    if (existing.length > 0) {
      throw new DnsApiError(
        409,
        `${name} already has a ${existing[0]?.type} record we did not make`,
      );
    }
    const result = await this.call('POST', '', {
      type: 'CNAME',
      name,
      content: target,
      ttl: 1,
      // Fly terminates TLS and answers the ACME challenge itself: not through Cloudflare's proxy.
      proxied: false,
      comment: 'parachute provisioner',
    });
    return Record_.parse(result).id;
  }

  async deleteRecord(id: string): Promise<void> {
    await this.call('DELETE', `/${encodeURIComponent(id)}`, undefined, [404]);
  }

  private async call(method: string, suffix: string, body?: unknown, accept: number[] = []) {
    const url = `${this.options.api.replace(/\/+$/, '')}/zones/${encodeURIComponent(this.options.zoneId)}/dns_records${suffix}`;
    const res = await fetch(url, {
      method,
      headers: {
        authorization: `Bearer ${this.options.token}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(30_000),
      redirect: 'error',
    });
    if (accept.includes(res.status)) {
      await res.body?.cancel();
      return null;
    }
    const text = await res.text();
    let parsed: z.infer<typeof Envelope>;
    try {
      parsed = Envelope.parse(JSON.parse(text));
    } catch {
      throw new DnsApiError(
        res.status,
        `Cloudflare answered ${res.status} without its JSON envelope`,
      );
    }
    if (!res.ok || !parsed.success) {
      const why = parsed.errors.map((e) => `${e.code ?? ''} ${e.message}`.trim()).join('; ');
      throw new DnsApiError(res.status, `Cloudflare ${method} dns_records: ${res.status} ${why}`);
    }
    return parsed.result;
  }
}
