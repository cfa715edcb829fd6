/**
 * The AWS side of the VPN inventory exchange (functions/core/vpn/inventory-exchange.ts,
 * docs/vpn-runs.md "The inventory exchange"): the `vpnInventory` Lambda, which the bus rule hands
 * Google's `VpnInventoryRequested` and `VpnInventoryReported`. It answers a request with this
 * account's export (the EC2 CLI's describe outputs of every AWS region of the policy, as
 * `crosslink vpn plan --aws` takes them) in pages on the bus, which the relay carries to Google; it stores Google's pages in the links table
 * (`pk = VPNRUN#<runId>`, `sk = INVENTORY#<side>#<page>`), where the run reads them with
 * `readPeerInventory`; and, for a run this side coordinates, stores this account's export there too
 * (`INVENTORY#aws#<page>`), which the plan reads with `readOwnInventory`.
 */
import {
  DescribeDirectConnectGatewayAssociationsCommand,
  DirectConnectClient,
} from '@aws-sdk/client-direct-connect';
import { type AttributeValue, DynamoDBClient, PutItemCommand, QueryCommand } from '@aws-sdk/client-dynamodb';
import {
  DescribeCustomerGatewaysCommand,
  DescribeRouteTablesCommand,
  DescribeTransitGatewayAttachmentsCommand,
  DescribeTransitGatewayRouteTablesCommand,
  DescribeVpnConnectionsCommand,
  EC2Client,
  SearchTransitGatewayRoutesCommand,
} from '@aws-sdk/client-ec2';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { type Clock, systemClock } from '#core/clock.ts';
import type { Cloud } from '#core/envelope.ts';
import { need } from '#core/link/settings.ts';
import { awsRegionsOf } from '#core/policy/policy.ts';
import {
  handleInventoryEvent,
  type InventoryExchangeDeps,
  type InventoryExchangeResult,
  type OwnInventoryRequest,
  storeOwnInventory,
} from '#core/vpn/inventory-exchange.ts';
import type { InventoryExport, InventoryPage, InventoryPageStore } from '#core/vpn/inventory-pages.ts';
import { type EventBridgeEvent, fromEventBridgeEvent } from './envelope.ts';
import { EventBridgeSink } from './event-sink.ts';
import { embeddedPolicy, perRegion } from './runtime.ts';

/** An SDK output as the CLI prints it: without `$metadata`, dates as ISO strings. */
const exported = (out: object): Record<string, unknown> => {
  const { $metadata: _, ...rest } = out as { $metadata?: unknown };
  return JSON.parse(JSON.stringify(rest)) as Record<string, unknown>;
};

/** Pages an EC2 describe call by NextToken, concatenating `key`. */
async function paged<T>(
  key: string,
  call: (token: string | undefined) => Promise<{ NextToken?: string | undefined } & object>,
): Promise<T[]> {
  const all: T[] = [];
  let token: string | undefined;
  do {
    const page = exported(await call(token));
    all.push(...((page[key] as T[] | undefined) ?? []));
    token = page.NextToken as string | undefined;
  } while (token);
  return all;
}

/**
 * This account's VPN export: `describe-vpn-connections`, `describe-customer-gateways`,
 * `describe-route-tables`, `describe-transit-gateway-attachments`,
 * `describe-transit-gateway-route-tables` merged as `jq -s add` would, with `TransitGatewayRoutes`:
 * each route table's active routes (`search-transit-gateway-routes`). What importAwsExport reads.
 */
export async function readAwsExport(ec2: EC2Client): Promise<InventoryExport> {
  const vpn = exported(await ec2.send(new DescribeVpnConnectionsCommand({})));
  const cgw = exported(await ec2.send(new DescribeCustomerGatewaysCommand({})));
  const RouteTables = await paged('RouteTables', (NextToken) =>
    ec2.send(new DescribeRouteTablesCommand({ NextToken })),
  );
  const TransitGatewayAttachments = await paged('TransitGatewayAttachments', (NextToken) =>
    ec2.send(new DescribeTransitGatewayAttachmentsCommand({ NextToken })),
  );
  const TransitGatewayRouteTables = await paged<{ TransitGatewayRouteTableId?: string }>(
    'TransitGatewayRouteTables',
    (NextToken) => ec2.send(new DescribeTransitGatewayRouteTablesCommand({ NextToken })),
  );
  const TransitGatewayRoutes: Record<string, unknown> = {};
  for (const t of TransitGatewayRouteTables) {
    const id = t.TransitGatewayRouteTableId;
    if (!id) continue;
    TransitGatewayRoutes[id] = exported(
      await ec2.send(
        new SearchTransitGatewayRoutesCommand({
          TransitGatewayRouteTableId: id,
          Filters: [{ Name: 'state', Values: ['active'] }],
        }),
      ),
    );
  }
  return {
    VpnConnections: vpn.VpnConnections ?? [],
    CustomerGateways: cgw.CustomerGateways ?? [],
    RouteTables,
    TransitGatewayAttachments,
    TransitGatewayRouteTables,
    TransitGatewayRoutes,
  };
}

/**
 * The export a coordinator on the other cloud receives: this account's, with
 * `DirectConnectGatewayAssociations`, the associations of every gateway a VPN is on
 * (`DescribeDirectConnectGatewayAssociations` by `associatedGatewayId`, paged), since Google cannot
 * read Direct Connect to find which VPNs a link's Direct Connect gateway reaches. The planner's
 * import ignores the key.
 */
export async function withGatewayAssociations(
  own: InventoryExport,
  dx: DirectConnectClient,
): Promise<InventoryExport> {
  const gateways = new Set<string>();
  for (const v of (own.VpnConnections as { TransitGatewayId?: string; VpnGatewayId?: string }[]) ?? []) {
    if (v.TransitGatewayId) gateways.add(v.TransitGatewayId);
    if (v.VpnGatewayId) gateways.add(v.VpnGatewayId);
  }
  const associations: unknown[] = [];
  for (const associatedGatewayId of [...gateways].sort()) {
    let nextToken: string | undefined;
    do {
      const page = exported(
        await dx.send(
          new DescribeDirectConnectGatewayAssociationsCommand({ associatedGatewayId, nextToken }),
        ),
      );
      associations.push(...((page.directConnectGatewayAssociations as unknown[] | undefined) ?? []));
      nextToken = page.nextToken as string | undefined;
    } while (nextToken);
  }
  return { ...own, DirectConnectGatewayAssociations: associations };
}

const pageKey = (side: Cloud, page: number) => `INVENTORY#${side}#${String(page).padStart(5, '0')}`;

/** The pages the coordinator received, in the links table under the run (`VPNRUN#<runId>`). */
export class DynamoDbInventoryPages implements InventoryPageStore {
  readonly #client: DynamoDBClient;
  readonly #table: string;
  constructor(client: DynamoDBClient, table: string) {
    this.#client = client;
    this.#table = table;
  }

  async put(page: InventoryPage): Promise<void> {
    // The same page again overwrites itself: a duplicate leaves one item.
    await this.#client.send(
      new PutItemCommand({
        TableName: this.#table,
        Item: {
          pk: { S: `VPNRUN#${page.runId}` },
          sk: { S: pageKey(page.side, page.page) },
          page: { S: JSON.stringify(page) },
        },
      }),
    );
  }

  async pages(runId: string, side: Cloud): Promise<InventoryPage[]> {
    const out: InventoryPage[] = [];
    let start: Record<string, AttributeValue> | undefined;
    do {
      const res = await this.#client.send(
        new QueryCommand({
          TableName: this.#table,
          KeyConditionExpression: 'pk = :pk AND begins_with(sk, :sk)',
          ExpressionAttributeValues: { ':pk': { S: `VPNRUN#${runId}` }, ':sk': { S: `INVENTORY#${side}#` } },
          ConsistentRead: true,
          ...(start ? { ExclusiveStartKey: start } : {}),
        }),
      );
      for (const item of res.Items ?? [])
        if (item.page?.S) out.push(JSON.parse(item.page.S) as InventoryPage);
      start = res.LastEvaluatedKey;
    } while (start);
    return out;
  }
}

/** One region's clients: EC2 and Direct Connect there. */
export interface RegionClients {
  ec2: EC2Client;
  dx: DirectConnectClient;
}

/** What a region that did not answer said: the error's name and message. */
const reasonOf = (e: unknown): string => {
  const err = e as { name?: string; message?: string };
  return `${err?.name ?? 'Error'}: ${err?.message ?? String(e)}`;
};

/**
 * This account's export in every region of `regions` (the policy's AWS regions), each region's
 * read with its own clients (EC2 and Direct Connect are regional): the lists concatenated (their ids
 * are unique across regions), each `VpnConnections[i]` with its `Region`, `Regions` the regions read
 * and `RegionsMissing` (`[{Region, Reason}]`) those whose read failed after the SDK's retries, whose
 * VPNs are therefore absent (docs/vpn-planner.md "Regions"). Every region failing is the run's
 * failure: the first region's error is thrown.
 */
export async function readAwsExports(
  regions: readonly string[],
  clientsFor: (region: string) => RegionClients,
): Promise<InventoryExport> {
  const reads = await Promise.all(
    regions.map(async (region) => {
      try {
        const { ec2, dx } = clientsFor(region);
        return { region, export: await withGatewayAssociations(await readAwsExport(ec2), dx) };
      } catch (e) {
        return { region, error: e };
      }
    }),
  );
  const answered = reads.filter((r): r is { region: string; export: InventoryExport } => 'export' in r);
  if (answered.length === 0 && reads.length > 0) throw (reads[0] as { error: unknown }).error;
  const list = (key: string) =>
    answered.flatMap((r) =>
      ((r.export[key] as unknown[] | undefined) ?? []).map((v) =>
        key === 'VpnConnections' ? { ...(v as object), Region: r.region } : v,
      ),
    );
  const merged: InventoryExport = {};
  for (const key of [
    'VpnConnections',
    'CustomerGateways',
    'RouteTables',
    'TransitGatewayAttachments',
    'TransitGatewayRouteTables',
    'DirectConnectGatewayAssociations',
  ])
    merged[key] = list(key);
  merged.TransitGatewayRoutes = Object.assign(
    {},
    ...answered.map((r) => (r.export.TransitGatewayRoutes as object | undefined) ?? {}),
  );
  merged.Regions = answered.map((r) => r.region).sort();
  merged.RegionsMissing = reads.flatMap((r) =>
    'error' in r ? [{ Region: r.region, Reason: reasonOf(r.error) }] : [],
  );
  return merged;
}

/** The SDK's attempts per inventory call (its default is 3). */
export const INVENTORY_MAX_ATTEMPTS = 6;

/**
 * How long one inventory call may take to connect and to answer before the SDK tries it again (its
 * default is to wait as long as the socket stays open). A region whose endpoint accepts and never
 * answers is then named missing after its attempts (about 65 s), within the function's 120 s,
 * instead of timing the whole read out and costing the run every region.
 */
export const INVENTORY_TIMEOUTS = { connectionTimeout: 3_000, requestTimeout: 10_000 };

/**
 * The EC2 and Direct Connect client settings of one region's inventory read. `throwOnRequestTimeout`:
 * without it the SDK only logs a warning past `requestTimeout` and keeps waiting.
 */
export function inventoryClientConfig(region: string, timeouts = INVENTORY_TIMEOUTS) {
  return {
    region,
    maxAttempts: INVENTORY_MAX_ATTEMPTS,
    requestHandler: { ...timeouts, throwOnRequestTimeout: true },
  };
}

let cached: InventoryExchangeDeps | undefined;

/**
 * The function's dependencies from its environment, once per cold start: EC2 and Direct Connect
 * clients per AWS region of the embedded policy, made on first use.
 */
export function vpnInventoryDepsFromEnv(env: NodeJS.ProcessEnv = process.env, clock: Clock = systemClock) {
  if (cached) return cached;
  const region = need(env, 'AWS_REGION');
  const regions = awsRegionsOf(embeddedPolicy().document);
  // A region whose read fails is left out of the run (RegionsMissing), so a throttled or failing
  // call gets more of the SDK's retries (exponential backoff) than its default three attempts before
  // it costs the run that region: a region out fails them all.
  const clientsFor = perRegion((r) => ({
    ec2: new EC2Client(inventoryClientConfig(r)),
    dx: new DirectConnectClient(inventoryClientConfig(r)),
  }));
  cached = {
    origin: { cloud: 'aws', accountId: need(env, 'CROSSLINK_ACCOUNT_ID'), region },
    clock,
    readExport: () => readAwsExports(regions, clientsFor),
    sink: new EventBridgeSink(new EventBridgeClient({ region }), { busName: need(env, 'CROSSLINK_BUS') }),
    pages: new DynamoDbInventoryPages(new DynamoDBClient({ region }), need(env, 'CROSSLINK_TABLE')),
  };
  return cached;
}

/**
 * One bus event of the exchange, as the rule delivers it; or the run's own-inventory task
 * (`{step: "own-inventory", runId}`, invoked by the vpn-run state machine): this account's export
 * stored in pages for the run's plan.
 */
export function vpnInventoryStep(
  deps: InventoryExchangeDeps,
  input: EventBridgeEvent | OwnInventoryRequest,
): Promise<InventoryExchangeResult | Awaited<ReturnType<typeof storeOwnInventory>>> {
  if ('detail-type' in input) return handleInventoryEvent(deps, fromEventBridgeEvent(input));
  return storeOwnInventory(deps, input);
}
