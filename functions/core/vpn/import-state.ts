/**
 * Reads crosslink's own records: the links file (links with their routes and health history, the
 * drains crosslink applied, and the planner policy) and the metrics file (VPN traffic counters).
 * Neither cloud's CLI exports these: they are crosslink's state, documented in docs/vpn-planner.md.
 */
import type { CarriedPrefix, DrainRecord, HealthSample, Link, TrafficSample } from './model.ts';
import { DEFAULT_POLICY, type PlannerPolicy, readPolicy } from './policy.ts';
import { gcpResourcePath, Reader } from './read.ts';

export interface LinksFile {
  readonly links: readonly Link[];
  readonly drains: readonly DrainRecord[];
  readonly policy: PlannerPolicy;
}

const HEALTH = new Set(['healthy', 'degraded', 'down']);
const METHODS = new Set(['gcp-bgp-peers', 'tgw-propagation']);

export function importLinksFile(input: unknown): LinksFile {
  const r = new Reader();
  const root = r.object(input, '') ?? {};
  const links: Link[] = [];
  for (const [i, l] of (r.array(root.links, 'links') ?? []).entries()) {
    const p = `links[${i}]`;
    const o = r.object(l, p);
    if (!o) continue;
    const id = r.string(o.linkId, `${p}.linkId`);
    const state = r.string(o.state, `${p}.state`);
    const aws = r.object(o.aws, `${p}.aws`) ?? {};
    const gcp = r.object(o.gcp, `${p}.gcp`) ?? {};
    const gateway = r.string(aws.gatewayId, `${p}.aws.gatewayId`);
    const network = r.string(gcp.network, `${p}.gcp.network`);
    const allowed = (r.array(aws.allowedPrefixes, `${p}.aws.allowedPrefixes`) ?? []).flatMap((c, j) => {
      const x = r.cidr(c, `${p}.aws.allowedPrefixes[${j}]`);
      return x ? [x] : [];
    });
    const advertised = (r.array(gcp.advertisedRoutes, `${p}.gcp.advertisedRoutes`) ?? []).flatMap((c, j) => {
      const x = r.cidr(c, `${p}.gcp.advertisedRoutes[${j}]`);
      return x ? [x] : [];
    });
    const health: HealthSample[] = [];
    for (const [j, h] of (r.array(o.health, `${p}.health`, true) ?? []).entries()) {
      const ho = r.object(h, `${p}.health[${j}]`);
      if (!ho) continue;
      const at = r.time(ho.at, `${p}.health[${j}].at`);
      const status = ho.status;
      if (typeof status !== 'string' || !HEALTH.has(status))
        r.fail(`${p}.health[${j}].status`, 'expected healthy, degraded or down');
      else if (at !== undefined) health.push({ at, status: status as HealthSample['status'] });
    }
    if (!id || !state || !gateway || !network) continue;
    links.push({
      id,
      state,
      aws: {
        gateway,
        directConnectGatewayId: r.optionalString(
          aws.directConnectGatewayId,
          `${p}.aws.directConnectGatewayId`,
        ),
        allowedPrefixes: allowed,
      },
      gcp: {
        network: gcpResourcePath(network),
        peering: r.optionalString(gcp.peering, `${p}.gcp.peering`),
        advertisedRoutes: advertised,
      },
      health: health.sort((a, b) => a.at - b.at),
    });
  }
  const drains: DrainRecord[] = [];
  for (const [i, d] of (r.array(root.drains, 'drains', true) ?? []).entries()) {
    const p = `drains[${i}]`;
    const o = r.object(d, p);
    if (!o) continue;
    const vpn = r.string(o.vpnConnectionId, `${p}.vpnConnectionId`);
    const at = r.time(o.drainedAt, `${p}.drainedAt`);
    const method = o.method;
    if (typeof method !== 'string' || !METHODS.has(method))
      r.fail(`${p}.method`, 'expected gcp-bgp-peers or tgw-propagation');
    const prefixes: CarriedPrefix[] = [];
    for (const [j, c] of (r.array(o.prefixes, `${p}.prefixes`) ?? []).entries()) {
      const co = r.object(c, `${p}.prefixes[${j}]`);
      if (!co) continue;
      const prefix = r.cidr(co.prefix, `${p}.prefixes[${j}].prefix`);
      if (co.toward !== 'aws' && co.toward !== 'gcp')
        r.fail(`${p}.prefixes[${j}].toward`, 'expected aws or gcp');
      else if (prefix) prefixes.push({ prefix, toward: co.toward, source: 'drain record' });
    }
    if (vpn && at !== undefined && typeof method === 'string' && METHODS.has(method))
      drains.push({ vpnConnectionId: vpn, drainedAt: at, method: method as DrainRecord['method'], prefixes });
  }
  const policy = root.policy === undefined ? DEFAULT_POLICY : readPolicy(root.policy, r);
  r.done('links file');
  return { links: links.sort((a, b) => a.id.localeCompare(b.id)), drains, policy };
}

const METRICS = new Set(['TunnelDataIn', 'TunnelDataOut', 'sent_bytes_count', 'received_bytes_count']);

/** `{traffic: [{vpnConnectionId, metric, start, end, bytes}]}`: counters summed per interval. */
export function importMetricsFile(input: unknown): TrafficSample[] {
  const r = new Reader();
  const root = r.object(input, '') ?? {};
  const out: TrafficSample[] = [];
  for (const [i, s] of (r.array(root.traffic, 'traffic') ?? []).entries()) {
    const p = `traffic[${i}]`;
    const o = r.object(s, p);
    if (!o) continue;
    const vpn = r.string(o.vpnConnectionId, `${p}.vpnConnectionId`);
    const metric = o.metric;
    if (typeof metric !== 'string' || !METRICS.has(metric))
      r.fail(`${p}.metric`, `expected one of ${[...METRICS].join(', ')}`);
    const start = r.time(o.start, `${p}.start`);
    const end = r.time(o.end, `${p}.end`);
    const bytes = r.number(o.bytes, `${p}.bytes`);
    if (bytes !== undefined && bytes < 0) r.fail(`${p}.bytes`, 'must not be negative');
    if (start !== undefined && end !== undefined && end <= start) r.fail(`${p}.end`, 'must be after start');
    if (
      vpn &&
      start !== undefined &&
      end !== undefined &&
      end > start &&
      bytes !== undefined &&
      bytes >= 0 &&
      METRICS.has(metric as string)
    )
      out.push({ vpnConnectionId: vpn, metric: metric as TrafficSample['metric'], start, end, bytes });
  }
  r.done('metrics file');
  return out;
}
