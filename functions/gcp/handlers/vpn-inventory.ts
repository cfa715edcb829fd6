/**
 * Function `vpnInventory`: the push of `crosslink-peer-events` (OIDC). Every peer event is pushed
 * here too; only the inventory exchange's are handled (the peer's request answered with this
 * side's pages, or the peer's pages stored for this side's run: ../vpn-inventory.ts).
 */
import { handleInventoryEvent, isInventoryEvent } from '#core/vpn/inventory-exchange.ts';
import { fromPubSubPush } from '../envelope.ts';
import { type Deps, pushHandler } from './wrap.ts';

export function vpnInventory(deps: Deps) {
  return pushHandler('vpnInventory', async (body) => {
    const event = fromPubSubPush(body);
    if (!isInventoryEvent(event))
      return { action: 'ignored', reason: `${event.type} is not an inventory event` };
    return handleInventoryEvent((await deps()).vpnInventory, event);
  });
}
