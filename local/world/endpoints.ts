/**
 * Endpoints in the world of a protected service: what Route 53 health checkers and the service's
 * probes reach at an address and port (the AWS side of the sample service behind its load
 * balancer, the Google side behind its own). A part of the world registers an endpoint with its
 * cloud and region; a checker asks `probeEndpoint`, which answers as the network would: nothing
 * when the endpoint's region, or the checker's own region, is out (local/world/region-outages.ts),
 * or when no endpoint listens there; otherwise the endpoint's own answer.
 *
 * Synchronous on purpose: checkers run inside timers of the virtual clock, each at its own instant.
 */
import type { Clock } from '#core/clock.ts';
import { perClock } from './per-clock.ts';
import { type OutageCloud, regionOutagesOf } from './region-outages.ts';

/** Where a request comes from: a cloud's region, or outside both clouds (`external`). */
export interface Vantage {
  cloud: OutageCloud | 'external';
  region: string;
}

/** What an endpoint answers one request with (TCP: a connection accepted is `status` 200). */
export interface EndpointAnswer {
  status: number;
  body?: string;
}

export interface WorldEndpoint {
  cloud: OutageCloud;
  region: string;
  /** An IPv4 address or a host name, as a health check names its target. */
  address: string;
  port: number;
  /** Answers a request for `path` (TCP: `''`); undefined when nothing answers (the process is down). */
  answer(path: string, from: Vantage): EndpointAnswer | undefined;
}

const endpointsOf = perClock((_clock: Clock) => new Map<string, WorldEndpoint>());

const keyOf = (address: string, port: number) => `${address.toLowerCase()}:${port}`;

/** Registers `endpoint` (replacing one at the same address and port); returns the unregister function. */
export function registerEndpoint(clock: Clock, endpoint: WorldEndpoint): () => void {
  const map = endpointsOf(clock);
  const key = keyOf(endpoint.address, endpoint.port);
  map.set(key, endpoint);
  return () => {
    if (map.get(key) === endpoint) map.delete(key);
  };
}

/** The endpoint registered at `address`:`port`, if any. */
export function endpointAt(clock: Clock, address: string, port: number): WorldEndpoint | undefined {
  return endpointsOf(clock).get(keyOf(address, port));
}

/**
 * One request from `from` to `address`:`port` for `path`: undefined when it gets no answer (no
 * endpoint there, the endpoint's region or the caller's region out, the endpoint down).
 */
export function probeEndpoint(
  clock: Clock,
  target: { address: string; port: number; path: string },
  from: Vantage,
): EndpointAnswer | undefined {
  const outages = regionOutagesOf(clock);
  if (from.cloud !== 'external' && outages.isOut(from.cloud, from.region)) return undefined;
  const ep = endpointAt(clock, target.address, target.port);
  if (!ep || outages.isOut(ep.cloud, ep.region)) return undefined;
  return ep.answer(target.path, from);
}
