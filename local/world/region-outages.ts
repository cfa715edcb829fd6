/**
 * Region outages of the local cloud, one set per cloud, found from the cloud's clock (as the
 * network world and the DNS resolvers are): the fault `sim region outage <cloud> <region>` puts a
 * region here, and every part of the world that lives in a region reads it. On AWS: the ARC cluster
 * endpoint of that region stops answering (connections are reset), Route 53 health checkers there
 * report nothing, and endpoints in that region (local/world/endpoints.ts) do not answer. The Google
 * side's own reading of its outages is local/gcp/services/networkconnectivity (TransportManager
 * `unreachable` locations), which the world keeps in step (local/world.ts `region-outage`).
 */
import type { Clock } from '#core/clock.ts';
import { perClock } from './per-clock.ts';

export type OutageCloud = 'aws' | 'gcp';

export interface RegionOutages {
  /** Whether `region` of `cloud` is out now. */
  isOut(cloud: OutageCloud, region: string): boolean;
  /** Puts `region` out (`on`) or brings it back; tells the listeners when this changed anything. */
  set(cloud: OutageCloud, region: string, on: boolean): void;
  /** The regions out now, `<cloud>/<region>`, sorted. */
  list(): string[];
  /** Called after every change; returns the unsubscribe function. */
  onChange(listener: (cloud: OutageCloud, region: string, on: boolean) => void): () => void;
}

function createOutages(): RegionOutages {
  const out = new Set<string>();
  const listeners = new Set<(cloud: OutageCloud, region: string, on: boolean) => void>();
  return {
    isOut: (cloud, region) => out.has(`${cloud}/${region}`),
    set(cloud, region, on) {
      const key = `${cloud}/${region}`;
      if (out.has(key) === on) return;
      if (on) out.add(key);
      else out.delete(key);
      for (const l of listeners) l(cloud, region, on);
    },
    list: () => [...out].sort(),
    onChange(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}

/** The region outages of the local cloud that owns `clock` (created on first use). */
export const regionOutagesOf: (clock: Clock) => RegionOutages = perClock(() => createOutages());
