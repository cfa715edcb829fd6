/**
 * AWS as the runs' coordinator (functions/aws/vpn-run.ts) with its ports in memory: the step input
 * of each state (stepVpnRun's steps, stepVpnPlan's plan), the plan's sources (both sides' pages as
 * stored for the run, this side's traffic), the bus events it reacts to as EventBridge delivers
 * them, and the links read from crosslink's records and the Direct Connect gateways' associations
 * AWS's export carries (functions/core/vpn/run-links.ts).
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { EventBridgeEvent } from '#aws/envelope.ts';
import { awsPlanSources, vpnCoordinationStep, vpnPlanStep } from '#aws/vpn-run.ts';
import { vpnRunEvent } from '#aws/vpn-run-events.ts';
import { ManualClock } from '#core/clock.ts';
import type { CloudEvent } from '#core/envelope.ts';
import type { LinkRecord } from '#core/link/model.ts';
import { type InventoryPage, type InventoryPageStore, inventoryPages } from '#core/vpn/inventory-pages.ts';
import { DEFAULT_POLICY } from '#core/vpn/policy.ts';
import { plannerLinksOf } from '#core/vpn/run-links.ts';
import { relayedPeerInventory, type VpnRunDeps } from '#core/vpn/run-steps.ts';
import { gcpRunSources } from '#gcp/vpn-run.ts';
import { MemoryVpnRuns } from '../../support/memory-vpn-runs.ts';

const LINK = 'lk-01jc6rzt8q4m2n0s9v7w5x3y1a';
const sample = (name: string): EventBridgeEvent =>
  JSON.parse(
    readFileSync(new URL(`../../../events/samples/${name}.eventbridge.json`, import.meta.url), 'utf8'),
  );

/** Google's pages as the AWS side keeps them (DynamoDbInventoryPages), in memory. */
const pages: InventoryPageStore & { held: InventoryPage[] } = {
  held: [],
  async put(p) {
    this.held.push(p);
  },
  async pages(runId, side) {
    return this.held.filter((p) => p.runId === runId && p.side === side);
  },
};

function memoryDeps(store: MemoryVpnRuns, put: CloudEvent[]): VpnRunDeps & { principal: string } {
  return {
    runs: store,
    bus: { put: async (events) => void put.push(...events) },
    clock: new ManualClock('2026-11-20T12:00:00Z'),
    origin: { cloud: 'aws', accountId: '000000000000', region: 'us-east-1' },
    installation: 'dev',
    principal: 'arn:aws:iam::000000000000:role/crosslink-vpn-run',
    settings: { coordinator: 'aws', mode: { prod: 'apply', nonprod: 'apply' }, planner: DEFAULT_POLICY },
    prices: {
      currency: 'USD',
      awsConnectionHour: 0.05,
      gcpTunnelHour: null,
      hoursPerMonth: 730,
      source: 't',
    },
    sources: {
      own: async () => ({ export: {}, traffic: { traffic: [] } }),
      ...relayedPeerInventory({
        bus: { put: async (events) => void put.push(...events) },
        origin: { cloud: 'aws', accountId: '000000000000', region: 'us-east-1' },
        clock: new ManualClock('2026-11-20T12:00:00Z'),
        pages,
      }),
      links: async () => ({ links: [], skipped: [] }),
    },
  };
}

const record = (over: Partial<LinkRecord> = {}): LinkRecord =>
  ({
    id: LINK,
    state: 'ACTIVE',
    stages: [
      { state: 'REQUESTED', at: '2026-11-01T00:00:00.000Z' },
      { state: 'ACTIVE', at: '2026-11-02T00:00:00.000Z' },
      { state: 'DEGRADED', at: '2026-11-05T00:00:00.000Z' },
      { state: 'ACTIVE', at: '2026-11-05T01:00:00.000Z' },
    ],
    endpoints: {
      aws: {
        accountId: '000000000000',
        region: 'us-east-1',
        directConnectGateway: '90392BE3-219C-47FD-BBA5-03DF76D2542A',
        routes: ['10.10.0.0/16'],
      },
      gcp: {
        project: 'payments-prod',
        region: 'us-east4',
        network: 'payments-vpc',
        routes: ['10.20.0.0/16'],
      },
    },
    ...over,
  }) as LinkRecord;

describe('the run step', () => {
  it('refuses an unknown step and a step without its run, naming the field', async () => {
    // Arrange
    const deps = memoryDeps(new MemoryVpnRuns(), []);
    // Act / Assess
    expect(() => vpnCoordinationStep(deps, { step: 'launch' } as never)).toThrow(
      /step: must be one of claim, request-peer, peer-ready, emit, report$/,
    );
    expect(() => vpnCoordinationStep(deps, { step: 'report' } as never)).toThrow(/runId: is required/);
    expect(() =>
      vpnCoordinationStep(deps, { step: 'emit', runId: 'vpn-dev-20261120T120000Z', page: -1 }),
    ).toThrow(/page: must be a page number/);
    expect(() => vpnPlanStep(deps, { step: 'plan' } as never)).toThrow(/runId: is required/);
  });

  it('leaves the plan to stepVpnPlan, and stepVpnPlan only plans', async () => {
    // Arrange
    const deps = memoryDeps(new MemoryVpnRuns(), []);
    const runId = 'vpn-dev-20261120T120000Z';
    // Act / Assess
    expect(() => vpnCoordinationStep(deps, { step: 'plan', runId })).toThrow(/step: must be one of claim/);
    expect(() => vpnPlanStep(deps, { step: 'report', runId } as never)).toThrow(/step: must be one of plan$/);
  });

  it('asks Google for its inventory on the bus, and says which pages are still missing', async () => {
    // Arrange
    const put: CloudEvent[] = [];
    const deps = memoryDeps(new MemoryVpnRuns(), put);
    const { runId } = (await vpnCoordinationStep(deps, {
      step: 'claim',
      scheduledAt: '2026-11-20T12:00:00Z',
      trigger: 'schedule',
      apply: true,
      requestedBy: 'arn:aws:iam::000000000000:role/crosslink-vpn-run',
      execution: 'exec-1',
    })) as { runId: string };
    // Act
    await vpnCoordinationStep(deps, { step: 'request-peer', runId });
    const none = await vpnCoordinationStep(deps, { step: 'peer-ready', runId, attempts: 0 });
    await pages.put({
      runId,
      side: 'gcp',
      page: 2,
      pages: 3,
      reportedAt: '2026-11-20T12:00:05.000Z',
      export: {},
    });
    const some = await vpnCoordinationStep(deps, { step: 'peer-ready', runId, attempts: 1 });
    // Assess
    expect(put.map((e) => [e.type, e.data])).toEqual([
      [
        expect.stringContaining('VpnInventoryRequested'),
        { runId, side: 'gcp', requestedAt: '2026-11-20T12:00:00.000Z' },
      ],
    ]);
    expect(none).toEqual({
      complete: false,
      attempts: 1,
      missing: ["every page of gcp's inventory (none received yet)"],
    });
    expect(some).toEqual({ complete: false, attempts: 2, missing: ['page 1 of 3', 'page 3 of 3'] });
  });
});

describe('the bus events of the runs', () => {
  it("undrains on a link's LinkStateChanged to DEGRADED, as EventBridge delivers it", async () => {
    // Arrange
    const store = new MemoryVpnRuns();
    const put: CloudEvent[] = [];
    const gcpTunnels = ['projects/payments-prod/regions/us-east4/vpnTunnels/payments-vpn-vgw-t0'];
    await store.putDrain({
      vpnConnectionId: 'vpn-0a1b2c3d4e5f60718',
      runId: 'vpn-dev-20261101T000000Z',
      drainedAt: '2026-11-01T00:00:00.000Z',
      method: 'gcp-bgp-peers',
      prefixes: [],
      links: [LINK],
      gcpTunnels,
      awsRegion: 'us-east-1',
    });
    const ev = sample('LinkStateChanged');
    const detail = ev.detail as CloudEvent<{ linkId: string; to: string; from: string }>;
    detail.data = { ...detail.data, linkId: LINK, from: 'ACTIVE', to: 'DEGRADED' };
    // Act
    const out = (await vpnRunEvent(memoryDeps(store, put), ev)) as { undrained: string[] };
    // Assess
    expect(out.undrained).toEqual(['vpn-0a1b2c3d4e5f60718']);
    expect(put.map((e) => e.type)).toEqual([expect.stringContaining('VpnUndrainRequested')]);
    expect((put[0]?.data as { gcpTunnels?: string[] } | undefined)?.gcpTunnels).toEqual(gcpTunnels);
  });

  it('keeps a half’s result with its run, and refuses an event it does not handle', async () => {
    // Arrange
    const store = new MemoryVpnRuns();
    const deps = memoryDeps(store, []);
    const ev = sample('VpnDrained');
    const runId = (ev.detail as CloudEvent<{ runId: string }>).data.runId;
    await store.claim({
      runId,
      installation: 'dev',
      scheduledAt: '2026-03-06T09:00:00.000Z',
      trigger: 'schedule',
      requestedBy: 'arn:aws:iam::000000000000:role/crosslink-vpn-run',
      apply: true,
      execution: 'exec-1',
      claimedAt: '2026-03-06T09:00:00.000Z',
      status: 'claimed',
    });
    // Act
    const kept = await vpnRunEvent(deps, ev);
    const refused = vpnRunEvent(deps, sample('LinkRequested'));
    // Assess
    expect(kept).toEqual({ recorded: true });
    expect((await store.results(runId)).map((r) => [r.action, r.outcome])).toEqual([['drain', 'changed']]);
    await expect(refused).rejects.toThrow(/detail-type: must be LinkStateChanged or a VPN half's result/);
  });
});

describe("the run's links", () => {
  it('are the records with their endpoints, one per gateway their Direct Connect gateway reaches, health from the stages', () => {
    // Act
    const out = plannerLinksOf(record(), ['vgw-0e1f5a8c3b2d49701', 'tgw-0c4d1e2f3a4b5c6d7']);
    // Assess
    expect(out.skipped).toBeUndefined();
    expect(out.links.map((l) => l.aws.gatewayId)).toEqual(['tgw-0c4d1e2f3a4b5c6d7', 'vgw-0e1f5a8c3b2d49701']);
    expect(out.links[0]).toMatchObject({
      linkId: LINK,
      state: 'ACTIVE',
      aws: {
        directConnectGatewayId: '90392BE3-219C-47FD-BBA5-03DF76D2542A',
        allowedPrefixes: ['10.10.0.0/16'],
      },
      gcp: {
        network: 'projects/payments-prod/global/networks/payments-vpc',
        peering: LINK,
        advertisedRoutes: ['10.20.0.0/16'],
      },
    });
    expect(out.links[0]?.health.map((h) => h.status)).toEqual(['healthy', 'degraded', 'healthy']);
  });

  it('skip, saying why, a record without endpoints or a Direct Connect gateway reaching nothing', async () => {
    // Arrange
    const records = [record(), record({ id: 'lk-01jc6s2b4d6f8h0k2m4p6r8t0v', endpoints: undefined })];
    const store = { list: async (q: { state?: string }) => ({ items: q.state === 'ACTIVE' ? records : [] }) };
    // Act
    const out = await awsPlanSources({ pages, traffic: async () => ({ traffic: [] }), links: store }).links(
      {},
    );
    // Assess
    expect(out.links).toEqual([]);
    expect(out.skipped).toEqual([
      `${LINK}: Direct Connect gateway 90392BE3-219C-47FD-BBA5-03DF76D2542A is associated with no gateway a VPN is on`,
      'lk-01jc6s2b4d6f8h0k2m4p6r8t0v: its record holds no endpoints (requested before they were kept)',
    ]);
  });
});

describe("the plan's sources on AWS", () => {
  const runId = 'vpn-dev-20261121T120000Z';
  const exported = {
    VpnConnections: [
      {
        VpnConnectionId: 'vpn-0a1b2c3d4e5f60718',
        State: 'available',
        VpnGatewayId: 'vgw-0e1f5a8c3b2d49701',
        Region: 'us-west-2',
      },
      {
        VpnConnectionId: 'vpn-0b1b2c3d4e5f60719',
        State: 'deleted',
        VpnGatewayId: 'vgw-0e1f5a8c3b2d49701',
        Region: 'us-east-1',
      },
    ],
    DirectConnectGatewayAssociations: [
      {
        directConnectGatewayId: '90392BE3-219C-47FD-BBA5-03DF76D2542A',
        associationState: 'associated',
        associatedGateway: { id: 'vgw-0e1f5a8c3b2d49701', type: 'virtualPrivateGateway' },
      },
    ],
  };

  it("read this side's inventory as its task stored it for the run, and the traffic of its VPNs not deleted, each in its region", async () => {
    // Arrange
    const asked: unknown[] = [];
    const sources = awsPlanSources({
      pages,
      traffic: async (ids, now, windowMs) => {
        asked.push([ids, now, windowMs]);
        return { traffic: [] };
      },
      links: { list: async (q) => ({ items: q.state === 'ACTIVE' ? [record()] : [] }) },
    });
    for (const p of inventoryPages(
      { runId, side: 'aws', reportedAt: '2026-11-21T12:00:01.000Z' },
      exported,
      300,
    ))
      await pages.put(p);
    // Act
    const own = await sources.own(runId, 1_000, 60_000, undefined);
    const links = await sources.links(own.export);
    // Assess
    expect(own.export).toEqual(exported);
    expect(asked).toEqual([
      [[{ vpnConnectionId: 'vpn-0a1b2c3d4e5f60718', region: 'us-west-2' }], 1_000, 60_000],
    ]);
    expect(links.links.map((l) => [l.linkId, l.aws.gatewayId])).toEqual([[LINK, 'vgw-0e1f5a8c3b2d49701']]);
  });

  it('refuse to plan without every page of this side, saying which are missing', async () => {
    // Arrange
    const other = 'vpn-dev-20261122T120000Z';
    const sources = awsPlanSources({
      pages,
      traffic: async () => ({ traffic: [] }),
      links: { list: async () => ({ items: [] }) },
    });
    const stored = inventoryPages(
      { runId: other, side: 'aws', reportedAt: '2026-11-22T12:00:01.000Z' },
      exported,
      300,
    );
    expect(stored.length).toBeGreaterThan(1);
    await pages.put(stored[0] as InventoryPage);
    // Act / Assess
    await expect(sources.own('vpn-dev-20261123T120000Z', 0, 0, undefined)).rejects.toThrow(
      /this side's inventory for vpn-dev-20261123T120000Z is incomplete \(missing every page\)/,
    );
    await expect(sources.own(other, 0, 0, undefined)).rejects.toThrow(/missing pages 2.* of \d+/);
  });
});

describe("Google's run links (Google coordinating)", () => {
  it("take each link's AWS gateways from the Direct Connect associations AWS's inventory carries", async () => {
    // Arrange
    const other = record({ id: 'lk-01jc6s2b4d6f8h0k2m4p6r8t0v' });
    const store = {
      list: async (q: { state?: string }) => ({ items: q.state === 'ACTIVE' ? [record(), other] : [] }),
    };
    const peerExport = {
      VpnConnections: [],
      DirectConnectGatewayAssociations: [
        {
          directConnectGatewayId: '90392be3-219c-47fd-bba5-03df76d2542a',
          associationState: 'associated',
          associatedGateway: { id: 'vgw-0e1f5a8c3b2d49701', type: 'virtualPrivateGateway' },
        },
        {
          directConnectGatewayId: '90392BE3-219C-47FD-BBA5-03DF76D2542A',
          associationState: 'disassociating',
          associatedGateway: { id: 'tgw-0c4d1e2f3a4b5c6d7', type: 'transitGateway' },
        },
      ],
    };
    // Act
    const sources = gcpRunSources({
      compute: { get: async () => undefined, list: async () => [] },
      monitoring: { timeSeries: async () => [] },
      projects: [],
      peer: { requestPeer: async () => {}, peer: async () => ({ complete: false, missing: [] }) },
      links: store as never,
    });
    const withAssociations = await sources.links(peerExport);
    const without = await sources.links({ VpnConnections: [] });
    // Assess: only the associated gateway, matched whatever the id's case; none without them.
    expect(withAssociations.links.map((l) => [l.linkId, l.aws.gatewayId])).toEqual([
      [LINK, 'vgw-0e1f5a8c3b2d49701'],
      ['lk-01jc6s2b4d6f8h0k2m4p6r8t0v', 'vgw-0e1f5a8c3b2d49701'],
    ]);
    expect(without.links).toEqual([]);
    expect(without.skipped).toHaveLength(2);
    expect(without.skipped[0]).toContain('is associated with no gateway a VPN is on');
  });
});
