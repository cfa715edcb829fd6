/** Registries of the local world keyed by the cloud's clock, which every edge and engine shares. */
import type { Clock } from '#core/clock.ts';

/**
 * One `T` per local cloud, found from its clock: the returned function gives the cloud's instance,
 * made by `create` on first use. The world's registries (network, region outages, endpoints,
 * Route 53 and ARC) are each one of these.
 */
export function perClock<C extends Clock, T>(create: (clock: C) => T): (clock: C) => T {
  const byClock = new WeakMap<C, T>();
  return (clock) => {
    let v = byClock.get(clock);
    if (v === undefined) {
      v = create(clock);
      byClock.set(clock, v);
    }
    return v;
  };
}
