/**
 * Function `starter`: the push of `crosslink-events` (OIDC): this side's `LinkRequested` /
 * `LinkDecommissionRequested` start the stage, a VPN command of this side the vpn-half workflow; the
 * peer's events are started by peerEvents.
 */
import { startForEvent } from '#core/link/intake.ts';
import { fromPubSubPush } from '../envelope.ts';
import { isVpnCommand, startVpnHalf } from '../vpn-half.ts';
import { type Deps, pushHandler } from './wrap.ts';

export function starter(deps: Deps) {
  return pushHandler('starter', async (body) => {
    const event = fromPubSubPush(body);
    if (event.crosslinkorigin !== 'gcp') return { started: false, reason: 'peer event' };
    if (isVpnCommand(event)) {
      const d = await deps();
      return startVpnHalf(d.starter, d.vpnHalfWorkflow, event);
    }
    return startForEvent(await deps(), event);
  });
}
