/**
 * Cloud DNS resource record sets as the API takes them: `{name, type, ttl, rrdatas}` or, instead of
 * `rrdatas`, a `routingPolicy` (RRSetRoutingPolicy) of exactly one kind:
 * - `geo`: `{items: [{location, rrdatas | healthCheckedTargets}], enableFencing}`, by the querying
 *   client's Google Cloud region;
 * - `wrr`: `{items: [{weight, rrdatas | healthCheckedTargets}]}`, weighted round robin;
 * - `primaryBackup`: `{primaryTargets, backupGeoTargets, trickleTraffic}`: the health-checked
 *   primary targets while any is healthy (a `trickleTraffic` fraction of answers goes to the
 *   backup), the backup geo policy when none is.
 * Health-checked targets (`healthCheckedTargets`, `primaryTargets`) are internal load balancers
 * (`internalLoadBalancers`, private zones only) or external endpoints (`externalEndpoints`, public
 * zones only, which need the policy's `healthCheck`). Every refusal names its field.
 */
import { isIPv6 } from 'node:net';
import { alreadyExists, invalid, required } from './errors.ts';

export interface LoadBalancerTarget {
  ipAddress: string;
  port?: string;
  ipProtocol?: 'tcp' | 'udp';
  loadBalancerType?: 'regionalL4ilb' | 'regionalL7ilb' | 'globalL7ilb';
  networkUrl: string;
  project: string;
  region?: string;
}

export interface HealthCheckTargets {
  internalLoadBalancers?: LoadBalancerTarget[];
  externalEndpoints?: string[];
}

export interface GeoItem {
  location: string;
  rrdatas?: string[];
  healthCheckedTargets?: HealthCheckTargets;
}

export interface WrrItem {
  weight: number;
  rrdatas?: string[];
  healthCheckedTargets?: HealthCheckTargets;
}

export interface GeoPolicy {
  items: GeoItem[];
  enableFencing?: boolean;
}

export interface RoutingPolicy {
  geo?: GeoPolicy;
  wrr?: { items: WrrItem[] };
  primaryBackup?: {
    primaryTargets: HealthCheckTargets;
    backupGeoTargets: GeoPolicy;
    trickleTraffic?: number;
  };
  healthCheck?: string;
}

export interface RecordSet {
  name: string;
  type: string;
  ttl: number;
  rrdatas?: string[];
  routingPolicy?: RoutingPolicy;
}

const TYPES = ['A', 'AAAA', 'CAA', 'CNAME', 'MX', 'NS', 'PTR', 'SOA', 'SPF', 'SRV', 'TXT'];
const IPV4_RE = /^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}$/;
const GCP_REGION_RE = /^[a-z]+-[a-z]+\d+$/;
const HEALTH_CHECK_RE =
  /^(https:\/\/www\.googleapis\.com\/compute\/v1\/|https:\/\/compute\.googleapis\.com\/compute\/v1\/)?projects\/[a-z][-a-z0-9]{4,28}[a-z0-9]\/global\/healthChecks\/[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/;
const LB_TYPES = ['regionalL4ilb', 'regionalL7ilb', 'globalL7ilb'];
const MAX_TTL = 2_147_483_647;

/** `name. (TYPE)`: how Cloud DNS names a record set in its messages. */
export const rrsetKey = (name: string, type: string): string => `${name} (${type})`;

/** A record set of a change or a create, checked and normalised; `field` prefixes error paths. */
export function parseRecordSet(
  raw: unknown,
  field: string,
  zone: { dnsName: string; visibility: 'public' | 'private' },
): RecordSet {
  if (!raw || typeof raw !== 'object') throw required(field);
  const r = raw as Record<string, unknown>;
  if (typeof r.name !== 'string' || r.name.length === 0) throw required(`${field}.name`);
  const name = r.name.toLowerCase();
  if (!name.endsWith('.')) throw invalid(`${field}.name`, r.name, 'a record name ends with a dot');
  if (name !== zone.dnsName && !name.endsWith(`.${zone.dnsName}`)) {
    throw invalid(`${field}.name`, r.name, `the name is not within the zone's DNS name ${zone.dnsName}`);
  }
  if (typeof r.type !== 'string') throw required(`${field}.type`);
  const type = r.type.toUpperCase();
  if (!TYPES.includes(type)) throw invalid(`${field}.type`, r.type, `not one of ${TYPES.join(', ')}`);
  const ttl = r.ttl === undefined ? 300 : Number(r.ttl);
  if (!Number.isInteger(ttl) || ttl < 0 || ttl > MAX_TTL) {
    throw invalid(`${field}.ttl`, r.ttl, 'a TTL is a whole number of seconds from 0 to 2147483647');
  }
  const hasData = Array.isArray(r.rrdatas) && r.rrdatas.length > 0;
  if (hasData && r.routingPolicy !== undefined) {
    throw invalid(
      `${field}.routingPolicy`,
      'routingPolicy',
      'a record set has rrdatas or a routing policy, not both',
    );
  }
  if (!hasData && r.routingPolicy === undefined) throw required(`${field}.rrdatas`);
  if (hasData) return { name, type, ttl, rrdatas: rrdatasOf(r.rrdatas, type, `${field}.rrdatas`) };
  if (type !== 'A' && type !== 'AAAA') {
    throw invalid(`${field}.routingPolicy`, type, 'health-checked routing policies serve A and AAAA records');
  }
  return {
    name,
    type,
    ttl,
    routingPolicy: parsePolicy(r.routingPolicy, `${field}.routingPolicy`, type, zone),
  };
}

function rrdatasOf(raw: unknown, type: string, field: string): string[] {
  if (!Array.isArray(raw) || raw.length === 0) throw required(field);
  return raw.map((d, i) => {
    if (typeof d !== 'string' || d.length === 0)
      throw invalid(`${field}[${i}]`, d, 'must be a non-empty string');
    if (type === 'A' && !IPV4_RE.test(d))
      throw invalid(`${field}[${i}]`, d, 'an A record holds an IPv4 address');
    if (type === 'AAAA' && !isIPv6(d)) {
      throw invalid(`${field}[${i}]`, d, 'an AAAA record holds an IPv6 address');
    }
    if ((type === 'CNAME' || type === 'NS' || type === 'PTR') && !d.endsWith('.')) {
      throw invalid(`${field}[${i}]`, d, `a ${type} record holds a fully qualified name ending with a dot`);
    }
    return d;
  });
}

function parsePolicy(
  raw: unknown,
  field: string,
  type: string,
  zone: { visibility: 'public' | 'private' },
): RoutingPolicy {
  if (!raw || typeof raw !== 'object') throw required(field);
  const p = raw as Record<string, unknown>;
  const kinds = (['geo', 'wrr', 'primaryBackup'] as const).filter((k) => p[k] !== undefined);
  if (kinds.length !== 1) {
    throw invalid(
      field,
      kinds.join(',') || 'none',
      'a routing policy has exactly one of geo, wrr, primaryBackup',
    );
  }
  const healthCheck = p.healthCheck;
  if (healthCheck !== undefined && (typeof healthCheck !== 'string' || !HEALTH_CHECK_RE.test(healthCheck))) {
    throw invalid(
      `${field}.healthCheck`,
      healthCheck,
      'must name a global health check: projects/{project}/global/healthChecks/{name}',
    );
  }
  const ctx: TargetContext = {
    type,
    visibility: zone.visibility,
    healthCheck: healthCheck as string | undefined,
  };
  const out: RoutingPolicy = healthCheck ? { healthCheck: healthCheck as string } : {};
  if (kinds[0] === 'geo') out.geo = parseGeo(p.geo, `${field}.geo`, ctx, type);
  if (kinds[0] === 'wrr') {
    const w = p.wrr as { items?: unknown };
    const items = itemsOf(w?.items, `${field}.wrr.items`);
    out.wrr = {
      items: items.map((it, i) => {
        const f = `${field}.wrr.items[${i}]`;
        const weight = Number(it.weight ?? 0);
        if (!Number.isFinite(weight) || weight < 0)
          throw invalid(`${f}.weight`, it.weight, 'a weight is a number >= 0');
        return { weight, ...dataOrTargets(it, f, ctx, type) };
      }),
    };
  }
  if (kinds[0] === 'primaryBackup') {
    const pb = p.primaryBackup as Record<string, unknown>;
    const f = `${field}.primaryBackup`;
    if (pb?.primaryTargets === undefined) throw required(`${f}.primaryTargets`);
    if (pb.backupGeoTargets === undefined) throw required(`${f}.backupGeoTargets`);
    const trickle = pb.trickleTraffic === undefined ? 0 : Number(pb.trickleTraffic);
    if (!(trickle >= 0 && trickle <= 1)) {
      throw invalid(
        `${f}.trickleTraffic`,
        pb.trickleTraffic,
        'the fraction of traffic sent to the backup is from 0 to 1',
      );
    }
    out.primaryBackup = {
      primaryTargets: parseTargets(pb.primaryTargets, `${f}.primaryTargets`, ctx),
      backupGeoTargets: parseGeo(pb.backupGeoTargets, `${f}.backupGeoTargets`, ctx, type),
      ...(trickle > 0 ? { trickleTraffic: trickle } : {}),
    };
  }
  return out;
}

interface TargetContext {
  type: string;
  visibility: 'public' | 'private';
  healthCheck: string | undefined;
}

function itemsOf(raw: unknown, field: string): Record<string, unknown>[] {
  if (!Array.isArray(raw) || raw.length === 0) throw required(field);
  return raw.map((x, i) => {
    if (!x || typeof x !== 'object') throw invalid(`${field}[${i}]`, x, 'must be an object');
    return x as Record<string, unknown>;
  });
}

function parseGeo(raw: unknown, field: string, ctx: TargetContext, type: string): GeoPolicy {
  const g = (raw ?? {}) as { items?: unknown; enableFencing?: unknown };
  const seen = new Set<string>();
  const items = itemsOf(g.items, `${field}.items`).map((it, i) => {
    const f = `${field}.items[${i}]`;
    if (typeof it.location !== 'string' || !GCP_REGION_RE.test(it.location)) {
      throw invalid(`${f}.location`, it.location, 'a geo item names a Google Cloud region');
    }
    if (seen.has(it.location)) throw alreadyExists(`${f}.location`, it.location);
    seen.add(it.location);
    return { location: it.location, ...dataOrTargets(it, f, ctx, type) };
  });
  return { items, ...(g.enableFencing === true ? { enableFencing: true } : {}) };
}

function dataOrTargets(
  it: Record<string, unknown>,
  field: string,
  ctx: TargetContext,
  type: string,
): { rrdatas?: string[]; healthCheckedTargets?: HealthCheckTargets } {
  const hasData = Array.isArray(it.rrdatas) && it.rrdatas.length > 0;
  if (hasData === (it.healthCheckedTargets !== undefined)) {
    throw invalid(field, 'item', 'an item has either rrdatas or healthCheckedTargets');
  }
  if (hasData) return { rrdatas: rrdatasOf(it.rrdatas, type, `${field}.rrdatas`) };
  return {
    healthCheckedTargets: parseTargets(it.healthCheckedTargets, `${field}.healthCheckedTargets`, ctx),
  };
}

function parseTargets(raw: unknown, field: string, ctx: TargetContext): HealthCheckTargets {
  const t = (raw ?? {}) as Record<string, unknown>;
  const ilbs = t.internalLoadBalancers;
  const ext = t.externalEndpoints;
  const nIlb = Array.isArray(ilbs) ? ilbs.length : 0;
  const nExt = Array.isArray(ext) ? ext.length : 0;
  if (nIlb + nExt === 0) throw required(`${field}.internalLoadBalancers`);
  if (nIlb > 0 && nExt > 0) {
    throw invalid(
      field,
      'targets',
      'health-checked targets are internal load balancers or external endpoints, not both',
    );
  }
  if (nIlb > 0) {
    if (ctx.visibility !== 'private') {
      throw invalid(
        `${field}.internalLoadBalancers`,
        'internalLoadBalancers',
        'internal load balancers are health-checked in private zones only',
      );
    }
    return {
      internalLoadBalancers: (ilbs as unknown[]).map((x, i) =>
        parseIlb(x, `${field}.internalLoadBalancers[${i}]`),
      ),
    };
  }
  if (ctx.visibility !== 'public') {
    throw invalid(
      `${field}.externalEndpoints`,
      'externalEndpoints',
      'external endpoints are health-checked in public zones only',
    );
  }
  if (!ctx.healthCheck) throw required(`${field.replace(/\.(geo|wrr|primaryBackup)\..*$/, '')}.healthCheck`);
  return {
    externalEndpoints: (ext as unknown[]).map((ip, i) => {
      if (typeof ip !== 'string' || !IPV4_RE.test(ip)) {
        throw invalid(`${field}.externalEndpoints[${i}]`, ip, 'an external endpoint is an IPv4 address');
      }
      return ip;
    }),
  };
}

function parseIlb(raw: unknown, field: string): LoadBalancerTarget {
  const l = (raw ?? {}) as Record<string, unknown>;
  if (typeof l.ipAddress !== 'string' || !IPV4_RE.test(l.ipAddress)) {
    throw invalid(`${field}.ipAddress`, l.ipAddress, "the load balancer's frontend IPv4 address is required");
  }
  if (typeof l.networkUrl !== 'string' || !/\/projects\/[^/]+\/global\/networks\/[^/]+$/.test(l.networkUrl)) {
    throw invalid(
      `${field}.networkUrl`,
      l.networkUrl,
      'must be the URL of the network: .../projects/{project}/global/networks/{network}',
    );
  }
  if (typeof l.project !== 'string' || l.project.length === 0) throw required(`${field}.project`);
  const type = l.loadBalancerType ?? 'regionalL4ilb';
  if (!LB_TYPES.includes(String(type)))
    throw invalid(`${field}.loadBalancerType`, type, `not one of ${LB_TYPES.join(', ')}`);
  if (type !== 'globalL7ilb' && (typeof l.region !== 'string' || !GCP_REGION_RE.test(l.region))) {
    throw invalid(`${field}.region`, l.region, 'a regional load balancer names its region');
  }
  if (l.ipProtocol !== undefined && l.ipProtocol !== 'tcp' && l.ipProtocol !== 'udp') {
    throw invalid(`${field}.ipProtocol`, l.ipProtocol, 'must be tcp or udp');
  }
  return {
    ipAddress: l.ipAddress,
    networkUrl: l.networkUrl,
    project: l.project,
    loadBalancerType: type as LoadBalancerTarget['loadBalancerType'],
    ...(l.port !== undefined ? { port: portOf(l.port, `${field}.port`) } : {}),
    ...(l.ipProtocol ? { ipProtocol: l.ipProtocol as 'tcp' | 'udp' } : {}),
    ...(typeof l.region === 'string' ? { region: l.region } : {}),
  };
}

function portOf(v: unknown, field: string): string {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > 65535) throw invalid(field, v, 'a port is from 1 to 65535');
  return String(n);
}

/** Every IP a policy health-checks, with the port an internal load balancer names. */
export function checkedTargets(p: RoutingPolicy | undefined): { ip: string; port?: number }[] {
  if (!p) return [];
  const of = (t: HealthCheckTargets | undefined) => [
    ...(t?.internalLoadBalancers ?? []).map((l) => ({
      ip: l.ipAddress,
      ...(l.port ? { port: Number(l.port) } : {}),
    })),
    ...(t?.externalEndpoints ?? []).map((ip) => ({ ip })),
  ];
  const geo = (g: GeoPolicy | undefined) => (g?.items ?? []).flatMap((i) => of(i.healthCheckedTargets));
  return [
    ...geo(p.geo),
    ...(p.wrr?.items ?? []).flatMap((i) => of(i.healthCheckedTargets)),
    ...of(p.primaryBackup?.primaryTargets),
    ...geo(p.primaryBackup?.backupGeoTargets),
  ];
}

/** The IPs of health-checked targets (internal load balancers' frontends, external endpoints). */
export function targetIps(t: HealthCheckTargets | undefined): string[] {
  return [...(t?.internalLoadBalancers ?? []).map((l) => l.ipAddress), ...(t?.externalEndpoints ?? [])];
}

/** Whether two record sets are the same (a deletion must match the record set exactly). */
export function sameRecordSet(a: RecordSet, b: RecordSet): boolean {
  return (
    a.name === b.name &&
    a.type === b.type &&
    a.ttl === b.ttl &&
    JSON.stringify([...(a.rrdatas ?? [])].sort()) === JSON.stringify([...(b.rrdatas ?? [])].sort()) &&
    JSON.stringify(a.routingPolicy ?? null) === JSON.stringify(b.routingPolicy ?? null)
  );
}

/** The record set as the API shows it. */
export function recordView(r: RecordSet) {
  return {
    kind: 'dns#resourceRecordSet',
    name: r.name,
    type: r.type,
    ttl: r.ttl,
    ...(r.rrdatas ? { rrdatas: [...r.rrdatas] } : {}),
    ...(r.routingPolicy ? { routingPolicy: r.routingPolicy } : {}),
  };
}
