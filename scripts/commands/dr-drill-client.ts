/**
 * The drill's client of the service (`dr drill --apply --client-url <url>`): one request at a time,
 * as any client of the service makes it. It resolves the URL's host (A records) and keeps the answer
 * for its TTL, as a recursive resolver does, so a flip of the record reaches it up to one TTL late:
 * the drill's RTO includes that. The request goes to the cached address with the URL's host name
 * (Host header and TLS server name). The side that answered is told by its address: the addresses
 * the name resolved to before the drill are the primary's, any other is the standby's.
 */
import { Resolver } from 'node:dns/promises';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { ClientSample } from '#core/dr/drill-report.ts';
import type { Cloud } from '#core/dr/plan.ts';

/** Resolves a host's A records with their TTL (seconds), as node:dns `resolve4(host, {ttl: true})`. */
export type ResolveA = (host: string) => Promise<{ address: string; ttl: number }[]>;

/** One GET of `url` at `address`: its status, or why it got none (`connect`, `timeout`). */
export type SendRequest = (url: URL, address: string, timeoutMs: number) => Promise<number | string>;

export const systemResolveA: ResolveA = (host) => new Resolver().resolve4(host, { ttl: true });

export interface ServiceClientOptions {
  url: URL;
  /** The clouds of the plan's sides: an address of the primary's first answer is the primary's. */
  primary: Cloud;
  standby: Cloud;
  timeoutMs: number;
  now(): number;
  resolveA?: ResolveA;
  send?: SendRequest;
}

export interface ServiceClient {
  /** The addresses the primary answered from (resolved at the first request). */
  primaryAddresses(): string[];
  request(): Promise<ClientSample & { ttlMs: number }>;
}

export function serviceClient(o: ServiceClientOptions): ServiceClient {
  const resolveA = o.resolveA ?? systemResolveA;
  const send = o.send ?? httpSend;
  let cached: { addresses: string[]; until: number; ttlMs: number } | undefined;
  let primary: string[] | undefined;

  const resolve = async () => {
    const now = o.now();
    if (cached && now < cached.until) return cached;
    const answers = await resolveA(o.url.hostname);
    if (answers.length === 0) throw new Error('no A record');
    const ttlMs = Math.min(...answers.map((a) => a.ttl)) * 1000;
    cached = { addresses: answers.map((a) => a.address), until: now + ttlMs, ttlMs };
    primary ??= cached.addresses;
    return cached;
  };

  return {
    primaryAddresses: () => primary ?? [],
    async request() {
      const at = o.now();
      let answer: Awaited<ReturnType<typeof resolve>>;
      try {
        answer = await resolve();
      } catch {
        return { at, ok: false, error: 'dns', ttlMs: cached?.ttlMs ?? 0 };
      }
      const address = answer.addresses[0] as string;
      const status = await send(o.url, address, o.timeoutMs);
      const base = { at, ttlMs: answer.ttlMs };
      if (typeof status === 'string') return { ...base, ok: false, error: status };
      if (status >= 500) return { ...base, ok: false, error: `http-${status}` };
      const cloud = (primary ?? []).includes(address) ? o.primary : o.standby;
      return { ...base, ok: true, cloud };
    },
  };
}

/** One GET of `url` at `address` over HTTP(S). */
function httpSend(url: URL, address: string, timeoutMs: number): Promise<number | string> {
  const request = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((done) => {
    const req = request(
      url,
      {
        method: 'GET',
        timeout: timeoutMs,
        // net asks for every address when it races address families (autoSelectFamily).
        lookup: (_host, opts, cb) =>
          (opts as { all?: boolean }).all
            ? (cb as unknown as (e: null, a: { address: string; family: number }[]) => void)(null, [
                { address, family: 4 },
              ])
            : cb(null, address, 4),
        servername: url.hostname,
      },
      (res) => {
        res.resume();
        res.on('end', () => done(res.statusCode ?? 0));
        res.on('error', () => done('connect'));
      },
    );
    req.on('timeout', () => {
      req.destroy();
      done('timeout');
    });
    req.on('error', () => done('connect'));
    req.end();
  });
}
