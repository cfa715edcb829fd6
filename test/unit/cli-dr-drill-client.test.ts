/**
 * The drill's client of the service (scripts/commands/dr-drill-client.ts) against a local HTTP server:
 * the name resolved once per TTL (a flip reaches it up to one TTL late), the request sent to the
 * cached address with the URL's host, the side told by the address, and each failure named.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serviceClient } from '#scripts/commands/dr-drill-client.ts';

let server: Server;
let port: number;
const hosts: string[] = [];
let status = 200;

beforeAll(async () => {
  server = createServer((req, res) => {
    hosts.push(req.headers.host ?? '');
    res.statusCode = status;
    res.end('ok');
  });
  await new Promise<void>((r) => server.listen(0, '0.0.0.0', r));
  port = (server.address() as AddressInfo).port;
});

afterAll(() => new Promise<void>((r) => server.close(() => r())));

describe("the drill's client", () => {
  it('resolves once per TTL, so a flip reaches it up to one TTL late, and tells the side by the address', async () => {
    // Prepare: the name answers 127.0.0.1 (the primary) with a TTL of 60 s, then 127.0.0.2 (the standby)
    let now = 0;
    let answer = '127.0.0.1';
    let queries = 0;
    const client = serviceClient({
      url: new URL(`http://api.payments.example.com:${port}/health`),
      primary: 'aws',
      standby: 'gcp',
      timeoutMs: 5000,
      now: () => now,
      resolveA: async () => {
        queries++;
        return [{ address: answer, ttl: 60 }];
      },
    });

    // Act
    const first = await client.request();
    answer = '127.0.0.2';
    now = 59_000;
    const cached = await client.request();
    now = 60_000;
    const flipped = await client.request();

    // Assess
    expect(first).toEqual({ at: 0, ok: true, cloud: 'aws', ttlMs: 60_000 });
    expect(cached).toMatchObject({ ok: true, cloud: 'aws' });
    expect(queries).toBe(2);
    expect(client.primaryAddresses()).toEqual(['127.0.0.1']);
    // 127.0.0.2: another loopback address (Linux routes 127/8 to lo), the server listening on all of them
    expect(flipped).toEqual({ at: 60_000, ok: true, cloud: 'gcp', ttlMs: 60_000 });
    expect(hosts[0]).toBe(`api.payments.example.com:${port}`);
  });

  it('names each failure: no DNS answer, an error status, nothing listening', async () => {
    // Prepare
    const base = { primary: 'aws' as const, standby: 'gcp' as const, timeoutMs: 5000, now: () => 0 };
    const noName = serviceClient({
      ...base,
      url: new URL('http://api.payments.example.com/'),
      resolveA: async () => {
        throw new Error('ENOTFOUND');
      },
    });
    const erroring = serviceClient({
      ...base,
      url: new URL(`http://api.payments.example.com:${port}/`),
      resolveA: async () => [{ address: '127.0.0.1', ttl: 30 }],
    });
    const closed = serviceClient({
      ...base,
      url: new URL('http://api.payments.example.com:1/'),
      resolveA: async () => [{ address: '127.0.0.1', ttl: 30 }],
    });

    // Act
    status = 503;
    const outcomes = [await noName.request(), await erroring.request(), await closed.request()];
    status = 200;

    // Assess
    expect(outcomes).toEqual([
      { at: 0, ok: false, error: 'dns', ttlMs: 0 },
      { at: 0, ok: false, error: 'http-503', ttlMs: 30_000 },
      { at: 0, ok: false, error: 'connect', ttlMs: 30_000 },
    ]);
  });
});
