/**
 * Admin actions of the protected service's world (`POST /_crosslink/world/<action>`, docs/
 * protected-service.md), merged into the link world's (world.ts):
 * - `service-create {name, primary, aws: {region, ip, capacity?}, gcp: {...}, rpo?, applyDelay?,
 *   startup?, linkSharedId?}`, `service {name}`, `services`;
 * - `service-scale {name, cloud, capacity}`, `service-drain {name, cloud, on?}`;
 * - `service-promote {name, cloud}`, `service-demote {name, cloud}`, `service-fence {name, cloud}`
 *   (writes to that side's database revoked: a global control, taken while its region is out);
 * - `replication-stall {name, on?}`;
 * - `clients-start {service, dnsName, provider, interval?, from?}`, `clients-stop {service}`,
 *   `clients {service}`;
 * - `vantage-network {vantage, on?}` (that vantage point's own network fails), `relay-partition
 *   {on?}` (the relay between the clouds is cut);
 * - `outages` (the region outages in force).
 * Durations are milliseconds or strings (`90s`). Errors name the field (400).
 */
import { parseDuration } from '#core/clock.ts';
import type { VirtualClock } from '#local/clock.ts';
import { type ServiceSpec, serviceWorldOf } from './protected-service.ts';
import { regionOutagesOf } from './region-outages.ts';
import type { CloudName } from './regions.ts';
import { type ClientSpec, ServiceClients } from './service-clients.ts';

type Action = (b: Record<string, unknown>) => unknown;

function ms(v: unknown, field: string): number | undefined {
  if (v === undefined) return undefined;
  if (typeof v === 'number' && Number.isFinite(v) && v >= 0) return v;
  if (typeof v === 'string') {
    try {
      return parseDuration(v);
    } catch (e) {
      throw new RangeError(`${field}: ${(e as Error).message}`);
    }
  }
  throw new RangeError(`${field}: must be a duration ("90s") or milliseconds`);
}

export interface ServiceAdminDeps {
  clock: VirtualClock;
  /** Whether the link of `sharedId` carries traffic (undefined for an unknown link). */
  linkCarries(sharedId: string): boolean | undefined;
}

export function serviceAdmin(deps: ServiceAdminDeps): Record<string, Action> {
  const world = serviceWorldOf(deps.clock);
  const clients = new Map<string, ServiceClients>();
  const on = (b: Record<string, unknown>) => b.on !== false;
  return {
    'service-create': (b) => {
      const link = b.linkSharedId === undefined ? undefined : String(b.linkSharedId);
      if (link !== undefined && deps.linkCarries(link) === undefined) {
        throw new RangeError(`linkSharedId: no link ${link} between the clouds`);
      }
      const spec: ServiceSpec = {
        name: String(b.name ?? ''),
        primary: b.primary as ServiceSpec['primary'],
        aws: b.aws as ServiceSpec['aws'],
        gcp: b.gcp as ServiceSpec['gcp'],
        ...(b.rpo !== undefined ? { rpoMs: ms(b.rpo, 'rpo') } : {}),
        ...(b.applyDelay !== undefined ? { applyDelayMs: ms(b.applyDelay, 'applyDelay') } : {}),
        ...(b.startup !== undefined ? { startupMs: ms(b.startup, 'startup') } : {}),
        ...(link ? { linkUp: () => deps.linkCarries(link) === true } : {}),
      };
      return world.add(spec).describe();
    },
    service: (b) => world.get(b.name).describe(),
    services: () => ({ services: [...world.services.values()].map((s) => s.describe()) }),
    'service-scale': (b) => world.get(b.name).scale(cloud(b), Number(b.capacity)),
    'service-drain': (b) => {
      const s = world.get(b.name);
      s.drain(cloud(b), on(b));
      return s.describe();
    },
    'service-promote': (b) => world.get(b.name).db.promote(cloud(b)),
    'service-demote': (b) => world.get(b.name).db.demote(cloud(b)),
    'service-fence': (b) => world.get(b.name).db.fence(cloud(b)),
    'replication-stall': (b) => {
      const s = world.get(b.name);
      s.db.sync();
      s.stalled = on(b);
      return s.describe();
    },
    'clients-start': (b) => {
      const name = String(b.service ?? '');
      if (clients.has(name)) throw new RangeError(`service: clients of ${name} are already running`);
      const spec: ClientSpec = {
        service: name,
        dnsName: String(b.dnsName ?? ''),
        provider: b.provider as ClientSpec['provider'],
        ...(b.interval !== undefined ? { intervalMs: ms(b.interval, 'interval') } : {}),
        ...(b.from ? { from: b.from as ClientSpec['from'] } : {}),
      };
      const c = new ServiceClients(deps.clock, world, spec);
      clients.set(name, c);
      c.start();
      return c.describe();
    },
    'clients-stop': (b) => {
      const c = clientsOf(clients, b.service);
      c.stop();
      clients.delete(c.spec.service);
      return c.describe();
    },
    clients: (b) => clientsOf(clients, b.service).describe(),
    'vantage-network': (b) => {
      const id = String(b.vantage ?? '');
      if (!/^[a-z0-9][a-z0-9-]{0,62}$/.test(id))
        throw new RangeError('vantage: a vantage point id is required');
      if (on(b)) world.vantageDown.add(id);
      else world.vantageDown.delete(id);
      return { vantageNetworkDown: [...world.vantageDown] };
    },
    'relay-partition': (b) => {
      world.relayPartitioned = on(b);
      return { relayPartitioned: world.relayPartitioned };
    },
    outages: () => ({ outages: regionOutagesOf(deps.clock).list() }),
  };
}

function cloud(b: Record<string, unknown>): CloudName {
  if (b.cloud !== 'aws' && b.cloud !== 'gcp') throw new RangeError('cloud: must be aws or gcp');
  return b.cloud as CloudName;
}

function clientsOf(map: Map<string, ServiceClients>, service: unknown): ServiceClients {
  const c = map.get(String(service ?? ''));
  if (!c) throw new RangeError(`service: no clients running for ${JSON.stringify(service)}`);
  return c;
}
