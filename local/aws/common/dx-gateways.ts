/**
 * Direct Connect gateways of each simulated account. They are global resources in AWS (no
 * region), shared by modules: Interconnect lists them as attach points, the Direct Connect module
 * owns their associations and allowed prefixes. Every account starts with one gateway.
 */
import type { World } from '../service.ts';

export interface DxGateway {
  directConnectGatewayId: string;
  directConnectGatewayName: string;
  amazonSideAsn: number;
  ownerAccount: string;
  directConnectGatewayState: 'pending' | 'available' | 'deleting' | 'deleted';
}

const byWorld = new WeakMap<World, Map<string, Map<string, DxGateway>>>();

/** The gateways of `accountId` (created with one default gateway on first use). */
export function dxGateways(world: World, accountId: string): Map<string, DxGateway> {
  let accounts = byWorld.get(world);
  if (!accounts) {
    accounts = new Map();
    byWorld.set(world, accounts);
  }
  let gateways = accounts.get(accountId);
  if (!gateways) {
    gateways = new Map();
    accounts.set(accountId, gateways);
    addDxGateway(world, accountId, { name: 'default-dxgw' });
  }
  return gateways;
}

export function addDxGateway(
  world: World,
  accountId: string,
  opts: { id?: string; name: string; amazonSideAsn?: number },
): DxGateway {
  const gateways = byWorld.get(world)?.get(accountId) ?? dxGateways(world, accountId);
  const gw: DxGateway = {
    directConnectGatewayId: opts.id ?? world.random.uuid(true),
    directConnectGatewayName: opts.name,
    amazonSideAsn: opts.amazonSideAsn ?? 64512,
    ownerAccount: accountId,
    directConnectGatewayState: 'available',
  };
  gateways.set(gw.directConnectGatewayId.toUpperCase(), gw);
  return gw;
}
