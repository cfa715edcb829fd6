/**
 * AWS as the VPN runs' coordinator (docs/vpn-runs.md, "The run"): the `stepVpnRun` task of the
 * `crosslink-vpn-run` state machine, one step per call (`{step: "claim" | "request-peer" |
 * "peer-ready" | "plan" | "emit" | "report", ...}`; the reactions on the bus are in
 * vpn-run-events.ts). The decisions are the core's (functions/core/vpn/run-steps.ts); this module
 * reads this side's inventory (EC2, CloudWatch), the links (the links table and the Direct Connect
 * gateways' associations) and wires the stores.
 */
import {
  DescribeDirectConnectGatewayAssociationsCommand,
  DirectConnectClient,
} from '@aws-sdk/client-direct-connect';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EC2Client } from '@aws-sdk/client-ec2';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { systemClock } from '#core/clock.ts';
import type { LinkRecord } from '#core/link/model.ts';
import { need } from '#core/link/settings.ts';
import { plannerLinksOfRecords, RUN_LINK_STATES } from '#core/vpn/run-links.ts';
import { readVpnPrices, readVpnRunSettings } from '#core/vpn/run-policy.ts';
import { relayedPeerInventory, type VpnRunDeps, type VpnRunSources } from '#core/vpn/run-steps.ts';
import { credentialsFor } from './assume-role.ts';
import { EventBridgeSink } from './event-sink.ts';
import { DynamoDbLinkStore } from './link-store.ts';
import { clientConfig, SESSION, stsClient } from './ports/accounts.ts';
import { accountRoles, embeddedPolicy } from './runtime.ts';
import { DynamoDbInventoryPages, readAwsExport } from './vpn-inventory.ts';
import { DynamoDbVpnRuns } from './vpn-run-store.ts';
import { readAwsTraffic } from './vpn-traffic.ts';

/** Where the links come from: crosslink's records, and the gateways a Direct Connect gateway reaches. */
export interface RunLinkReads {
  records(): Promise<LinkRecord[]>;
  /**
   * The virtual private and transit gateways associated with a Direct Connect gateway, read in the
   * link's account (a network account as its role, CROSSLINK_ACCOUNT_ROLES) and region.
   */
  gateways(directConnectGatewayId: string, where: { accountId: string; region: string }): Promise<string[]>;
}

/** This side's sources: EC2 and CloudWatch in the hub account (the Lambda's region), the links, the peer's port. */
export function awsRunSources(o: {
  region: string;
  /** This account's export as the planner imports it (vpn-inventory.ts `readAwsExport`). */
  readExport: () => Promise<Record<string, unknown>>;
  /** The peer's inventory (run-steps.ts `relayedPeerInventory`: the relay's exchange). */
  peer: Pick<VpnRunSources, 'requestPeer' | 'peer'>;
  links: RunLinkReads;
}): VpnRunSources {
  return {
    async own(now, windowMs) {
      const exported = await o.readExport();
      const ids = ((exported.VpnConnections as { VpnConnectionId?: string; State?: string }[]) ?? [])
        .filter((v) => v.VpnConnectionId && v.State !== 'deleted')
        .map((v) => v.VpnConnectionId as string);
      return { export: exported, traffic: await readAwsTraffic({ region: o.region }, ids, now, windowMs) };
    },
    requestPeer: (runId, at) => o.peer.requestPeer(runId, at),
    peer: (runId) => o.peer.peer(runId),
    links: async () =>
      plannerLinksOfRecords(await o.links.records(), (id, where) => o.links.gateways(id, where)),
  };
}

/** The links table's records of links a run reads, and Direct Connect's associations. */
export function awsRunLinkReads(
  store: DynamoDbLinkStore,
  dx: (where: { accountId: string; region: string }) => DirectConnectClient,
) {
  return {
    async records() {
      const out: LinkRecord[] = [];
      for (const state of RUN_LINK_STATES) {
        let cursor: string | undefined;
        do {
          const page = await store.list({ state, limit: 100, ...(cursor ? { cursor } : {}) });
          out.push(...page.items);
          cursor = page.cursor;
        } while (cursor);
      }
      return out;
    },
    async gateways(directConnectGatewayId: string, where: { accountId: string; region: string }) {
      const ids: string[] = [];
      let nextToken: string | undefined;
      do {
        const page = await dx(where).send(
          new DescribeDirectConnectGatewayAssociationsCommand({ directConnectGatewayId, nextToken }),
        );
        for (const a of page.directConnectGatewayAssociations ?? [])
          if (a.associationState === 'associated' && a.associatedGateway?.id)
            ids.push(a.associatedGateway.id);
        nextToken = page.nextToken;
      } while (nextToken);
      return ids;
    },
  } satisfies RunLinkReads;
}

export { type VpnRunStepInput, vpnRunStep } from '#core/vpn/run-steps.ts';

let cached: VpnRunDeps | undefined;

/** The deps from the Lambda environment. */
export function vpnRunDepsFromEnv(env: NodeJS.ProcessEnv = process.env): VpnRunDeps {
  if (cached) return cached;
  const region = need(env, 'AWS_REGION');
  const table = need(env, 'CROSSLINK_TABLE');
  const dynamo = new DynamoDBClient({ region });
  const roles = accountRoles(env);
  const dx = new Map<string, DirectConnectClient>();
  const dxFor = ({ accountId, region: r }: { accountId: string; region: string }) => {
    const key = `${accountId}/${r}`;
    const credentials = credentialsFor(stsClient(env), roles, accountId, SESSION);
    const client = dx.get(key) ?? new DirectConnectClient(clientConfig(env, r, credentials));
    dx.set(key, client);
    return client;
  };
  const policy = embeddedPolicy();
  const ec2 = new EC2Client({ region });
  const bus = new EventBridgeSink(new EventBridgeClient({ region }), { busName: need(env, 'CROSSLINK_BUS') });
  const origin = { cloud: 'aws' as const, accountId: need(env, 'CROSSLINK_ACCOUNT_ID'), region };
  cached = {
    runs: new DynamoDbVpnRuns(dynamo, table),
    sources: awsRunSources({
      region,
      readExport: () => readAwsExport(ec2),
      peer: relayedPeerInventory({
        bus,
        origin,
        clock: systemClock,
        pages: new DynamoDbInventoryPages(dynamo, table),
      }),
      links: awsRunLinkReads(new DynamoDbLinkStore(dynamo, table, systemClock), dxFor),
    }),
    bus,
    clock: systemClock,
    origin,
    installation: need(env, 'CROSSLINK_INSTALLATION'),
    settings: readVpnRunSettings(policy.document.vpn),
    prices: readVpnPrices(JSON.parse(need(env, 'CROSSLINK_VPN_PRICES'))),
  };
  return cached;
}
