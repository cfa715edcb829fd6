/**
 * Function `vpnRunEvents`: the pushes of `crosslink-events` (this side's events) and
 * `crosslink-peer-events` (AWS's, relayed), OIDC. When Google coordinates the VPN runs, a link's
 * `LinkStateChanged` to DEGRADED or DOWN (either side's watcher) undrains the VPNs the runs drained
 * because of it, and a VPN half's result (either side's) is kept with its run
 * (functions/core/vpn/run-events.ts). Every other event is acknowledged and ignored; on an
 * installation AWS coordinates, Firestore holds no run or drain, so nothing is done.
 */
import { isVpnRunReaction, vpnRunReaction } from '#core/vpn/run-events.ts';
import { fromPubSubPush } from '../envelope.ts';
import { type Deps, pushHandler } from './wrap.ts';

export function vpnRunEvents(deps: Deps) {
  return pushHandler('vpnRunEvents', async (body) => {
    const event = fromPubSubPush(body);
    if (!isVpnRunReaction(event))
      return { action: 'ignored', reason: `${event.type} is not a link weakening or a VPN half's result` };
    return vpnRunReaction(await (await deps()).vpnRunEvents(), event);
  });
}
