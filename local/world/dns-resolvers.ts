/**
 * The DNS providers of the local cloud as a resolver sees them: Route 53 (local/aws) and Cloud DNS
 * (local/gcp) each register one `DnsResolver` on the cloud's clock, and the world's clients (the
 * protected service's traffic, local/world/service-clients.ts) resolve a name through the provider
 * the service's plan names, caching each answer for its TTL as a recursive resolver does. A
 * provider answers from its current state: health-checked routing policies (failover, primary /
 * backup) pick their targets at the moment of the query.
 */
import type { Clock } from '#core/clock.ts';

/** The providers a name can be served by. */
export type DnsProvider = 'route53' | 'cloud-dns';

/** One answer of a provider. */
export interface DnsAnswer {
  /** The record data, in the record type's presentation form (`10.0.0.5` for A). */
  answers: string[];
  /**
   * Seconds a resolver may cache the answer: the record set's TTL, or for an empty answer (no
   * record of that name and type in a zone the provider serves) the zone's negative-caching TTL.
   */
  ttl: number;
}

/** Where a query comes from: the querying client's cloud and region. */
export interface DnsQuerySource {
  cloud?: 'aws' | 'gcp';
  region?: string;
}

export interface DnsResolver {
  readonly provider: DnsProvider;
  /**
   * Answers `name` (a fully qualified name, the trailing dot optional, case-insensitive) for
   * `type` (`A`, `AAAA`, `CNAME`, `TXT`, ...). Returns undefined when the provider serves no zone
   * holding the name (a resolver then gets NXDOMAIN from the parent). `from` is where the query
   * comes from, for policies that answer by location (Cloud DNS `geo`, Route 53 geolocation).
   */
  resolve(name: string, type: string, from?: DnsQuerySource): DnsAnswer | undefined;
}

const byClock = new WeakMap<Clock, Map<DnsProvider, DnsResolver>>();

/** Registers (or replaces) `resolver` as its provider's resolver in the local cloud of `clock`. */
export function registerDnsResolver(clock: Clock, resolver: DnsResolver): void {
  let map = byClock.get(clock);
  if (!map) {
    map = new Map();
    byClock.set(clock, map);
  }
  map.set(resolver.provider, resolver);
}

/** The resolver of `provider` in the local cloud of `clock`; undefined when none registered. */
export function dnsResolverOf(clock: Clock, provider: DnsProvider): DnsResolver | undefined {
  return byClock.get(clock)?.get(provider);
}

/** A DNS name in the form the providers compare: lower case with its trailing dot. */
export function canonicalDnsName(name: string): string {
  const lower = name.trim().toLowerCase();
  return lower.endsWith('.') ? lower : `${lower}.`;
}
