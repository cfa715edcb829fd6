/**
 * Lambda `stepVpnPlan`: the plan of the `crosslink-vpn-run` state machine (functions/aws/vpn-run.ts,
 * docs/vpn-runs.md "The run"): both sides' inventories and the links from the store, this side's
 * VPN traffic from CloudWatch, the core planner; the run stored in pages. No bus, no EC2: this
 * side's inventory is stored for the run by `vpnInventory`.
 */

import { eventBridgeOr } from '../input-parser.ts';
import { object } from '../validators.gen.ts';
import { vpnPlanDepsFromEnv, vpnPlanStep } from '../vpn-run.ts';
import { wrap } from './wrap.ts';

export const handler = wrap(
  'vpnPlan',
  (input: { step: 'plan'; runId: string }) => vpnPlanStep(vpnPlanDepsFromEnv(), input),
  { input: eventBridgeOr(object) },
);
