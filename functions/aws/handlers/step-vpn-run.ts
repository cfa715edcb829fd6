/**
 * Lambda `stepVpnRun`: the steps of the `crosslink-vpn-run` state machine but the plan
 * (functions/aws/vpn-run.ts, docs/vpn-runs.md "The run"): claim, ask the peer for its inventory,
 * wait for it, emit a page of commands, report. The runs' store and the bus only: the plan is
 * `stepVpnPlan`'s, this side's inventory `vpnInventory`'s.
 */

import { eventBridgeOr } from '../input-parser.ts';
import { object } from '../validators.gen.ts';
import { type VpnRunStepInput, vpnCoordinationStep, vpnRunDepsFromEnv } from '../vpn-run.ts';
import { wrap } from './wrap.ts';

export const handler = wrap(
  'vpnRun',
  (input: VpnRunStepInput) => vpnCoordinationStep(vpnRunDepsFromEnv(), input),
  { input: eventBridgeOr(object) },
);
