/**
 * `vpnRunEvents` on the bus (docs/vpn-runs.md, "Undrain when a link weakens"): a link's
 * `LinkStateChanged` to DEGRADED or DOWN undrains the VPNs the runs drained because of it; a VPN
 * half's result is kept with the run that commanded it (functions/core/vpn/run-events.ts). Only the
 * runs' store and the bus: none of the inventory's clients.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { systemClock } from '#core/clock.ts';
import { need } from '#core/link/settings.ts';
import { vpnRunReaction } from '#core/vpn/run-events.ts';
import type { VpnRunEventDeps } from '#core/vpn/run-steps.ts';
import { type EventBridgeEvent, fromEventBridgeEvent } from './envelope.ts';
import { EventBridgeSink } from './event-sink.ts';
import { DynamoDbVpnRuns } from './vpn-run-store.ts';

/** A bus event for the run: a link's state change, or a half's result. Others are refused. */
export function vpnRunEvent(deps: VpnRunEventDeps, event: EventBridgeEvent): Promise<unknown> {
  return vpnRunReaction(deps, fromEventBridgeEvent(event), 'detail-type');
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
