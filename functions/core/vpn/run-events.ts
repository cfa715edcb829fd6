/**
 * The coordinator's reactions to events (docs/vpn-runs.md, "Undrain when a link weakens"), whichever
 * cloud delivers them: a link's `LinkStateChanged` to DEGRADED or DOWN undrains the VPNs the runs
 * drained because of it; a VPN half's result is kept with the run that commanded it. AWS's bus rule
 * hands over only these; Google's push subscriptions hand over every event, and `isVpnRunReaction`
 * says which to act on.
 */
import { type CloudEvent, parseEventType } from '../envelope.ts';
import { ValidationError } from '../errors.ts';
import type { LinkStateChangedData, VpnHalfResultData } from '../events/catalog.ts';
import * as checks from '../events/checks.ts';
import { checkEventData } from '../events/schemas.ts';
import { WEAK_LINK_STATES } from './run.ts';
import { recordResult, undrainForLink, type VpnRunEventDeps } from './run-steps.ts';

const RESULTS = { VpnDrained: 'drain', VpnUndrained: 'undrain', VpnHalfDeleted: 'delete' } as const;

const nameOf = (ce: Pick<CloudEvent, 'type'>) => parseEventType(ce.type)?.name ?? '';

/** Whether the run reacts to `ce`: a link weakening (DEGRADED, DOWN), or a VPN half's result. */
export function isVpnRunReaction(ce: Pick<CloudEvent, 'type' | 'data'>): boolean {
  const name = nameOf(ce);
  if (name === 'LinkStateChanged') {
    const to = (ce.data as { to?: unknown } | null)?.to;
    return typeof to === 'string' && WEAK_LINK_STATES.includes(to);
  }
  return name in RESULTS;
}

/**
 * A link's state change, or a half's result; any other event is refused naming its type, as
 * `typeField` (the field that carried it: `detail-type` on EventBridge).
 */
export async function vpnRunReaction(
  deps: VpnRunEventDeps,
  ce: CloudEvent,
  typeField = 'type',
): Promise<unknown> {
  const name = nameOf(ce);
  if (name === 'LinkStateChanged') {
    const data: LinkStateChangedData = checkEventData(checks.LinkStateChanged, ce.data);
    return undrainForLink(deps, { linkId: data.linkId, to: data.to, time: ce.time, eventId: ce.id });
  }
  const action = RESULTS[name as keyof typeof RESULTS];
  if (!action)
    throw new ValidationError(
      [{ path: typeField, reason: `must be LinkStateChanged or a VPN half's result, got "${name}"` }],
      'VPN run event',
    );
  const check = { drain: checks.VpnDrained, undrain: checks.VpnUndrained, delete: checks.VpnHalfDeleted }[
    action
  ];
  const data: VpnHalfResultData = checkEventData(check, ce.data);
  return recordResult(deps, { ...data, action });
}
