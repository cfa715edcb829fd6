/**
 * Cloud DNS subset (dns.googleapis.com v1; docs/local-cloud-gcp.md "Cloud DNS"): managed zones
 * (create, get, list, delete; public or private), resource record sets (list, get, create, patch,
 * delete) with routing policies (`geo`, `wrr`, `primaryBackup` with health-checked targets and
 * `trickleTraffic`: dns/records.ts), and changes (`changes.create` with additions and deletions,
 * applied atomically, `pending` until propagated, then `done`; get, list). Every method checks its
 * permission (local/gcp/iam/permissions.ts); a change also checks `dns.resourceRecordSets.create`,
 * `.update` or `.delete` on the zone for what it adds, replaces or removes, as Cloud DNS does.
 * Name servers answer through the world's resolver interface (local/world/dns-resolvers.ts,
 * provider `cloud-dns`), following the health of the targets (dns/health.ts).
 */
import { canonicalDnsName, registerDnsResolver } from '#local/world/dns-resolvers.ts';
import { defineGcpService, type GcpRequestContext, type GcpWorld } from '../service.ts';
import { alreadyExists, DnsError, invalid, notFound, required } from './dns/errors.ts';
import { DnsHealthChecker } from './dns/health.ts';
import {
  allCheckedTargets,
  apexRecords,
  type Change,
  changeView,
  type DnsState,
  dnsSettings,
  propagate,
  resolve,
  type Zone,
} from './dns/model.ts';
import { parseRecordSet, type RecordSet, recordView, rrsetKey, sameRecordSet } from './dns/records.ts';

type Ctx = GcpRequestContext<DnsState>;

const ZONE_NAME_RE = /^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/;
const DNS_NAME_RE = /^([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?\.)+$/;
const HOST = 'dns.googleapis.com';
const HEALTH = 'dns-health';
const BASE = '/dns/v1/projects/{project}/managedZones';

function healthOf(world: GcpWorld): DnsHealthChecker {
  let checker = world.extensions.get(HEALTH) as DnsHealthChecker | undefined;
  if (!checker) {
    checker = new DnsHealthChecker(
      world.clock,
      () => allCheckedTargets(world),
      () => dnsSettings(world),
    );
    world.extensions.set(HEALTH, checker);
  }
  return checker;
}

function zoneOf(ctx: Ctx): Zone {
  const id = ctx.params.managedZone as string;
  const zone = ctx.state.zones.get(id) ?? [...ctx.state.zones.values()].find((z) => z.id === id);
  if (!zone) throw notFound('parameters.managedZone', id);
  propagate(zone, ctx.clock.now());
  return zone;
}

function zoneView(z: Zone) {
  return {
    kind: 'dns#managedZone',
    name: z.name,
    id: z.id,
    dnsName: z.dnsName,
    description: z.description,
    nameServers: [...(z.records.get(rrsetKey(z.dnsName, 'NS'))?.rrdatas ?? [])],
    creationTime: new Date(z.creationTime).toISOString(),
    visibility: z.visibility,
    ...(Object.keys(z.labels).length > 0 ? { labels: { ...z.labels } } : {}),
    ...(z.visibility === 'private'
      ? {
          privateVisibilityConfig: {
            kind: 'dns#managedZonePrivateVisibilityConfig',
            networks: z.networks.map((networkUrl) => ({
              kind: 'dns#managedZonePrivateVisibilityConfigNetwork',
              networkUrl,
            })),
          },
        }
      : {}),
  };
}

function createZone(ctx: Ctx) {
  const b = ctx.body as Record<string, unknown>;
  if (typeof b.name !== 'string' || b.name.length === 0) throw required('entity.managedZone.name');
  if (!ZONE_NAME_RE.test(b.name)) {
    throw invalid(
      'entity.managedZone.name',
      b.name,
      'lower-case letters, digits and hyphens, starting with a letter, at most 63',
    );
  }
  if (typeof b.dnsName !== 'string' || b.dnsName.length === 0) throw required('entity.managedZone.dnsName');
  if (!b.dnsName.endsWith('.') || !DNS_NAME_RE.test(b.dnsName.toLowerCase())) {
    throw invalid('entity.managedZone.dnsName', b.dnsName, 'a fully qualified DNS name ending with a dot');
  }
  if (typeof b.description !== 'string') throw required('entity.managedZone.description');
  if (b.description.length > 1024) {
    throw invalid('entity.managedZone.description', '...', 'at most 1024 characters');
  }
  const visibility = (b.visibility ?? 'public') as Zone['visibility'];
  if (visibility !== 'public' && visibility !== 'private') {
    throw invalid('entity.managedZone.visibility', visibility, 'must be public or private');
  }
  const pvc = b.privateVisibilityConfig as { networks?: { networkUrl?: unknown }[] } | undefined;
  if (pvc && visibility !== 'private') {
    throw invalid(
      'entity.managedZone.privateVisibilityConfig',
      'set',
      'only a private zone has a private visibility config',
    );
  }
  const networks = (pvc?.networks ?? []).map((n, i) => {
    if (typeof n.networkUrl !== 'string' || !/projects\/[^/]+\/global\/networks\/[^/]+$/.test(n.networkUrl)) {
      throw invalid(
        `entity.managedZone.privateVisibilityConfig.networks[${i}].networkUrl`,
        n.networkUrl,
        'the URL of a VPC network',
      );
    }
    return n.networkUrl;
  });
  if (ctx.state.zones.has(b.name)) throw alreadyExists('entity.managedZone', b.name);
  const dnsName = b.dnsName.toLowerCase();
  const letter = 'abcde'[Math.floor(ctx.world.random.next() * 5)];
  const nameServers = [1, 2, 3, 4].map((n) => `ns-cloud-${letter}${n}.googledomains.com.`);
  const now = ctx.clock.now();
  const zone: Zone = {
    project: ctx.params.project as string,
    name: b.name,
    id: String(1_000_000_000_000_000 + Math.floor(ctx.world.random.next() * 8_000_000_000_000_000)),
    dnsName,
    description: b.description,
    visibility,
    labels: { ...((b.labels as Record<string, string>) ?? {}) },
    networks,
    creationTime: now,
    records: new Map(),
    served: new Map(),
    changes: [],
  };
  const apex = apexRecords(dnsName, nameServers);
  for (const r of apex) zone.records.set(rrsetKey(r.name, r.type), r);
  zone.changes.push({ id: '0', startTime: now, doneAt: now, additions: apex, deletions: [], served: false });
  propagate(zone, now);
  ctx.state.zones.set(zone.name, zone);
  return zoneView(zone);
}

/**
 * Checks and applies one change (all or nothing): each deletion must match its record set exactly
 * (412 conditionNotMet otherwise), each addition must not exist unless the change deletes it (409).
 */
function applyChange(ctx: Ctx, zone: Zone, rawAdd: unknown, rawDel: unknown): Change {
  if (rawAdd !== undefined && !Array.isArray(rawAdd))
    throw invalid('entity.change.additions', 'object', 'must be a list');
  if (rawDel !== undefined && !Array.isArray(rawDel))
    throw invalid('entity.change.deletions', 'object', 'must be a list');
  const additions = ((rawAdd as unknown[]) ?? []).map((r, i) =>
    parseRecordSet(r, `entity.change.additions[${i}]`, zone),
  );
  const deletions = ((rawDel as unknown[]) ?? []).map((r, i) =>
    parseRecordSet(r, `entity.change.deletions[${i}]`, zone),
  );
  if (additions.length + deletions.length === 0) throw required('entity.change');
  const deleted = new Set<string>();
  deletions.forEach((d, i) => {
    const key = rrsetKey(d.name, d.type);
    const existing = zone.records.get(key);
    if (!existing) throw notFound(`entity.change.deletions[${i}]`, key);
    if (!sameRecordSet(existing, d)) {
      throw new DnsError(
        'FAILED_PRECONDITION',
        'conditionNotMet',
        `Precondition not met for 'entity.change.deletions[${i}]'`,
        412,
      );
    }
    deleted.add(key);
  });
  const added = new Set<string>();
  additions.forEach((a, i) => {
    const key = rrsetKey(a.name, a.type);
    if ((zone.records.has(key) && !deleted.has(key)) || added.has(key)) {
      throw alreadyExists(`entity.change.additions[${i}]`, key);
    }
    added.add(key);
    const others = [...zone.records.values()].filter(
      (r) => r.name === a.name && !deleted.has(rrsetKey(r.name, r.type)) && r.type !== a.type,
    );
    if (others.length > 0 && (a.type === 'CNAME' || others.some((o) => o.type === 'CNAME'))) {
      throw new DnsError(
        'INVALID_ARGUMENT',
        'cnameResourceRecordSetConflict',
        `The resource record set 'entity.change.additions[${i}]' is invalid because a CNAME resource record set and another record set of the same name cannot coexist.`,
      );
    }
    if (a.name === zone.dnsName && (a.type === 'SOA' || a.type === 'NS') && !deleted.has(key)) {
      throw alreadyExists(`entity.change.additions[${i}]`, key);
    }
  });
  for (const d of deletions) {
    if (
      d.name === zone.dnsName &&
      (d.type === 'SOA' || d.type === 'NS') &&
      !added.has(rrsetKey(d.name, d.type))
    ) {
      throw new DnsError(
        'INVALID_ARGUMENT',
        'invalidOperation',
        `The zone apex ${d.type} record set cannot be deleted; replace it in the same change`,
      );
    }
  }
  const resource = `projects/${zone.project}/managedZones/${zone.name}`;
  const check = (permission: string) => ctx.world.iam.check(ctx.caller!, permission, resource, HOST);
  for (const key of added)
    check(deleted.has(key) ? 'dns.resourceRecordSets.update' : 'dns.resourceRecordSets.create');
  for (const key of deleted) if (!added.has(key)) check('dns.resourceRecordSets.delete');
  for (const key of deleted) zone.records.delete(key);
  for (const a of additions) zone.records.set(rrsetKey(a.name, a.type), a);
  const now = ctx.clock.now();
  const change: Change = {
    id: String(zone.changes.length),
    startTime: now,
    doneAt: now + dnsSettings(ctx.world).propagationMs,
    additions,
    deletions,
    served: false,
  };
  zone.changes.push(change);
  healthOf(ctx.world).refresh();
  return change;
}

function recordOf(ctx: Ctx, zone: Zone): RecordSet {
  const name = canonicalDnsName(ctx.params.name as string);
  const type = String(ctx.params.type).toUpperCase();
  const r = zone.records.get(rrsetKey(name, type));
  if (!r) throw notFound('parameters.name', rrsetKey(name, type));
  return r;
}

export default defineGcpService<DnsState>({
  name: 'dns',
  host: HOST,
  createState: () => ({ zones: new Map() }),
  status: (s) =>
    s.zones.size > 0
      ? {
          managedZones: [...s.zones.values()].map((z) => ({
            name: z.name,
            dnsName: z.dnsName,
            recordSets: z.records.size,
          })),
        }
      : undefined,
  start(world) {
    const health = healthOf(world);
    registerDnsResolver(world.clock, {
      provider: 'cloud-dns',
      resolve: (name, type, from) => resolve(world, health, canonicalDnsName(name), type, from),
    });
  },
  admin: {
    /** The health checker's view of every health-checked address. */
    health: (_b, world) => {
      healthOf(world).refresh();
      return { targets: healthOf(world).view() };
    },
  },
  routes: [
    { method: 'POST', path: BASE, operation: 'dns.managedZones.create', handler: createZone },
    {
      method: 'GET',
      path: BASE,
      operation: 'dns.managedZones.list',
      handler: (ctx: Ctx) => {
        const dnsName = ctx.query.get('dnsName');
        const zones = [...ctx.state.zones.values()]
          .filter((z) => !dnsName || z.dnsName === canonicalDnsName(dnsName))
          .sort((a, b) => a.name.localeCompare(b.name));
        return { kind: 'dns#managedZonesListResponse', managedZones: zones.map(zoneView) };
      },
    },
    {
      method: 'GET',
      path: `${BASE}/{managedZone}`,
      operation: 'dns.managedZones.get',
      handler: (ctx: Ctx) => zoneView(zoneOf(ctx)),
    },
    {
      method: 'DELETE',
      path: `${BASE}/{managedZone}`,
      operation: 'dns.managedZones.delete',
      handler: (ctx: Ctx) => {
        const zone = zoneOf(ctx);
        const extra = [...zone.records.values()].filter(
          (r) => !(r.name === zone.dnsName && (r.type === 'SOA' || r.type === 'NS')),
        );
        if (extra.length > 0) {
          throw new DnsError(
            'INVALID_ARGUMENT',
            'containerNotEmpty',
            `The resource named '${zone.name}' cannot be deleted because it is not empty`,
          );
        }
        ctx.state.zones.delete(zone.name);
        healthOf(ctx.world).refresh();
        return {};
      },
    },
    {
      method: 'GET',
      path: `${BASE}/{managedZone}/rrsets`,
      operation: 'dns.resourceRecordSets.list',
      handler: (ctx: Ctx) => {
        const zone = zoneOf(ctx);
        const name = ctx.query.get('name');
        const type = ctx.query.get('type');
        if (type && !name) throw invalid('parameters.type', type, 'a type filter needs a name filter');
        const rrsets = [...zone.records.values()]
          .filter(
            (r) => (!name || r.name === canonicalDnsName(name)) && (!type || r.type === type.toUpperCase()),
          )
          .sort((a, b) => a.name.localeCompare(b.name) || a.type.localeCompare(b.type));
        return { kind: 'dns#resourceRecordSetsListResponse', rrsets: rrsets.map(recordView) };
      },
    },
    {
      method: 'GET',
      path: `${BASE}/{managedZone}/rrsets/{name}/{type}`,
      operation: 'dns.resourceRecordSets.get',
      handler: (ctx: Ctx) => recordView(recordOf(ctx, zoneOf(ctx))),
    },
    {
      method: 'POST',
      path: `${BASE}/{managedZone}/rrsets`,
      operation: 'dns.resourceRecordSets.create',
      handler: (ctx: Ctx) => {
        const zone = zoneOf(ctx);
        return recordView(applyChange(ctx, zone, [ctx.body], undefined).additions[0]!);
      },
    },
    {
      method: 'PATCH',
      path: `${BASE}/{managedZone}/rrsets/{name}/{type}`,
      operation: 'dns.resourceRecordSets.patch',
      handler: (ctx: Ctx) => {
        const zone = zoneOf(ctx);
        const existing = recordOf(ctx, zone);
        const patch = {
          ...recordView(existing),
          ...(ctx.body as object),
          name: existing.name,
          type: existing.type,
        };
        if ((ctx.body as { rrdatas?: unknown }).rrdatas !== undefined)
          delete (patch as { routingPolicy?: unknown }).routingPolicy;
        if ((ctx.body as { routingPolicy?: unknown }).routingPolicy !== undefined)
          delete (patch as { rrdatas?: unknown }).rrdatas;
        return recordView(applyChange(ctx, zone, [patch], [recordView(existing)]).additions[0]!);
      },
    },
    {
      method: 'DELETE',
      path: `${BASE}/{managedZone}/rrsets/{name}/{type}`,
      operation: 'dns.resourceRecordSets.delete',
      handler: (ctx: Ctx) => {
        const zone = zoneOf(ctx);
        applyChange(ctx, zone, undefined, [recordView(recordOf(ctx, zone))]);
        return {};
      },
    },
    {
      method: 'POST',
      path: `${BASE}/{managedZone}/changes`,
      operation: 'dns.changes.create',
      handler: (ctx: Ctx) => {
        const zone = zoneOf(ctx);
        const b = ctx.body as { additions?: unknown; deletions?: unknown };
        return changeView(applyChange(ctx, zone, b.additions, b.deletions), ctx.clock.now());
      },
    },
    {
      method: 'GET',
      path: `${BASE}/{managedZone}/changes`,
      operation: 'dns.changes.list',
      handler: (ctx: Ctx) => {
        const zone = zoneOf(ctx);
        const now = ctx.clock.now();
        const order = ctx.query.get('sortOrder') === 'descending' ? -1 : 1;
        const changes = [...zone.changes].sort((a, b) => (Number(a.id) - Number(b.id)) * order);
        return { kind: 'dns#changesListResponse', changes: changes.map((c) => changeView(c, now)) };
      },
    },
    {
      method: 'GET',
      path: `${BASE}/{managedZone}/changes/{changeId}`,
      operation: 'dns.changes.get',
      handler: (ctx: Ctx) => {
        const zone = zoneOf(ctx);
        const c = zone.changes.find((x) => x.id === ctx.params.changeId);
        if (!c) throw notFound('parameters.changeId', String(ctx.params.changeId));
        return changeView(c, ctx.clock.now());
      },
    },
  ],
});
