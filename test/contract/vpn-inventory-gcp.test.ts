/**
 * The Google side of the VPN inventory exchange against the local cloud: AWS's request is answered
 * with the export of the network project's VPNs read through the Compute Engine REST API of the
 * local edge (tunnels of every region, routers and their status, external VPN gateways), in
 * several pages under their budget, which merge back to what the planner imports; AWS's pages are
 * stored in Firestore (the emulator) and read back with readPeerInventory, duplicates and any order
 * harmless; this side's own events are ignored.
 */
import type { Firestore } from '@google-cloud/firestore';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '#core/clock.ts';
import { buildEvent, type CloudEvent, type Origin } from '#core/envelope.ts';
import { importGcpExport } from '#core/vpn/import-gcp.ts';
import { handleInventoryEvent, type InventoryExchangeDeps } from '#core/vpn/inventory-exchange.ts';
import {
  assembleReport,
  type InventoryPage,
  inventoryPages,
  readPeerInventory,
} from '#core/vpn/inventory-pages.ts';
import { jwtClient } from '#gcp/google-credentials.ts';
import { ComputeRest } from '#gcp/vpn-half.ts';
import { buildVpnInventoryDeps, FirestoreInventoryPages, readGcpExport } from '#gcp/vpn-inventory.ts';
import type { LocalCloud } from '#local/index.ts';
import { startTestFirestore, type TestFirestore } from '../support/firestore.ts';
import { startTestCloud } from '../support/local-cloud.ts';
import { vpnWorld } from '../support/vpn-world.ts';

const AWS: Origin = { cloud: 'aws', accountId: '000000000000', region: 'us-east-1' };
const RUN = 'vpn-prod-2026-06-01T02:00:00Z';
const PAGE_BYTES = 4096;
let cloud: LocalCloud;
let fs: TestFirestore;
let db: Firestore;
let compute: ComputeRest;
let deps: InventoryExchangeDeps;
const published: CloudEvent[] = [];

const event = (name: 'VpnInventoryRequested' | 'VpnInventoryReported', data: object, origin: Origin = AWS) =>
  buildEvent({
    name,
    origin,
    subject: RUN,
    data: data as never,
    clock: new ManualClock('2026-06-01T02:00:00Z'),
  });

beforeAll(async () => {
  [cloud, fs] = await Promise.all([startTestCloud(), startTestFirestore()]);
  db = fs.db();
  const world = await vpnWorld(cloud);
  for (let i = 0; i < 4; i++) await world.buildVpn(`estate-${i}`);
  await cloud.clock.advance(3 * 60_000);
  const auth = jwtClient(cloud.gcp.auth.keyFile('crosslink'));
  compute = new ComputeRest({ authFor: () => auth, endpoint: cloud.gcp.endpoint });
  deps = {
    ...buildVpnInventoryDeps(
      { project: cloud.gcp.project, region: 'us-east4' },
      {
        compute,
        projects: ['net-prod'],
        firestore: db,
        bus: { put: async (events) => void published.push(...events) },
        clock: cloud.clock,
      },
    ),
    pageBytes: PAGE_BYTES,
  };
}, 60_000);

afterAll(async () => {
  await fs?.stop();
  await cloud?.stop();
});

describe('the Google VPN inventory responder', () => {
  it("answers AWS's request with the project's export in pages", async () => {
    const request = event('VpnInventoryRequested', {
      runId: RUN,
      side: 'gcp',
      requestedAt: '2026-06-01T02:00:00.000Z',
    });
    const result = await handleInventoryEvent(deps, request);
    expect(result).toMatchObject({ action: 'reported', runId: RUN });
    expect(published.length).toBe(result.action === 'reported' ? result.pages : -1);
    expect(published.length).toBeGreaterThan(1);
    for (const e of published) {
      expect(e.crosslinkorigin).toBe('gcp');
      expect(e.type).toBe('crosslink.VpnInventoryReported.v1');
      expect(Buffer.byteLength(JSON.stringify((e.data as InventoryPage).export))).toBeLessThanOrEqual(
        PAGE_BYTES,
      );
    }
    const report = assembleReport(
      RUN,
      'gcp',
      published.map((e) => e.data as InventoryPage),
    );
    expect(report.complete).toBe(true);
    const exp = report.complete ? report.export : {};
    expect(exp).toEqual(await readGcpExport(compute, ['net-prod']));
    const imported = importGcpExport(exp);
    expect(imported.tunnels.length).toBeGreaterThanOrEqual(4);
    expect(imported.routers.length).toBeGreaterThanOrEqual(1);
    expect(imported.routers.every((r) => r.status !== undefined)).toBe(true);
  });

  it("stores AWS's pages in Firestore, in any order and twice, and reads them back", async () => {
    const exp = {
      VpnConnections: Array.from({ length: 30 }, (_, i) => ({
        VpnConnectionId: `vpn-${String(i).padStart(17, '0')}`,
      })),
      TransitGatewayRoutes: { 'tgw-rtb-1': { Routes: [] } },
    };
    const pages = inventoryPages(
      { runId: RUN, side: 'aws', reportedAt: '2026-06-01T02:00:09.000Z' },
      exp,
      512,
    );
    expect(pages.length).toBeGreaterThan(2);
    const store = new FirestoreInventoryPages(db);
    for (const p of pages.slice(1).reverse())
      expect(await handleInventoryEvent(deps, event('VpnInventoryReported', p))).toMatchObject({
        action: 'stored',
      });
    expect(await readPeerInventory(store, RUN, 'aws')).toMatchObject({ complete: false, missing: [1] });
    for (const p of pages.slice(0, 2)) await handleInventoryEvent(deps, event('VpnInventoryReported', p));
    const read = await readPeerInventory(store, RUN, 'aws');
    expect(read.complete && read.export).toEqual(exp);
  });

  it('ignores its own report coming back', async () => {
    const own = event(
      'VpnInventoryReported',
      inventoryPages(
        { runId: RUN, side: 'gcp', reportedAt: '2026-06-01T02:00:09.000Z' },
        { vpnTunnels: [] },
      )[0] as object,
      { cloud: 'gcp', project: cloud.gcp.project, region: 'us-east4' },
    );
    expect(await handleInventoryEvent(deps, own)).toMatchObject({ action: 'ignored' });
  });
});
