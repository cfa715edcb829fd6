/**
 * Lambda `vpnRunEvents`, from the bus (rule `crosslink-vpn-run-events`): a link's LinkStateChanged to
 * DEGRADED or DOWN undrains the VPNs the runs drained because of it; a VPN half's result is kept
 * with the run that commanded it. And from the watcher's schedule (every minute): a drained VPN whose
 * traffic returned is undrained (functions/aws/vpn-run-events.ts).
 */
import type { EventBridgeEvent } from '#aws/envelope.ts';
import { eventBridgeInput } from '../input-parser.ts';
import {
  checkVpnTraffic,
  isScheduledEvent,
  vpnRunEvent,
  vpnRunEventDepsFromEnv,
  vpnTrafficDepsFromEnv,
} from '../vpn-run-events.ts';
import { wrap } from './wrap.ts';

export const handler = wrap(
  'vpnRunEvents',
  (event: EventBridgeEvent) =>
    isScheduledEvent(event)
      ? checkVpnTraffic(vpnTrafficDepsFromEnv(), event)
      : vpnRunEvent(vpnRunEventDepsFromEnv(), event),
  {
    input: eventBridgeInput,
  },
);
