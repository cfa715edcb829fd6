/**
 * Lambda `vpnInventory`: Google's VPN inventory requests answered with this account's pages, and
 * Google's pages stored for the run; and, as a task of the vpn-run state machine, this account's
 * inventory stored for its own run's plan (functions/aws/vpn-inventory.ts, docs/vpn-runs.md "The
 * inventory exchange").
 */
import type { EventBridgeEvent } from '#aws/envelope.ts';
import type { OwnInventoryRequest } from '#core/vpn/inventory-exchange.ts';
import { eventBridgeOr } from '../input-parser.ts';
import { object } from '../validators.gen.ts';
import { vpnInventoryDepsFromEnv, vpnInventoryStep } from '../vpn-inventory.ts';
import { wrap } from './wrap.ts';

export const handler = wrap(
  'vpnInventory',
  (input: EventBridgeEvent | OwnInventoryRequest) => vpnInventoryStep(vpnInventoryDepsFromEnv(), input),
  { input: eventBridgeOr(object) },
);
