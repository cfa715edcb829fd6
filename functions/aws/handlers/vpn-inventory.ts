/**
 * Lambda `vpnInventory`: Google's VPN inventory requests answered with this account's pages, and
 * Google's pages stored for the run (functions/aws/vpn-inventory.ts, docs/vpn-runs.md "The
 * inventory exchange").
 */
import type { EventBridgeEvent } from '#aws/envelope.ts';
import { eventBridgeInput } from '../input-parser.ts';
import { vpnInventoryDepsFromEnv, vpnInventoryStep } from '../vpn-inventory.ts';
import { wrap } from './wrap.ts';

export const handler = wrap(
  'vpnInventory',
  (event: EventBridgeEvent) => vpnInventoryStep(vpnInventoryDepsFromEnv(), event),
  { input: eventBridgeInput },
);
