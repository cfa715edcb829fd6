/**
 * Which Google remote transport profile serves a region pair, discovered, never configured:
 * `ListRemoteTransportProfiles` in the pair's Google region (the transport's location), and the
 * profile whose `provider` is Amazon Web Services and whose `providerSite` is the pair's AWS region
 * (transport_manager.proto: provider_site is the region where connectivity is established). The
 * transport names it by its resource name. Each location's list is cached for `ttlMs` (default
 * 15 min); a pair not found in a cached list is looked up once more with a fresh list before it is
 * refused. A location the list reports unreachable is unknown, not empty: that fails retryably.
 */
import { CapacityUnavailableError } from '#core/link/stage.ts';
import { RegionalOffering } from '#core/ttl-cache.ts';
import { Unavailable } from './google-errors.ts';
import type { RemoteTransportProfile, TransportClient } from './transport-client.ts';

/** `RemoteTransportProfile.provider` of AWS profiles (transport_manager.proto's example). */
export const AWS_PROVIDER = 'Amazon Web Services';

export interface RemoteProfilesOptions {
  /** The TransportManager client of a location (one project's). */
  clientFor: (location: string) => TransportClient;
  ttlMs?: number;
  now?: () => number;
}

export class RemoteProfiles {
  readonly #clientFor: (location: string) => TransportClient;
  readonly #offering: RegionalOffering<RemoteTransportProfile>;

  constructor(options: RemoteProfilesOptions) {
    this.#clientFor = options.clientFor;
    this.#offering = new RegionalOffering(options);
  }

  /** The profile in `location` toward AWS `awsRegion`; CapacityUnavailableError when none. */
  async find(location: string, awsRegion: string): Promise<RemoteTransportProfile> {
    const { found, seen } = await this.#offering.find(
      location,
      (p) => p.provider === AWS_PROVIDER && p.providerSite === awsRegion,
      (l) => this.list(l),
    );
    if (!found) {
      const sites = seen.filter((p) => p.provider === AWS_PROVIDER).map((p) => p.providerSite);
      throw new CapacityUnavailableError(
        `no remote transport profile in ${location} reaches AWS ${awsRegion} (ListRemoteTransportProfiles there offers AWS ${sites.join(', ') || 'nothing'})`,
      );
    }
    return found;
  }

  /** Every item `location` offers (every page). */
  async list(location: string): Promise<RemoteTransportProfile[]> {
    const client = this.#clientFor(location);
    const all: RemoteTransportProfile[] = [];
    let pageToken: string | undefined;
    do {
      const page = await client.listRemoteTransportProfiles({
        pageSize: 100,
        ...(pageToken ? { pageToken } : {}),
      });
      if (page.unreachable.length > 0)
        throw new Unavailable(
          'UNAVAILABLE',
          `cannot list the remote transport profiles of ${location}: ${page.unreachable.join(', ')} unreachable`,
          503,
        );
      all.push(...page.items);
      pageToken = page.nextPageToken;
    } while (pageToken);
    return all;
  }
}
