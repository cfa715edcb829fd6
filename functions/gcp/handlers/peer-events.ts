/**
 * Function `peerEvents`: the push of `crosslink-peer-events` (OIDC), the peer's events relayed from
 * AWS: applied, a sealed key stored, a run started or resumed; a VPN command starts the vpn-half
 * workflow. The push body is read before the dependencies are built: a malformed one needs none.
 */
import { consumePeerEvent } from '#core/link/intake.ts';
import { fromPubSubPush } from '../envelope.ts';
import { isVpnCommand, startVpnHalf } from '../vpn-half.ts';
import { type Deps, pushHandler } from './wrap.ts';

export function peerEvents(deps: Deps) {
  return pushHandler('peerEvents', async (body) => {
    const event = fromPubSubPush(body);
    if (isVpnCommand(event)) {
      const d = await deps();
      return startVpnHalf(d.starter, d.vpnHalfWorkflow, event);
    }
    return consumePeerEvent(await deps(), event);
  });
}
