/**
 * Which AWS Interconnect environment serves a region pair, discovered, never configured:
 * `ListEnvironments` in the pair's AWS region (each region has its own environments and endpoint,
 * `interconnect.<region>.api.aws`), filtered to Google as provider, and the one whose `location` is
 * the pair's Google region. Each region's list is cached for `ttlMs` (default 15 min); a pair not
 * found in a cached list is looked up once more with a fresh list before it is refused.
 */
import type { Environment, InterconnectClient } from '#aws/interconnect-client.ts';
import { paginateListEnvironments } from '#aws/interconnect-waiters.ts';
import { CapacityUnavailableError } from '#core/link/stage.ts';
import { RegionalOffering } from '#core/ttl-cache.ts';

export interface EnvironmentsOptions {
  /** The Interconnect client of an AWS region (its regional endpoint). */
  clientFor: (region: string) => InterconnectClient;
  ttlMs?: number;
  now?: () => number;
}

const GOOGLE = { cloudServiceProvider: 'gcp' };

export class InterconnectEnvironments {
  readonly #clientFor: (region: string) => InterconnectClient;
  readonly #offering: RegionalOffering<Environment>;

  constructor(options: EnvironmentsOptions) {
    this.#clientFor = options.clientFor;
    this.#offering = new RegionalOffering(options);
  }

  /** The environment in `awsRegion` toward Google `gcpRegion`; CapacityUnavailableError when none. */
  async find(awsRegion: string, gcpRegion: string): Promise<Environment> {
    const { found, seen } = await this.#offering.find(
      awsRegion,
      (e) => e.location === gcpRegion,
      (r) => this.list(r),
    );
    if (!found)
      throw new CapacityUnavailableError(
        `no AWS Interconnect environment in ${awsRegion} reaches Google ${gcpRegion} (ListEnvironments there offers Google ${seen.map((e) => e.location).join(', ') || 'nothing'})`,
      );
    return found;
  }

  /** Every item `region` offers (every page). */
  async list(region: string): Promise<Environment[]> {
    const all: Environment[] = [];
    const client = this.#clientFor(region);
    for await (const page of paginateListEnvironments({ client, pageSize: 100 }, { provider: GOOGLE }))
      all.push(...(page.environments ?? []));
    return all;
  }
}
