/**
 * The one network model (local/world/network.ts) that the AWS modules of a local cloud share:
 * EC2 VPN / route tables / Transit Gateways and CloudWatch AWS/VPN metrics read and mutate it, and
 * Direct Connect records its gateway associations in it. Created on first use on the edge's
 * virtual clock; whoever builds the whole local cloud (and the Google edge of #4, which must see
 * the same model) installs a shared instance with `useNetwork` before the first call.
 */
import { NetworkWorld } from '#local/world/network.ts';
import type { World } from '../service.ts';

const byWorld = new WeakMap<World, NetworkWorld>();

export function networkOf(world: World): NetworkWorld {
  let net = byWorld.get(world);
  if (!net) {
    net = new NetworkWorld({ clock: world.clock });
    byWorld.set(world, net);
  }
  return net;
}

/** Makes `net` the model the AWS modules of `world` use (call before any request). */
export function useNetwork(world: World, net: NetworkWorld): void {
  byWorld.set(world, net);
}
