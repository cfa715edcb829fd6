/**
 * A cluster's five regional endpoints, each its own listener on loopback (`World.openEndpoint`), as
 * ARC gives each cluster one endpoint per region that a client tries in turn. An endpoint of a region
 * that is out (local/world/region-outages.ts) drops every connection; one marked unavailable (the
 * admin action `set-endpoint`) answers EndpointTemporarilyUnavailableException.
 */
import { regionOutagesOf } from '#local/world/region-outages.ts';
import type { World } from '../service.ts';
import type { Cluster } from './arc.ts';

const PREFIX = 'arc-cluster-endpoint|';

/** Opens the cluster's endpoints and writes their URLs into it. */
export async function openClusterEndpoints(world: World, cluster: Cluster): Promise<void> {
  const outages = regionOutagesOf(world.clock);
  for (const ep of cluster.endpoints) {
    const opened = await world.openEndpoint(
      `${PREFIX}${cluster.arn}|${ep.region}`,
      () => !outages.isOut('aws', ep.region),
    );
    // The path is the one ARC's endpoints carry (`https://host-....<region>.example.com/v1`).
    ep.url = `${opened.url}/v1`;
    closers.set(cluster, [...(closers.get(cluster) ?? []), opened.close]);
  }
}

/** Closes the cluster's endpoints (the cluster was deleted). */
export async function closeClusterEndpoints(cluster: Cluster): Promise<void> {
  for (const close of closers.get(cluster) ?? []) await close();
  closers.delete(cluster);
}

/** Per cluster (two local clouds of one seed may hold clusters of the same ARN). */
const closers = new WeakMap<Cluster, (() => Promise<void>)[]>();

/** The cluster and region a request's endpoint names (`ctx.via`), or undefined for another listener. */
export function endpointOf(via: string | undefined): { clusterArn: string; region: string } | undefined {
  if (!via?.startsWith(PREFIX)) return undefined;
  const [clusterArn, region] = via.slice(PREFIX.length).split('|') as [string, string];
  return { clusterArn, region };
}
