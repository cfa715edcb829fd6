/**
 * Lambda `stepVpnRun`: one step of the `crosslink-vpn-run` state machine (functions/aws/vpn-run.ts,
 * docs/vpn-runs.md "The run"): claim, ask the peer for its inventory, wait for it, plan, emit a page
 * of commands, report.
 */

import { eventBridgeOr } from '../input-parser.ts';
import { object } from '../validators.gen.ts';
import { type VpnRunStepInput, vpnRunDepsFromEnv, vpnRunStep } from '../vpn-run.ts';
import { wrap } from './wrap.ts';

export const handler = wrap('vpnRun', (input: VpnRunStepInput) => vpnRunStep(vpnRunDepsFromEnv(), input), {
  input: eventBridgeOr(object),
});
