/**
 * Which regions of the local cloud are out: one record per local cloud, found from its clock as
 * the network world is (registry.ts). A region outage (`sim region outage <cloud> <region>`) is set
 * here, and whatever runs in a region reads it: the protected service's compute, database and
 * health endpoints (local/world/protected-service.ts), Cloud DNS health checks of targets there,
 * and on Google the TransportManager's `unreachable` locations (world.ts keeps those in step).
 */
import type { Clock } from '#core/clock.ts';

export type CloudName = 'aws' | 'gcp';

export interface RegionOutage {
  cloud: CloudName;
  region: string;
  /** Virtual ms the outage began. */
  since: number;
}

const REGION_RE: Record<CloudName, RegExp> = {
  aws: /^[a-z]{2}(-gov)?-[a-z]+-\d$/,
  gcp: /^[a-z]+-[a-z]+\d+$/,
};

export class RegionOutages {
  readonly #clock: Clock;
  readonly #out = new Map<string, RegionOutage>();

  constructor(clock: Clock) {
    this.#clock = clock;
  }

  /** Starts (`on`) or ends an outage; throws RangeError naming a bad cloud or region. */
  set(cloud: string, region: string, on: boolean): RegionOutage | undefined {
    const c = cloudOf(cloud);
    if (!REGION_RE[c].test(region)) {
      throw new RangeError(`region: "${region}" is not a ${c === 'aws' ? 'AWS' : 'Google Cloud'} region name`);
    }
    const key = `${c}/${region}`;
    if (!on) {
      this.#out.delete(key);
      return undefined;
    }
    const existing = this.#out.get(key);
    if (existing) return existing;
    const outage = { cloud: c, region, since: this.#clock.now() };
    this.#out.set(key, outage);
    return outage;
  }

  isOut(cloud: CloudName, region: string): boolean {
    return this.#out.has(`${cloud}/${region}`);
  }

  list(): RegionOutage[] {
    return [...this.#out.values()].map((o) => ({ ...o }));
  }
}

/** `aws` or `gcp`, or a RangeError naming the field. */
export function cloudOf(cloud: unknown): CloudName {
  if (cloud === 'aws' || cloud === 'gcp') return cloud;
  throw new RangeError(`cloud: must be aws or gcp, not ${JSON.stringify(cloud)}`);
}

const byClock = new WeakMap<Clock, RegionOutages>();

/** The region outages of the local cloud that owns `clock` (created on first use). */
export function regionOutagesOf(clock: Clock): RegionOutages {
  let outages = byClock.get(clock);
  if (!outages) {
    outages = new RegionOutages(clock);
    byClock.set(clock, outages);
  }
  return outages;
}
