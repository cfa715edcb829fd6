/**
 * Lambda `stepVpnHalf`: one VPN command (the bus event the vpn-half rule hands its state machine)
 * applied to the AWS half (functions/aws/vpn-half.ts, docs/vpn-runs.md).
 */
import type { EventBridgeEvent } from '#aws/eventbridge-envelope.ts';
import { applyAwsVpnHalf, vpnHalfDepsFromEnv } from '../vpn-half.ts';
import { wrap } from './wrap.ts';

export const handler = wrap(
  'vpnHalf',
  (event: EventBridgeEvent) => applyAwsVpnHalf(vpnHalfDepsFromEnv(), event),
  {
    input: { kind: 'eventbridge' },
  },
);
