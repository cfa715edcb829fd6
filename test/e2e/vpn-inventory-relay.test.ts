/**
 * The VPN inventory exchange across the relay, both halves deployed as `npm start` runs them (the
 * packaged serverless.yml with IAM on, gcp.yml on the emulators with Google IAM, the estate of
 * config/local-estate.yaml): AWS, as the run's coordinator, puts `VpnInventoryRequested` for
 * Google's inventory on its bus; the relay carries it to crosslink-peer-events, Google's
 * vpn-inventory function reads the estate's VPN tunnels, routers and gateways in the network
 * project (as that project's account) and publishes its pages, the relay carries them back, and
 * AWS's vpnInventory Lambda stores them in the links table, where readPeerInventory finds the
 * whole report, which the planner's import reads.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toEventBridgeEntry } from '#aws/envelope.ts';
import { DynamoDbInventoryPages } from '#aws/vpn-inventory.ts';
import { buildEvent } from '#core/envelope.ts';
import { importGcpExport } from '#core/vpn/import-gcp.ts';
import { readPeerInventory } from '#core/vpn/inventory-pages.ts';
import { type BothHalves, dumpOnFailure, startBothHalves, waitFor } from '../support/both-halves.ts';
import { ADMIN_CREDENTIALS, crosslinkPutter } from '../support/local-cloud.ts';

const RUN = 'vpn-local-2026-06-01T02:00:00Z';
let both: BothHalves;

beforeAll(async () => {
  both = await startBothHalves();
}, 180_000);

afterAll(async () => {
  await both?.stop();
});

describe('the VPN inventory across the relay', () => {
  it("AWS asks for Google's inventory and receives all of it", async (ctx) => {
    dumpOnFailure(ctx, both, 'vpn-inventory');
    const { cloud } = both;
    const stack = cloud.awsHalf?.deployment.stack;
    const table = stack?.physicalIds.LinksTable as string;
    const bus = stack?.physicalIds.CrosslinkBus as string;
    expect(table).toBeTruthy();
    const request = buildEvent({
      name: 'VpnInventoryRequested',
      origin: { cloud: 'aws', accountId: cloud.aws.accountId, region: cloud.aws.region },
      subject: RUN,
      data: { runId: RUN, side: 'gcp', requestedAt: new Date(cloud.clock.now()).toISOString() },
      clock: cloud.clock,
    });
    const putter = await crosslinkPutter(cloud, bus);
    try {
      const out = await putter.send(new PutEventsCommand({ Entries: [toEventBridgeEntry(request, bus)] }));
      expect(out.FailedEntryCount).toBe(0);
    } finally {
      putter.destroy();
    }
    const ddb = new DynamoDBClient({
      region: cloud.aws.region,
      endpoint: cloud.aws.endpoint,
      credentials: ADMIN_CREDENTIALS,
    });
    try {
      const store = new DynamoDbInventoryPages(ddb, table);
      const report = await waitFor(
        "Google's inventory stored on AWS",
        async () => {
          const r = await readPeerInventory(store, RUN, 'gcp');
          if (!r.complete) throw new Error(`incomplete: ${JSON.stringify(r)}`);
          return r;
        },
        150_000,
      );
      const gcp = importGcpExport(report.export);
      // The estate's VPNs, each with its HA VPN tunnels in payments-prod, and their routers' status.
      expect(gcp.tunnels.length).toBeGreaterThanOrEqual(4);
      expect(gcp.routers.length).toBeGreaterThanOrEqual(1);
      expect(gcp.routers.every((r) => r.status !== undefined)).toBe(true);
    } finally {
      ddb.destroy();
    }
  }, 200_000);
});
