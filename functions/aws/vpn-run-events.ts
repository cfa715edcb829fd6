/**
 * `vpnRunEvents` on the bus (docs/vpn-runs.md, "Undrain when a link weakens"): a link's
 * `LinkStateChanged` to DEGRADED or DOWN undrains the VPNs the runs drained because of it; a VPN
 * half's result is kept with the run that commanded it. Only the runs' store and the bus: none of the
 * inventory's clients.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { systemClock } from '#core/clock.ts';
import { parseEventType } from '#core/envelope.ts';
import { ValidationError } from '#core/errors.ts';
import type { LinkStateChangedData, VpnHalfResultData } from '#core/events/catalog.ts';
import * as checks from '#core/events/checks.ts';
import { checkEventData } from '#core/events/schemas.ts';
import { need } from '#core/link/settings.ts';
import { recordResult, undrainForLink, type VpnRunEventDeps } from '#core/vpn/run-steps.ts';
import { type EventBridgeEvent, fromEventBridgeEvent } from './envelope.ts';
import { EventBridgeSink } from './event-sink.ts';
import { DynamoDbVpnRuns } from './vpn-run-store.ts';

const RESULTS = { VpnDrained: 'drain', VpnUndrained: 'undrain', VpnHalfDeleted: 'delete' } as const;

/** A bus event for the run: a link's state change, or a half's result. Others are refused. */
export async function vpnRunEvent(deps: VpnRunEventDeps, event: EventBridgeEvent): Promise<unknown> {
  const ce = fromEventBridgeEvent(event);
  const name = parseEventType(ce.type)?.name ?? '';
  if (name === 'LinkStateChanged') {
    const data: LinkStateChangedData = checkEventData(checks.LinkStateChanged, ce.data);
    return undrainForLink(deps, { linkId: data.linkId, to: data.to, time: ce.time, eventId: ce.id });
  }
  const action = RESULTS[name as keyof typeof RESULTS];
  if (!action)
    throw new ValidationError(
      [{ path: 'detail-type', reason: `must be LinkStateChanged or a VPN half's result, got "${name}"` }],
      'VPN run event',
    );
  const check = { drain: checks.VpnDrained, undrain: checks.VpnUndrained, delete: checks.VpnHalfDeleted }[
    action
  ];
  const data: VpnHalfResultData = checkEventData(check, ce.data);
  return recordResult(deps, { ...data, action });
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
