// Fetching a URL a stranger chose (an OAuth client's metadata document),
// without letting them aim the hub at itself or its network (SSRF): https
// only, every address the name resolves to must be public, the connection
// goes to the address that was checked (so DNS cannot answer differently a
// moment later), redirects stay on the same host, and size and time are bounded.

import { lookup } from 'node:dns/promises';
import { isPublicAddress } from './public-address.ts';

export interface PublicFetchLimits {
  /** Largest body read, in bytes; a larger one is an error. */
  maxBytes: number;
  /** Deadline for the whole fetch: lookups, redirects and body. */
  timeoutMs: number;
  /** Host names whose non-public addresses are allowed (an operator's LAN clients). */
  privateHosts: ReadonlySet<string>;
}

export interface PublicFetchResult {
  status: number;
  headers: Headers;
  body: string;
  /** The URL that answered, after same-host redirects. */
  url: string;
}

/** Why a fetch was refused or failed, in words for the person connecting an app. */
export class PublicFetchError extends Error {}

const MAX_REDIRECTS = 3;

/** GETs `raw` under the rules above; throws PublicFetchError with the reason. */
export async function fetchPublic(
  raw: string,
  limits: PublicFetchLimits,
  accept = 'application/json',
): Promise<PublicFetchResult> {
  const signal = AbortSignal.timeout(limits.timeoutMs);
  try {
    return await fetchWithin(raw, limits, accept, signal);
  } catch (error) {
    if (error instanceof PublicFetchError) throw error;
    if (signal.aborted) {
      throw new PublicFetchError(`${raw} did not answer within ${limits.timeoutMs / 1000} s`);
    }
    throw new PublicFetchError(`${raw} could not be fetched (${describe(error)})`);
  }
}

async function fetchWithin(
  raw: string,
  limits: PublicFetchLimits,
  accept: string,
  signal: AbortSignal,
): Promise<PublicFetchResult> {
  let url = parseHttps(raw);
  for (let hop = 0; ; hop++) {
    const address = await publicAddressOf(url, limits, signal);
    const target = new URL(url);
    target.hostname = address.includes(':') ? `[${address}]` : address;
    const res = await fetch(target, {
      headers: { host: url.host, accept },
      redirect: 'manual',
      signal,
      // The certificate must be valid for the name, though the connection goes to the address.
      tls: { serverName: url.hostname.replace(/^\[|\]$/g, '') },
    });
    if (res.status >= 300 && res.status < 400 && res.headers.has('location')) {
      await res.body?.cancel();
      const next = URL.parse(res.headers.get('location') as string, url);
      if (!next || next.host !== url.host || next.protocol !== 'https:') {
        throw new PublicFetchError(`${url} redirects to another host (${next?.host ?? '?'})`);
      }
      if (hop >= MAX_REDIRECTS) throw new PublicFetchError(`${raw} redirects too many times`);
      url = next;
      continue;
    }
    const body = await readBounded(res, limits.maxBytes, url.href);
    return { status: res.status, headers: res.headers, body, url: url.href };
  }
}

function parseHttps(raw: string): URL {
  const url = URL.parse(raw);
  if (!url) throw new PublicFetchError(`${raw} is not a URL`);
  if (url.protocol !== 'https:') throw new PublicFetchError(`${raw} is not an https URL`);
  if (url.username || url.password) throw new PublicFetchError(`${raw} contains credentials`);
  return url;
}

/** The address to connect to: the first one DNS gives, once every one of them passed. */
async function publicAddressOf(
  url: URL,
  limits: PublicFetchLimits,
  signal: AbortSignal,
): Promise<string> {
  const host = url.hostname.replace(/^\[|\]$/g, '').toLowerCase();
  const aborted = new Promise<never>((_, reject) => {
    signal.addEventListener('abort', () => reject(signal.reason), { once: true });
  });
  let addresses: { address: string }[];
  try {
    addresses = await Promise.race([lookup(host, { all: true, verbatim: true }), aborted]);
  } catch (error) {
    if (signal.aborted) throw error;
    throw new PublicFetchError(`${url.host} does not resolve (${describe(error)})`);
  }
  if (addresses.length === 0) throw new PublicFetchError(`${url.host} does not resolve`);
  if (!limits.privateHosts.has(host)) {
    const inner = addresses.find((a) => !isPublicAddress(a.address));
    if (inner) {
      throw new PublicFetchError(
        `${url.host} resolves to ${inner.address}, a loopback, private or link-local address; the hub only fetches from public addresses`,
      );
    }
  }
  return (addresses[0] as { address: string }).address;
}

async function readBounded(res: Response, maxBytes: number, url: string): Promise<string> {
  const tooLarge = () => new PublicFetchError(`${url} is larger than ${maxBytes} bytes`);
  const declared = Number(res.headers.get('content-length') ?? Number.NaN);
  if (declared > maxBytes) {
    await res.body?.cancel();
    throw tooLarge();
  }
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = res.body?.getReader();
  while (reader) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > maxBytes) {
      await reader.cancel().catch(() => {});
      throw tooLarge();
    }
    chunks.push(value);
  }
  return new TextDecoder('utf-8', { fatal: false }).decode(Buffer.concat(chunks));
}

function describe(error: unknown): string {
  const e = error as { code?: string; message?: string };
  return e.code ?? e.message ?? String(error);
}
