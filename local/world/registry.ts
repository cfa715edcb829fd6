/**
 * One network world per local cloud, found from anything that holds the cloud's clock: the AWS
 * edge's `World.clock`, the Google edge's `GcpWorld.clock` and `startLocalCloud()` all share one
 * `VirtualClock`, so EC2 / CloudWatch modules and compute / monitoring modules reach the same model
 * with `networkOf(ctx.clock)` without either edge knowing about the other.
 */
import type { Clock } from '#core/clock.ts';
import { NetworkWorld } from './network.ts';
import { perClock } from './per-clock.ts';

/** The network world of the local cloud that owns `clock` (created on first use). */
export const networkOf: (clock: Clock) => NetworkWorld = perClock(
  (clock: Clock) => new NetworkWorld({ clock }),
);
