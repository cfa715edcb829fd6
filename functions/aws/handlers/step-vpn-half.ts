/**
 * Lambda `stepVpnHalf`: one VPN command (the bus event the vpn-half rule hands its state machine)
 * applied to the AWS half (functions/aws/vpn-half.ts, docs/vpn-runs.md); and the waits of a prod
 * delete: its `.waitForTaskToken` park and its deadline (`{vpnApproval: "park" | "expired", ...}`).
 */
import type { EventBridgeEvent } from '#aws/envelope.ts';
import { eventBridgeOr } from '../input-parser.ts';
import { object } from '../validators.gen.ts';
import { type VpnWaitInput, vpnHalfDepsFromEnv, vpnHalfStep } from '../vpn-half.ts';
import { wrap } from './wrap.ts';

export const handler = wrap(
  'vpnHalf',
  (event: EventBridgeEvent | VpnWaitInput) => vpnHalfStep(vpnHalfDepsFromEnv(), event),
  {
    input: eventBridgeOr(object),
  },
);
