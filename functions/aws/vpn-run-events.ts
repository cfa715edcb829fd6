/**
 * `vpnRunEvents` on the bus (docs/vpn-runs.md, "Undrain when a link weakens"): a link's
 * `LinkStateChanged` to DEGRADED or DOWN undrains the VPNs the runs drained because of it; a VPN
 * half's result is kept with the run that commanded it (functions/core/vpn/run-events.ts). The
 * watcher's schedule drives it too, every minute ("Undrain when VPN traffic returns"): a drained
 * VPN whose CloudWatch traffic since its drain is above the policy's limit is undrained
 * (functions/core/vpn/traffic-return.ts). Only the runs' store, the bus and CloudWatch: none of the
 * inventory's clients.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { systemClock } from '#core/clock.ts';
import { need } from '#core/link/settings.ts';
import { vpnRunReaction } from '#core/vpn/run-events.ts';
import { readVpnRunSettings } from '#core/vpn/run-policy.ts';
import type { VpnRunEventDeps } from '#core/vpn/run-steps.ts';
import { type TrafficCheckReport, undrainForTraffic, type VpnTrafficDeps } from '#core/vpn/traffic-return.ts';
import { type EventBridgeEvent, fromEventBridgeEvent } from './envelope.ts';
import { EventBridgeSink } from './event-sink.ts';
import { embeddedPolicy } from './runtime.ts';
import { DynamoDbVpnRuns } from './vpn-run-store.ts';
import { readAwsTrafficByRegion } from './vpn-traffic.ts';

/** A firing of an EventBridge schedule (`aws.*` sources are EventBridge's own: nobody else may put one). */
export function isScheduledEvent(event: EventBridgeEvent): boolean {
  return event.source === 'aws.events' && event['detail-type'] === 'Scheduled Event';
}

/** A bus event for the run: a link's state change, or a half's result. Others are refused. */
export function vpnRunEvent(deps: VpnRunEventDeps, event: EventBridgeEvent): Promise<unknown> {
  return vpnRunReaction(deps, fromEventBridgeEvent(event), 'detail-type');
}

/** The watcher's schedule firing: the drained VPNs' traffic checked, the check named by the firing's id. */
export function checkVpnTraffic(deps: VpnTrafficDeps, event: EventBridgeEvent): Promise<TrafficCheckReport> {
  return undrainForTraffic(deps, event.id);
}

let cached: VpnRunEventDeps | undefined;

export function vpnRunEventDepsFromEnv(env: NodeJS.ProcessEnv = process.env): VpnRunEventDeps {
  if (cached) return cached;
  const region = need(env, 'AWS_REGION');
  cached = {
    runs: new DynamoDbVpnRuns(new DynamoDBClient({ region }), need(env, 'CROSSLINK_TABLE')),
    bus: new EventBridgeSink(new EventBridgeClient({ region }), { busName: need(env, 'CROSSLINK_BUS') }),
    clock: systemClock,
    origin: { cloud: 'aws', accountId: need(env, 'CROSSLINK_ACCOUNT_ID'), region },
    installation: need(env, 'CROSSLINK_INSTALLATION'),
    principal: need(env, 'CROSSLINK_PRINCIPAL'),
  };
  return cached;
}

let trafficCached: VpnTrafficDeps | undefined;

/**
 * The traffic check's deps: the reactions' own, CloudWatch (the drained VPNs' `TunnelDataIn` /
 * `TunnelDataOut`, one batched `GetMetricData` read, paged) and the policy's limit.
 */
export function vpnTrafficDepsFromEnv(env: NodeJS.ProcessEnv = process.env): VpnTrafficDeps {
  if (trafficCached) return trafficCached;
  trafficCached = {
    ...vpnRunEventDepsFromEnv(env),
    // Each drained VPN's metrics in its own region (its drain record's; a record made before drains
    // named their region is this region's, the only one the runs read then).
    traffic: (drains, from, now) =>
      readAwsTrafficByRegion(
        {},
        drains.map((d) => ({
          vpnConnectionId: d.vpnConnectionId,
          region: d.awsRegion ?? need(env, 'AWS_REGION'),
        })),
        now,
        now - from,
      ),
    idleMaxBytesPerHour: readVpnRunSettings(embeddedPolicy().document.vpn).planner.idleMaxBytesPerHour,
  };
  return trafficCached;
}
