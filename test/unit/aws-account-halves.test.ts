/**
 * Halves across accounts: a link's connection is created in the account its request names; reads,
 * deletes and lists span every account, and a connection counts as gone only when every account
 * says 404. Each account here is a small in-memory provider with the adapter's contract.
 */
import { describe, expect, it } from 'vitest';
import type { GatewayPrefixes } from '#aws/gateway-prefixes.ts';
import type { HalfView, InterconnectHalves } from '#aws/halves.ts';
import { AccountRoutedHalves, AccountRoutedPrefixes } from '#aws/network-halves.ts';
import type { InitiateHalfInput } from '#core/link/ports.ts';

function account(name: string, options: { failGets?: boolean } = {}) {
  const connections = new Map<string, HalfView>();
  let n = 0;
  const halves = {
    capacity: async () => ({ state: 'available', availableBandwidths: ['1Gbps'], supportedBandwidths: [] }),
    initiate: async (input: InitiateHalfInput) => {
      const half = {
        connectionId: `mcc-${name}-${++n}`,
        linkId: input.linkId,
        state: 'requested',
      } as HalfView;
      connections.set(half.connectionId, half);
      return { half, keyRef: `secret-${name}` };
    },
    accept: async () => {
      throw new Error('not used');
    },
    getHalf: async (id: string) => {
      if (options.failGets) throw Object.assign(new Error('throttled'), { name: 'ThrottlingException' });
      return connections.get(id) ?? null;
    },
    listHalves: async () => [...connections.values()],
    findHalves: async (linkId: string) => [...connections.values()].filter((h) => h.linkId === linkId),
    deleteHalf: async (id: string) => (connections.delete(id) ? 'deleting' : null),
  };
  return { halves: halves as unknown as InterconnectHalves, connections };
}

const input = (accountId: string): InitiateHalfInput =>
  ({
    linkId: 'lk-01kt07nv00h4n3a3ngvn91t9qs',
    request: { aws: { accountId } },
    tags: {},
  }) as unknown as InitiateHalfInput;

describe('AccountRoutedHalves', () => {
  it('creates in the account the request names, the hub for any other', async () => {
    const hub = account('hub');
    const net = account('net');
    const routed = new AccountRoutedHalves(hub.halves, new Map([['111111111111', net.halves]]));
    const there = await routed.initiate(input('111111111111'));
    const here = await routed.initiate(input('000000000000'));
    expect([...net.connections.keys()]).toEqual([there.half.connectionId]);
    expect([...hub.connections.keys()]).toEqual([here.half.connectionId]);
  });

  it('reads, lists and deletes across accounts; gone only when every account says 404', async () => {
    const hub = account('hub');
    const net = account('net');
    const routed = new AccountRoutedHalves(hub.halves, new Map([['111111111111', net.halves]]));
    const { half } = await routed.initiate(input('111111111111'));
    expect((await routed.getHalf(half.connectionId))?.connectionId).toBe(half.connectionId);
    expect((await routed.listHalves()).map((h) => h.connectionId)).toEqual([half.connectionId]);
    expect(await routed.findHalves(half.linkId as string)).toHaveLength(1);
    expect(await routed.deleteHalf(half.connectionId)).toBe('deleting');
    expect(net.connections.size).toBe(0);
    expect(await routed.getHalf(half.connectionId)).toBeNull();
    expect(await routed.deleteHalf(half.connectionId)).toBeNull();
  });

  it('an account that cannot answer makes a read unknown (its error), never "gone"', async () => {
    const hub = account('hub');
    const net = account('net', { failGets: true });
    const routed = new AccountRoutedHalves(hub.halves, new Map([['111111111111', net.halves]]));
    await expect(routed.getHalf('mcc-elsewhere')).rejects.toThrow('throttled');
  });
});

describe('AccountRoutedPrefixes', () => {
  it("reads and extends the gateway's prefixes in the request's account", async () => {
    const seen: string[] = [];
    const prefixes = (name: string): GatewayPrefixes => ({
      associations: async (gw) => {
        seen.push(`${name}:read:${gw}`);
        return [];
      },
      add: async (id, p) => {
        seen.push(`${name}:add:${id}:${p.join(',')}`);
      },
    });
    const routed = new AccountRoutedPrefixes(prefixes('hub'), new Map([['111111111111', prefixes('net')]]));
    await routed.associations('gw-1', { accountId: '111111111111', region: 'us-west-2' });
    await routed.add('assoc-1', ['10.10.0.0/16'], { accountId: '111111111111' });
    await routed.associations('gw-2', { accountId: '000000000000' });
    await routed.associations('gw-3');
    expect(seen).toEqual(['net:read:gw-1', 'net:add:assoc-1:10.10.0.0/16', 'hub:read:gw-2', 'hub:read:gw-3']);
  });
});
