/**
 * AWS as the VPN runs' coordinator (docs/vpn-runs.md, "The run"): the tasks of the
 * `crosslink-vpn-run` state machine, each function with only the clients its steps use.
 * `stepVpnRun` answers every step but the plan (`{step: "claim" | "request-peer" | "peer-ready" |
 * "emit" | "report", ...}`) with the runs' store and the bus. `stepVpnPlan` plans from the store:
 * this side's inventory as `vpnInventory` stored it for the run (vpn-inventory.ts, its
 * `own-inventory` task), the peer's as the exchange stored it, the links (the links table's records,
 * their gateways from the Direct Connect associations this side's export carries), and this side's
 * VPN traffic from CloudWatch, each VPN's in its own region. The decisions are the core's (functions/core/vpn/run-steps.ts); the
 * reactions on the bus are in vpn-run-events.ts.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { systemClock } from '#core/clock.ts';
import { ConflictError } from '#core/errors.ts';
import type { LinkStore } from '#core/link/ports.ts';
import { need } from '#core/link/settings.ts';
import { type InventoryPageStore, readOwnInventory } from '#core/vpn/inventory-pages.ts';
import { runLinks } from '#core/vpn/run-links.ts';
import { readVpnPrices, readVpnRunSettings } from '#core/vpn/run-policy.ts';
import {
  relayedPeerInventory,
  storedPeerInventory,
  type VpnPlanDeps,
  type VpnRunSources,
  type VpnRunStepDeps,
} from '#core/vpn/run-steps.ts';
import { EventBridgeSink } from './event-sink.ts';
import { DynamoDbLinkStore } from './link-store.ts';
import { embeddedPolicy } from './runtime.ts';
import { DynamoDbInventoryPages } from './vpn-inventory.ts';
import { DynamoDbVpnRuns } from './vpn-run-store.ts';
import { type RegionalVpn, readAwsTrafficByRegion } from './vpn-traffic.ts';

/** VPN traffic of these connections (each in its region) over `windowMs` before `now`, in the metrics file's form. */
export type TrafficReader = (vpns: readonly RegionalVpn[], now: number, windowMs: number) => Promise<unknown>;

/**
 * The plan's sources on AWS: both sides' inventories as stored for the run (this side's by its
 * inventory task, the peer's by the exchange), this side's traffic, and the links.
 */
export function awsPlanSources(o: {
  pages: InventoryPageStore;
  traffic: TrafficReader;
  links: Pick<LinkStore, 'list'>;
}): VpnPlanDeps['sources'] {
  return {
    async own(runId, now, windowMs) {
      const own = await readOwnInventory(o.pages, runId, 'aws');
      if (!own.complete)
        throw new ConflictError(
          `this side's inventory for ${runId} is incomplete (missing ${own.pages === undefined ? 'every page' : `pages ${own.missing.join(', ')} of ${own.pages}`}): its inventory task stores it before the plan`,
        );
      const vpns = (
        (own.export.VpnConnections as { VpnConnectionId?: string; State?: string; Region?: string }[]) ?? []
      )
        .filter((v) => v.VpnConnectionId && v.Region && v.State !== 'deleted')
        .map((v) => ({ vpnConnectionId: v.VpnConnectionId as string, region: v.Region as string }));
      return { export: own.export, traffic: await o.traffic(vpns, now, windowMs) };
    },
    peer: storedPeerInventory(o.pages, 'gcp'),
    links: (awsExport) => runLinks(o.links, awsExport),
  } satisfies Pick<VpnRunSources, 'own' | 'peer' | 'links'>;
}

export { type VpnRunStepInput, vpnCoordinationStep, vpnPlanStep } from '#core/vpn/run-steps.ts';

let stepDeps: VpnRunStepDeps | undefined;

/** `stepVpnRun`'s deps from the Lambda environment: the runs' store, the bus, the peer's exchange. */
export function vpnRunDepsFromEnv(env: NodeJS.ProcessEnv = process.env): VpnRunStepDeps {
  if (stepDeps) return stepDeps;
  const region = need(env, 'AWS_REGION');
  const table = need(env, 'CROSSLINK_TABLE');
  const dynamo = new DynamoDBClient({ region });
  const bus = new EventBridgeSink(new EventBridgeClient({ region }), { busName: need(env, 'CROSSLINK_BUS') });
  const origin = { cloud: 'aws' as const, accountId: need(env, 'CROSSLINK_ACCOUNT_ID'), region };
  stepDeps = {
    runs: new DynamoDbVpnRuns(dynamo, table),
    sources: relayedPeerInventory({
      bus,
      origin,
      clock: systemClock,
      pages: new DynamoDbInventoryPages(dynamo, table),
    }),
    bus,
    clock: systemClock,
    origin,
    installation: need(env, 'CROSSLINK_INSTALLATION'),
  };
  return stepDeps;
}

let planDeps: VpnPlanDeps | undefined;

/** `stepVpnPlan`'s deps from the Lambda environment: the store, CloudWatch, the policy and the prices. */
export function vpnPlanDepsFromEnv(env: NodeJS.ProcessEnv = process.env): VpnPlanDeps {
  if (planDeps) return planDeps;
  const region = need(env, 'AWS_REGION');
  const table = need(env, 'CROSSLINK_TABLE');
  const dynamo = new DynamoDBClient({ region });
  planDeps = {
    runs: new DynamoDbVpnRuns(dynamo, table),
    sources: awsPlanSources({
      pages: new DynamoDbInventoryPages(dynamo, table),
      traffic: (vpns, now, windowMs) => readAwsTrafficByRegion({}, vpns, now, windowMs),
      links: new DynamoDbLinkStore(dynamo, table, systemClock),
    }),
    clock: systemClock,
    origin: { cloud: 'aws', accountId: need(env, 'CROSSLINK_ACCOUNT_ID'), region },
    settings: readVpnRunSettings(embeddedPolicy().document.vpn),
    prices: readVpnPrices(JSON.parse(need(env, 'CROSSLINK_VPN_PRICES'))),
  };
  return planDeps;
}
