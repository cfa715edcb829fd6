/**
 * Lambda `vpnRunEvents`, from the bus (rule `crosslink-vpn-run-events`): a link's LinkStateChanged to
 * DEGRADED or DOWN undrains the VPNs the runs drained because of it; a VPN half's result is kept
 * with the run that commanded it (functions/aws/vpn-run-events.ts).
 */
import type { EventBridgeEvent } from '#aws/envelope.ts';
import { eventBridgeInput } from '../input-parser.ts';
import { vpnRunEvent, vpnRunEventDepsFromEnv } from '../vpn-run-events.ts';
import { wrap } from './wrap.ts';

export const handler = wrap(
  'vpnRunEvents',
  (event: EventBridgeEvent) => vpnRunEvent(vpnRunEventDepsFromEnv(), event),
  {
    input: eventBridgeInput,
  },
);
