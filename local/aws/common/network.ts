/**
 * The one network model (local/world/network.ts) of a local cloud, as the AWS modules reach it:
 * EC2 VPN / route tables / Transit Gateways and CloudWatch AWS/VPN metrics read and change it, and
 * Direct Connect records its gateway associations in it. The registry (local/world/registry.ts)
 * keys it by the local cloud's virtual clock, which the AWS edge, the Google edge and
 * `startLocalCloud()` share, so both clouds see the same VPNs, routes and traffic.
 */
import type { NetworkWorld } from '#local/world/network.ts';
import { networkOf as networkOfClock } from '#local/world/registry.ts';
import type { World } from '../service.ts';

export function networkOf(world: World): NetworkWorld {
  return networkOfClock(world.clock);
}
