/**
 * The state of the local Cloud DNS: managed zones per project, their record sets, and their changes.
 * A change is applied to the zone's record sets atomically when it is created (what the API lists
 * at once) and is `pending` until it has propagated (`propagationMs`, virtual, 5 s by default), then
 * `done`; name servers answer from what has propagated, change by change in order. The resolver
 * (`resolve`) answers as a Cloud DNS name server does: the zone with the longest matching DNS name,
 * the record set's data, or its routing policy evaluated against the targets' health at the moment
 * of the query (health.ts).
 */
import type { GcpWorld } from '../../service.ts';
import { DEFAULT_HEALTH, DEFAULT_PORT, type DnsHealthChecker, type HealthSettings } from './health.ts';
import {
  checkedTargets,
  type GeoPolicy,
  type RecordSet,
  recordView,
  rrsetKey,
  targetIps,
} from './records.ts';

export interface DnsSettings extends HealthSettings {
  /** How long a change is `pending` before name servers answer with it (virtual ms). */
  propagationMs: number;
}

export const DEFAULT_DNS: DnsSettings = { ...DEFAULT_HEALTH, propagationMs: 5_000 };

export interface Change {
  id: string;
  startTime: number;
  doneAt: number;
  additions: RecordSet[];
  deletions: RecordSet[];
  served: boolean;
}

export interface Zone {
  project: string;
  name: string;
  id: string;
  dnsName: string;
  description: string;
  visibility: 'public' | 'private';
  labels: Record<string, string>;
  networks: string[];
  creationTime: number;
  records: Map<string, RecordSet>;
  /** What the name servers answer with: the record sets as of the last propagated change. */
  served: Map<string, RecordSet>;
  changes: Change[];
}

export interface DnsState {
  zones: Map<string, Zone>;
}

export const NEGATIVE_TTL = 300;

export function dnsSettings(world: GcpWorld): DnsSettings {
  return { ...DEFAULT_DNS, ...world.settings<DnsSettings>('dns') };
}

/** The zone's apex SOA and NS record sets, which Cloud DNS creates with the zone. */
export function apexRecords(dnsName: string, nameServers: string[]): RecordSet[] {
  return [
    { name: dnsName, type: 'NS', ttl: 21600, rrdatas: nameServers },
    {
      name: dnsName,
      type: 'SOA',
      ttl: 21600,
      rrdatas: [`${nameServers[0]} cloud-dns-hostmaster.google.com. 1 21600 3600 259200 ${NEGATIVE_TTL}`],
    },
  ];
}

/** Applies the changes that have propagated by now to what the zone's name servers answer. */
export function propagate(zone: Zone, now: number): void {
  for (const c of zone.changes) {
    if (c.served) continue;
    if (c.doneAt > now) break;
    for (const d of c.deletions) zone.served.delete(rrsetKey(d.name, d.type));
    for (const a of c.additions) zone.served.set(rrsetKey(a.name, a.type), a);
    c.served = true;
  }
}

export function changeView(c: Change, now: number) {
  return {
    kind: 'dns#change',
    id: c.id,
    startTime: new Date(c.startTime).toISOString(),
    status: c.doneAt <= now ? 'done' : 'pending',
    ...(c.additions.length > 0 ? { additions: c.additions.map(recordView) } : {}),
    ...(c.deletions.length > 0 ? { deletions: c.deletions.map(recordView) } : {}),
  };
}

/** Every zone of every project. */
export function allZones(world: GcpWorld): Zone[] {
  return world.projects('dns').flatMap((p) => [...world.stateOf<DnsState>('dns', p).zones.values()]);
}

/** Every address some record set health-checks, with its port (what the checker probes). */
export function allCheckedTargets(world: GcpWorld): { ip: string; port: number }[] {
  const out = new Map<string, number>();
  for (const z of allZones(world)) {
    for (const r of [...z.records.values(), ...z.served.values()]) {
      for (const t of checkedTargets(r.routingPolicy)) out.set(t.ip, t.port ?? DEFAULT_PORT);
    }
  }
  return [...out].sort(([a], [b]) => a.localeCompare(b)).map(([ip, port]) => ({ ip, port }));
}

/**
 * Answers `name`/`type` as Cloud DNS's name servers would now. `from` is the querying client's
 * region: geo policies answer the item of that region, or the first item when none is (the local
 * cloud has no distances between regions). Undefined when no zone holds the name.
 */
export function resolve(
  world: GcpWorld,
  health: DnsHealthChecker,
  name: string,
  type: string,
  from?: { region?: string },
): { answers: string[]; ttl: number } | undefined {
  const zone = allZones(world)
    .filter((z) => name === z.dnsName || name.endsWith(`.${z.dnsName}`))
    .sort((a, b) => b.dnsName.length - a.dnsName.length || (a.visibility === 'private' ? -1 : 1))[0];
  if (!zone) return undefined;
  propagate(zone, world.clock.now());
  const r = zone.served.get(rrsetKey(name, type.toUpperCase()));
  if (!r) return { answers: [], ttl: NEGATIVE_TTL };
  if (r.rrdatas) return { answers: [...r.rrdatas], ttl: r.ttl };
  const p = r.routingPolicy ?? {};
  const healthy = (ips: string[]) => ips.filter((ip) => health.healthy(ip));
  const region = from?.region;
  let answers: string[] = [];
  if (p.geo) answers = geoAnswer(p.geo, region, healthy);
  else if (p.wrr) {
    const items = p.wrr.items.map((i) => ({
      weight: i.weight,
      data: i.rrdatas ?? healthy(targetIps(i.healthCheckedTargets)),
    }));
    const live = items.filter((i) => i.data.length > 0 && i.weight > 0);
    const pool =
      live.length > 0
        ? live
        : items.map((i, n) => ({
            ...i,
            data: p.wrr!.items[n]!.rrdatas ?? targetIps(p.wrr!.items[n]!.healthCheckedTargets),
          }));
    answers = weighted(pool, world.random.next());
  } else if (p.primaryBackup) {
    const pb = p.primaryBackup;
    const primary = healthy(targetIps(pb.primaryTargets));
    const trickle = pb.trickleTraffic ?? 0;
    const toBackup = primary.length === 0 || (trickle > 0 && world.random.next() < trickle);
    answers = toBackup ? geoAnswer(pb.backupGeoTargets, region, healthy) : primary;
  }
  return { answers, ttl: r.ttl };
}

/**
 * A geo policy's answer: the bucket of `region` (or the first). Its healthy targets; when it has
 * none, the next bucket with healthy targets, unless fencing is on (`enableFencing`: the policy's
 * reference says a fenced policy never fails over to another bucket and answers every target of
 * its own). When no bucket has a healthy target, the chosen bucket's targets all the same: Cloud
 * DNS fails open rather than answer nothing.
 */
function geoAnswer(
  geo: GeoPolicy,
  region: string | undefined,
  healthy: (ips: string[]) => string[],
): string[] {
  const start = Math.max(
    0,
    geo.items.findIndex((i) => i.location === region),
  );
  const ordered = [...geo.items.slice(start), ...geo.items.slice(0, start)];
  for (const item of geo.enableFencing ? ordered.slice(0, 1) : ordered) {
    if (item.rrdatas) return [...item.rrdatas];
    const live = healthy(targetIps(item.healthCheckedTargets));
    if (live.length > 0) return live;
  }
  const first = ordered[0];
  return first ? (first.rrdatas ?? targetIps(first.healthCheckedTargets)) : [];
}

function weighted(items: { weight: number; data: string[] }[], draw: number): string[] {
  const total = items.reduce((s, i) => s + i.weight, 0);
  if (total <= 0) return items[0]?.data ?? [];
  let at = draw * total;
  for (const i of items) {
    if (at < i.weight) return i.data;
    at -= i.weight;
  }
  return items[items.length - 1]?.data ?? [];
}
