/**
 * The AWS side of the VPN inventory exchange against the local cloud, with the real EC2,
 * EventBridge and DynamoDB clients on the edge: Google's request is answered with this account's
 * export in several pages on the bus (each page under its budget, put alone), the pages merged
 * back equal the export the planner imports; Google's pages are stored in the links table and read
 * back with readPeerInventory (missing pages named, duplicates and any order harmless); this side's
 * own events and requests for Google's inventory are ignored. And the vpn-run state machine's
 * own-inventory task: this account's export stored for the run's plan, the newest report read.
 * And the read of every region of the policy, each with its own SDK clients: each VPN carries its
 * region, and a region that is out is named in the export, its VPNs absent.
 */

import { type AddressInfo, createServer, type Socket } from 'node:net';
import { DirectConnectClient } from '@aws-sdk/client-direct-connect';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EC2Client } from '@aws-sdk/client-ec2';
import {
  CreateEventBusCommand,
  EventBridgeClient,
  PutRuleCommand,
  PutTargetsCommand,
} from '@aws-sdk/client-eventbridge';
import {
  CreateQueueCommand,
  DeleteMessageCommand,
  ReceiveMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type EventBridgeEvent, toEventBridgeEntry } from '#aws/envelope.ts';
import { EventBridgeSink } from '#aws/event-sink.ts';
import {
  DynamoDbInventoryPages,
  INVENTORY_MAX_ATTEMPTS,
  inventoryClientConfig,
  readAwsExport,
  readAwsExports,
  vpnInventoryStep,
} from '#aws/vpn-inventory.ts';
import { ManualClock } from '#core/clock.ts';
import { buildEvent, type CloudEvent, type Origin } from '#core/envelope.ts';
import { importAwsExport } from '#core/vpn/import-aws.ts';
import type { InventoryExchangeDeps } from '#core/vpn/inventory-exchange.ts';
import {
  assembleReport,
  type InventoryPage,
  inventoryPages,
  readOwnInventory,
  readPeerInventory,
} from '#core/vpn/inventory-pages.ts';
import type { LocalCloud } from '#local/index.ts';
import { createLinksTable } from '../support/links-table.ts';
import { ADMIN_CREDENTIALS, admin, startTestCloud } from '../support/local-cloud.ts';
import { vpnWorld } from '../support/vpn-world.ts';

const ACCOUNT = '000000000000';
const REGION = 'us-east-1';
const TABLE = 'crosslink-links-test';
const PAGE_BYTES = 4096;
const GCP: Origin = { cloud: 'gcp', project: 'crosslink-hub', region: 'us-east4' };
const RUN = 'vpn-prod-2026-06-01T02:00:00Z';
let cloud: LocalCloud;
let ec2: EC2Client;
let eb: EventBridgeClient;
let sqs: SQSClient;
let ddb: DynamoDBClient;
let deps: InventoryExchangeDeps;
let reportsQueue: string;
const vpnIds: string[] = [];

/** A CloudEvent as the rule hands it to the function (the relay put Google's on the bus). */
function delivered(event: CloudEvent): EventBridgeEvent {
  const entry = toEventBridgeEntry(event, 'crosslink');
  return {
    version: '0',
    id: event.id,
    'detail-type': entry.DetailType,
    source: entry.Source,
    account: ACCOUNT,
    region: REGION,
    time: event.time,
    resources: [],
    detail: JSON.parse(entry.Detail),
  };
}

const googleEvent = <N extends 'VpnInventoryRequested' | 'VpnInventoryReported'>(
  name: N,
  data: N extends 'VpnInventoryRequested'
    ? { runId: string; side: 'aws' | 'gcp'; requestedAt: string }
    : InventoryPage,
  origin: Origin = GCP,
) =>
  buildEvent({
    name,
    origin,
    subject: data.runId,
    data: data as never,
    clock: new ManualClock('2026-06-01T02:00:00Z'),
  });

async function drain(url: string): Promise<unknown[]> {
  const out: unknown[] = [];
  for (;;) {
    const { Messages = [] } = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 10 }),
    );
    if (Messages.length === 0) return out;
    for (const m of Messages) {
      out.push(JSON.parse(m.Body as string));
      await sqs.send(new DeleteMessageCommand({ QueueUrl: url, ReceiptHandle: m.ReceiptHandle }));
    }
  }
}

beforeAll(async () => {
  // IAM off: the function's role (VpnInventoryRole) is checked against the calls its code reaches by
  // test/contract/iam-grants.test.ts; this file proves what it reads, puts and stores.
  cloud = await startTestCloud({ iam: false });
  const config = { region: REGION, endpoint: cloud.aws.endpoint, credentials: ADMIN_CREDENTIALS };
  ec2 = new EC2Client(config);
  eb = new EventBridgeClient(config);
  sqs = new SQSClient(config);
  ddb = new DynamoDBClient(config);
  const world = await vpnWorld(cloud);
  for (let i = 0; i < 6; i++) {
    const vpn = await world.buildVpn(
      `estate-${i}`,
      i % 2 === 0 ? { transitGatewayId: world.tgw.transitGatewayId } : {},
    );
    vpnIds.push(vpn.vpnConnectionId);
  }
  await cloud.clock.advance(3 * 60_000);
  await eb.send(new CreateEventBusCommand({ Name: 'crosslink' }));
  await createLinksTable(ddb, TABLE);
  // What the relay's rule would take to Google: this side's reports.
  reportsQueue = (await sqs.send(new CreateQueueCommand({ QueueName: 'inventory-reports' })))
    .QueueUrl as string;
  await eb.send(
    new PutRuleCommand({
      Name: 'reports',
      EventBusName: 'crosslink',
      EventPattern: JSON.stringify({ source: ['crosslink'], 'detail-type': ['VpnInventoryReported'] }),
    }),
  );
  await eb.send(
    new PutTargetsCommand({
      Rule: 'reports',
      EventBusName: 'crosslink',
      Targets: [{ Id: 'q', Arn: `arn:aws:sqs:${REGION}:${ACCOUNT}:inventory-reports` }],
    }),
  );
  deps = {
    origin: { cloud: 'aws', accountId: ACCOUNT, region: REGION },
    clock: cloud.clock,
    readExport: () => readAwsExport(ec2),
    sink: new EventBridgeSink(eb, { busName: 'crosslink' }),
    pages: new DynamoDbInventoryPages(ddb, TABLE),
    pageBytes: PAGE_BYTES,
  };
}, 60_000);

afterAll(async () => {
  for (const c of [ec2, eb, sqs, ddb]) c?.destroy();
  await cloud?.stop();
});

describe('the AWS VPN inventory responder', () => {
  it("answers Google's request with this account's export in pages on the bus", async () => {
    const request = googleEvent('VpnInventoryRequested', {
      runId: RUN,
      side: 'aws',
      requestedAt: '2026-06-01T02:00:00.000Z',
    });
    const result = await vpnInventoryStep(deps, delivered(request));
    expect(result).toMatchObject({ action: 'reported', runId: RUN });
    const pages = result.action === 'reported' ? result.pages : 0;
    expect(pages).toBeGreaterThan(2);
    await cloud.clock.advance(1000);
    const events = (await drain(reportsQueue)) as { detail: CloudEvent<InventoryPage> }[];
    expect(events).toHaveLength(pages);
    for (const e of events) {
      expect(e.detail.crosslinkorigin).toBe('aws');
      expect(e.detail.subject).toBe(RUN);
      expect(e.detail.traceparent).toBe(request.traceparent);
      expect(Buffer.byteLength(JSON.stringify(e.detail.data.export))).toBeLessThanOrEqual(PAGE_BYTES);
    }
    const report = assembleReport(
      RUN,
      'aws',
      events.map((e) => e.detail.data),
    );
    expect(report.complete).toBe(true);
    const exp = report.complete ? report.export : {};
    expect(exp).toEqual(await readAwsExport(ec2));
    const imported = importAwsExport(exp);
    expect(imported.vpnConnections.map((v) => v.vpnConnectionId).sort()).toEqual([...vpnIds].sort());
    expect(imported.vpnConnections.filter((v) => v.gateway.kind === 'tgw')).toHaveLength(3);
  });

  it("stores Google's pages by run, in any order and twice, and reads them back", async () => {
    const exp = {
      vpnTunnels: Array.from({ length: 40 }, (_, i) => ({ name: `tunnel-${i}`, peerIp: `203.0.113.${i}` })),
      routers: [{ name: 'core-router' }],
      routerStatus: { 'core-router': { result: { bestRoutes: [] } } },
      externalVpnGateways: [],
    };
    const pages = inventoryPages(
      { runId: RUN, side: 'gcp', reportedAt: '2026-06-01T02:00:07.000Z' },
      exp,
      512,
    );
    expect(pages.length).toBeGreaterThan(2);
    const store = new DynamoDbInventoryPages(ddb, TABLE);
    for (const p of [...pages].reverse().slice(0, -1))
      expect(await vpnInventoryStep(deps, delivered(googleEvent('VpnInventoryReported', p)))).toMatchObject({
        action: 'stored',
        page: p.page,
      });
    expect(await readPeerInventory(store, RUN, 'gcp')).toMatchObject({ complete: false, missing: [1] });
    await vpnInventoryStep(deps, delivered(googleEvent('VpnInventoryReported', pages[0] as InventoryPage)));
    await vpnInventoryStep(deps, delivered(googleEvent('VpnInventoryReported', pages[1] as InventoryPage)));
    const read = await readPeerInventory(store, RUN, 'gcp');
    expect(read.complete && read.export).toEqual(exp);
    // Another run's pages are apart.
    expect(await readPeerInventory(store, 'vpn-prod-2026-06-02T02:00:00Z', 'gcp')).toMatchObject({
      complete: false,
    });
  });

  it("ignores its own events and a request for Google's inventory", async () => {
    const own = googleEvent(
      'VpnInventoryRequested',
      { runId: RUN, side: 'aws', requestedAt: '2026-06-01T02:00:00.000Z' },
      { cloud: 'aws', accountId: ACCOUNT, region: REGION },
    );
    expect(await vpnInventoryStep(deps, delivered(own))).toMatchObject({ action: 'ignored' });
    const forGoogle = googleEvent('VpnInventoryRequested', {
      runId: RUN,
      side: 'gcp',
      requestedAt: '2026-06-01T02:00:00.000Z',
    });
    expect(await vpnInventoryStep(deps, delivered(forGoogle))).toEqual({
      action: 'ignored',
      reason: "the request is for gcp's inventory",
    });
    await cloud.clock.advance(1000);
    expect(await drain(reportsQueue)).toEqual([]);
  });
});

describe("the vpn-run state machine's own-inventory task", () => {
  const OWN_RUN = 'vpn-prod-20260601T020000Z';

  it("stores this account's export in pages for the run's plan; a retry's newer report is the one read", async () => {
    // Arrange
    const store = new DynamoDbInventoryPages(ddb, TABLE);
    const exported = await readAwsExport(ec2);
    // Act: a first attempt in small pages, then a retry in larger ones a second later.
    const first = await vpnInventoryStep(deps, { step: 'own-inventory', runId: OWN_RUN });
    await cloud.clock.advance(1000);
    const retry = await vpnInventoryStep(
      { ...deps, pageBytes: 64 * 1024 },
      { step: 'own-inventory', runId: OWN_RUN },
    );
    // Assess: pages under this side, none put on the bus, read back as the export.
    expect(first).toEqual({ action: 'stored-own', runId: OWN_RUN, side: 'aws', pages: expect.any(Number) });
    expect((first as { pages: number }).pages).toBeGreaterThan(1);
    expect(retry).toMatchObject({ action: 'stored-own', pages: 1 });
    const read = await readOwnInventory(store, OWN_RUN, 'aws');
    expect(read.complete && read.export).toEqual(exported);
    expect(read.complete && read.pages).toBe(1);
    expect((await store.pages(OWN_RUN, 'gcp')).length).toBe(0);
    await cloud.clock.advance(1000);
    expect(await drain(reportsQueue)).toEqual([]);
  });

  it('refuses an invocation that names no run or another task, naming the field', async () => {
    await expect(vpnInventoryStep(deps, { step: 'own-inventory', runId: 'run-1' })).rejects.toThrow(
      /runId: must be a VPN run id/,
    );
    await expect(vpnInventoryStep(deps, { step: 'plan', runId: OWN_RUN } as never)).rejects.toThrow(
      /step: must be own-inventory/,
    );
  });
});

describe('the export of every region of the policy', () => {
  const REGIONS = ['eu-central-1', 'us-east-1', 'us-west-2'];
  const made: { ec2: EC2Client; dx: DirectConnectClient }[] = [];
  const clientsFor = (region: string) => {
    const config = { region, endpoint: cloud.aws.endpoint, credentials: ADMIN_CREDENTIALS };
    const c = { ec2: new EC2Client(config), dx: new DirectConnectClient(config) };
    made.push(c);
    return c;
  };
  const westVpns: string[] = [];
  afterAll(() => {
    for (const c of made) {
      c.ec2.destroy();
      c.dx.destroy();
    }
  });

  it('reads each region through its own clients, each VPN with its region, as the planner imports it', async () => {
    // Arrange: a VPC in us-west-2 with a VPN to the same Google network.
    const { vpc } = await admin(cloud, 'POST', '/aws/ec2/add-vpc', {
      region: 'us-west-2',
      cidrBlocks: ['10.3.0.0/16'],
    });
    const built = await admin(cloud, 'POST', '/aws/ec2/build-vpn', {
      name: 'west-0',
      aws: { vpcId: vpc.vpcId },
      gcp: { project: 'net-prod', region: 'us-west1', network: 'core' },
    });
    westVpns.push(built.vpn.vpnConnectionId);
    // Act
    const exp = await readAwsExports(REGIONS, clientsFor);
    // Assess
    const imported = importAwsExport(exp);
    const byRegion = (r: string) =>
      imported.vpnConnections.filter((v) => v.region === r).map((v) => v.vpnConnectionId);
    expect(byRegion('us-west-2')).toEqual(westVpns);
    expect(byRegion('us-east-1').sort()).toEqual([...vpnIds].sort());
    expect(byRegion('eu-central-1')).toEqual([]);
    expect(imported.regions).toEqual(REGIONS);
    expect(imported.missingRegions).toEqual([]);
    // The hub region's own part is what its single-region read gives.
    const east = await readAwsExport(ec2);
    expect((exp.VpnConnections as object[]).length).toBe((east.VpnConnections as object[]).length + 1);
  });

  it("names a region whose endpoint never answers, through the inventory's own client settings, the others read", async () => {
    // Arrange: us-west-2's endpoint accepts connections and never answers (a hung region)
    const sockets: Socket[] = [];
    const hung = createServer((socket) => void sockets.push(socket));
    await new Promise<void>((r) => hung.listen(0, '127.0.0.1', r));
    const port = (hung.address() as AddressInfo).port;
    const clients = (region: string) => {
      if (region !== 'us-west-2') return clientsFor(region);
      const config = {
        ...inventoryClientConfig(region, { connectionTimeout: 1_000, requestTimeout: 300 }),
        endpoint: `http://127.0.0.1:${port}`,
        credentials: ADMIN_CREDENTIALS,
      };
      const c = { ec2: new EC2Client(config), dx: new DirectConnectClient(config) };
      made.push(c);
      return c;
    };
    try {
      // Act
      const exp = await readAwsExports(REGIONS, clients);
      // Assess
      const imported = importAwsExport(exp);
      expect(imported.missingRegions).toEqual([
        { region: 'us-west-2', reason: expect.stringMatching(/^TimeoutError/) },
      ]);
      expect(imported.regions).toEqual(['eu-central-1', 'us-east-1']);
      // Every attempt the inventory's settings allow was made before the region was given up.
      expect(sockets.length).toBe(INVENTORY_MAX_ATTEMPTS);
    } finally {
      for (const s of sockets) s.destroy();
      await new Promise((r) => hung.close(r));
    }
  });

  it('names a region that is out and leaves its VPNs out, the others read', async () => {
    // Arrange
    await admin(cloud, 'POST', '/world/region-outage', { cloud: 'aws', region: 'us-west-2', on: true });
    try {
      // Act
      const exp = await readAwsExports(REGIONS, clientsFor);
      // Assess
      const imported = importAwsExport(exp);
      expect(imported.missingRegions).toEqual([
        {
          region: 'us-west-2',
          reason: expect.stringMatching(/^Unavailable: ec2 in us-west-2 is not answering/),
        },
      ]);
      expect(imported.regions).toEqual(['eu-central-1', 'us-east-1']);
      expect(imported.vpnConnections.map((v) => v.vpnConnectionId)).not.toContain(westVpns[0]);
      expect(imported.vpnConnections.length).toBe(vpnIds.length);
    } finally {
      await admin(cloud, 'POST', '/world/region-outage', { cloud: 'aws', region: 'us-west-2', on: false });
    }
  });
});
