/**
 * Google's `vpnRunEvents` function (functions/gcp/handlers/vpn-run-events.ts) as Pub/Sub pushes it,
 * through functions-framework: a link's LinkStateChanged to DOWN (AWS's, relayed) undrains the VPNs
 * drained because of it once, a redelivery does nothing more; a half's result is kept with its run;
 * every other event, and a link going ACTIVE, is acknowledged and changes nothing; a store failure is
 * answered 500 so Pub/Sub retries it. The runs' store is in memory (its Firestore adapter has its own
 * contract test: test/contract/vpn-run-store.test.ts).
 */
import type { AddressInfo } from 'node:net';
import { http } from '@google-cloud/functions-framework';
import { getTestServer } from '@google-cloud/functions-framework/testing';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ManualClock } from '#core/clock.ts';
import type { CloudEvent } from '#core/envelope.ts';
import type { VpnRunEventDeps } from '#core/vpn/run-steps.ts';
import { vpnRunEvents } from '#gcp/handlers/vpn-run-events.ts';
import type { GoogleDeps } from '#gcp/runtime.ts';
import { MemoryVpnRuns } from '../../support/memory-vpn-runs.ts';
import { pushOf, sample } from '../../support/pushed-samples.ts';

const LINK = 'lk-01jc6rzt8q4m2n0s9v7w5x3y1a';
const VPN = 'vpn-0a1b2c3d4e5f60718';
const TUNNELS = ['projects/payments-prod/regions/us-east4/vpnTunnels/payments-vpn-vgw-t0'];
const ACCOUNT = 'crosslink-vpn-run@crosslink-hub.iam.gserviceaccount.com';

const push = (ce: CloudEvent) => pushOf(ce, 'crosslink-vpn-run-peer-events-push');

const linkState = (to: string, id = '01KJQ0F6S0ASQXA40DGDP6ETKS'): CloudEvent => {
  const ce = sample('LinkStateChanged');
  return { ...ce, id, data: { ...(ce.data as object), linkId: LINK, from: 'ACTIVE', to } };
};

let store: MemoryVpnRuns;
let put: CloudEvent[];
let failing: boolean;
let base: string;
let server: ReturnType<typeof getTestServer>;

const deps = (): VpnRunEventDeps => ({
  runs: failing
    ? Object.assign(Object.create(store), {
        drainsOfLink: async () => {
          throw Object.assign(new Error('14 UNAVAILABLE: firestore'), { code: 14 });
        },
      })
    : store,
  bus: { put: async (events) => void put.push(...events) },
  clock: new ManualClock('2026-11-20T12:00:00Z'),
  origin: { cloud: 'gcp', project: 'crosslink-hub', region: 'us-east4' },
  installation: 'dev',
  principal: ACCOUNT,
});

beforeAll(async () => {
  http(
    'vpn-run-events-under-test',
    vpnRunEvents(async () => ({ vpnRunEvents: async () => deps() }) as unknown as GoogleDeps),
  );
  server = getTestServer('vpn-run-events-under-test');
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise<void>((r) => server.close(() => r()));
});

beforeEach(async () => {
  store = new MemoryVpnRuns();
  put = [];
  failing = false;
  await store.putDrain({
    vpnConnectionId: VPN,
    runId: 'vpn-dev-20261101T000000Z',
    drainedAt: '2026-11-01T00:00:00.000Z',
    method: 'gcp-bgp-peers',
    prefixes: [],
    links: [LINK],
    gcpTunnels: TUNNELS,
    awsRegion: 'us-east-1',
  });
});

const post = (ce: CloudEvent) =>
  fetch(base, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(push(ce)),
  });

describe("Google's reactions of the VPN run", () => {
  it('undrains the VPNs a link going DOWN drained, as a run requested by the function’s account; a redelivery sends nothing more', async () => {
    // Act
    const first = await post(linkState('DOWN'));
    const again = await post(linkState('DOWN'));
    // Assess
    expect([first.status, again.status]).toEqual([204, 204]);
    expect(put.map((e) => e.type)).toEqual(['crosslink.VpnUndrainRequested.v1']);
    const command = put[0]?.data as {
      vpnId: string;
      requestedBy: string;
      gcpTunnels: string[];
      runId: string;
    };
    expect(command).toMatchObject({ vpnId: VPN, requestedBy: ACCOUNT, gcpTunnels: TUNNELS });
    expect(put[0]?.crosslinkorigin).toBe('gcp');
    expect(await store.drains()).toEqual([]);
    expect((await store.header(command.runId))?.undrain).toEqual({ linkId: LINK, to: 'DOWN', vpns: [VPN] });
  });

  it('keeps a half’s result with its run', async () => {
    // Arrange
    const result = sample('VpnDrained');
    const runId = (result.data as { runId: string }).runId;
    await store.claim({
      runId,
      installation: 'dev',
      scheduledAt: '2026-03-06T09:00:00.000Z',
      trigger: 'schedule',
      requestedBy: ACCOUNT,
      apply: true,
      execution: 'exec-1',
      claimedAt: '2026-03-06T09:00:00.000Z',
      status: 'claimed',
    });
    // Act
    const r = await post(result);
    // Assess
    expect(r.status).toBe(204);
    expect((await store.results(runId)).map((x) => [x.action, x.outcome])).toEqual([['drain', 'changed']]);
  });

  it('acknowledges a link going ACTIVE and any other event without changing anything', async () => {
    // Act
    const active = await post(linkState('ACTIVE'));
    const other = await post(sample('LinkRequested'));
    // Assess
    expect([active.status, other.status]).toEqual([204, 204]);
    expect(put).toEqual([]);
    expect((await store.drains()).map((d) => d.vpnConnectionId)).toEqual([VPN]);
  });

  it('answers 500 when the store fails, so Pub/Sub delivers it again; the retry undrains', async () => {
    // Act
    failing = true;
    const failed = await post(linkState('DEGRADED'));
    failing = false;
    const retried = await post(linkState('DEGRADED'));
    // Assess
    expect([failed.status, retried.status]).toEqual([500, 204]);
    expect(put.map((e) => (e.data as { vpnId: string }).vpnId)).toEqual([VPN]);
  });
});
