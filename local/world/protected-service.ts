/**
 * The sample protected service of a DR plan (docs/protected-service.md): the same service on both
 * clouds, one side per cloud, each in one region, with
 * - compute that can be scaled (an ECS service on AWS, a Cloud Run service on Google): a scale-up
 *   is running `startupMs` after it was asked for; a scale-down is immediate; nothing runs in a
 *   region that is out;
 * - the replicated database (service-db.ts), its writer on the primary side;
 * - a health endpoint per side: `/healthz` (the side serves: region up, a task running, not
 *   drained) and `/readyz` (that, and the database takes writes there or its replica's lag is
 *   within the plan's RPO), served over loopback HTTP by health-server.ts;
 * - the side's address (`ip`, port 443), registered in the world's endpoints (endpoints.ts): Cloud
 *   DNS and Route 53 health checkers probe it there, and the clients reach the side whose address
 *   the name resolves to.
 *
 * One `ServiceWorld` per local cloud (found from its clock) holds the services, the addresses the
 * health checkers probe, and the faults of this world: a vantage point's own network failing, a
 * relay partition between the clouds, replication stalling.
 */
import type { Clock } from '#core/clock.ts';
import { endpointAt, registerEndpoint } from './endpoints.ts';
import { regionOutagesOf } from './region-outages.ts';
import { type CloudName, checkRegion, cloudOf } from './regions.ts';
import { ReplicatedDatabase } from './service-db.ts';

export interface SideSpec {
  region: string;
  /** The address the side serves on (an internal load balancer's or an external endpoint's). */
  ip: string;
  /** Tasks running at the start (default 2). */
  capacity?: number;
  /** Google: the project of its Cloud Run service (default: the local cloud's project). */
  project?: string;
  /** AWS: the ECS cluster of its service (default `default`). */
  cluster?: string;
  /** AWS: the account of its ECS service (default: the local administrator's account). */
  accountId?: string;
}

export interface ServiceSpec {
  name: string;
  /** The side whose database is the writer at the start. */
  primary: CloudName;
  aws: SideSpec;
  gcp: SideSpec;
  /** The plan's RPO: `/readyz` of a replica side fails while its lag is over it (ms, default 60 s). */
  rpoMs?: number;
  /** How long a write takes to reach the replica while the path is up (ms, default 1 s). */
  applyDelayMs?: number;
  /** How long a scaled-up task takes to start (ms, default 30 s). */
  startupMs?: number;
  /** Whether the link replication runs over is up (world.ts passes the link's state); default up. */
  linkUp?: () => boolean;
}

/** Why a side does not serve. */
export type DownReason = 'region-down' | 'no-capacity' | 'drained';

export interface HealthAnswer {
  status: 200 | 503;
  body: Record<string, unknown>;
}

interface Side {
  cloud: CloudName;
  region: string;
  project: string | undefined;
  cluster: string | undefined;
  accountId: string | undefined;
  ip: string;
  desired: number;
  /** Start times (virtual ms) of the tasks asked for, running once the time has come. */
  tasks: number[];
  drained: boolean;
}

/** The port each side serves on (its load balancer's HTTPS listener). */
export const SERVICE_PORT = 443;

const IPV4_RE = /^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}$/;
const NAME_RE = /^[a-z][a-z0-9-]{0,62}$/;

export class ProtectedService {
  readonly name: string;
  readonly rpoMs: number;
  readonly db: ReplicatedDatabase;
  readonly #clock: Clock;
  readonly #sides: Record<CloudName, Side>;
  readonly #startupMs: number;
  stalled = false;

  constructor(clock: Clock, spec: ServiceSpec) {
    this.#clock = clock;
    this.name = spec.name;
    this.rpoMs = spec.rpoMs ?? 60_000;
    this.#startupMs = spec.startupMs ?? 30_000;
    const side = (cloud: CloudName, s: SideSpec): Side => ({
      cloud,
      region: s.region,
      project: s.project,
      cluster: s.cluster,
      accountId: s.accountId,
      ip: s.ip,
      desired: s.capacity ?? 2,
      tasks: Array.from({ length: s.capacity ?? 2 }, () => clock.now()),
      drained: false,
    });
    this.#sides = { aws: side('aws', spec.aws), gcp: side('gcp', spec.gcp) };
    const outages = regionOutagesOf(clock);
    const linkUp = spec.linkUp ?? (() => true);
    this.db = new ReplicatedDatabase({
      writer: spec.primary,
      applyDelayMs: spec.applyDelayMs ?? 1_000,
      now: () => clock.now(),
      regionUp: (c) => !outages.isOut(c, this.#sides[c].region),
      pathUp: () => !this.stalled && linkUp(),
    });
  }

  side(cloud: CloudName): Readonly<Side> {
    return this.#sides[cloud];
  }

  /** The side serving at `ip`, if any. */
  sideAt(ip: string): CloudName | undefined {
    return (Object.keys(this.#sides) as CloudName[]).find((c) => this.#sides[c].ip === ip);
  }

  regionUp(cloud: CloudName): boolean {
    return !regionOutagesOf(this.#clock).isOut(cloud, this.#sides[cloud].region);
  }

  /** Tasks running on `cloud` now (none while its region is out). */
  running(cloud: CloudName): number {
    if (!this.regionUp(cloud)) return 0;
    const now = this.#clock.now();
    return this.#sides[cloud].tasks.filter((t) => t <= now).length;
  }

  /** Sets the side's desired task count: new tasks run after the startup time, extra ones stop now. */
  scale(cloud: CloudName, capacity: number): { desired: number; running: number } {
    if (!Number.isInteger(capacity) || capacity < 0 || capacity > 1000) {
      throw new RangeError('capacity: must be an integer from 0 to 1000');
    }
    const s = this.#sides[cloud];
    const now = this.#clock.now();
    s.tasks.sort((a, b) => a - b);
    if (capacity < s.tasks.length) s.tasks = s.tasks.slice(0, capacity);
    while (s.tasks.length < capacity) s.tasks.push(now + this.#startupMs);
    s.desired = capacity;
    return { desired: s.desired, running: this.running(cloud) };
  }

  /** Drains (health checks fail, traffic moves by DNS) or restores a side. */
  drain(cloud: CloudName, on: boolean): void {
    this.#sides[cloud].drained = on;
  }

  /** Why `cloud` does not serve, or undefined when it does. */
  downReason(cloud: CloudName): DownReason | undefined {
    if (!this.regionUp(cloud)) return 'region-down';
    if (this.#sides[cloud].drained) return 'drained';
    if (this.running(cloud) === 0) return 'no-capacity';
    return undefined;
  }

  /** `/healthz`: the side serves. (A side whose region is out does not answer at all: see the server.) */
  healthz(cloud: CloudName): HealthAnswer {
    const reason = this.downReason(cloud);
    const body = {
      service: this.name,
      cloud,
      region: this.#sides[cloud].region,
      running: this.running(cloud),
    };
    return reason
      ? { status: 503, body: { ...body, status: reason } }
      : { status: 200, body: { ...body, status: 'ok' } };
  }

  /** `/readyz`: the side serves, and takes writes or its replica is within the RPO. */
  readyz(cloud: CloudName): HealthAnswer {
    const h = this.healthz(cloud);
    const role = this.db.role(cloud);
    const lagMs = this.db.lagMs(cloud);
    const body = { ...h.body, role, lagMs, rpoMs: this.rpoMs };
    if (h.status !== 200) return { status: 503, body };
    if (role === 'replica' && lagMs > this.rpoMs) {
      return { status: 503, body: { ...body, status: 'replica-behind' } };
    }
    return { status: 200, body };
  }

  /**
   * What the side's address answers (local/world/endpoints.ts): nothing while no task runs (no
   * process listens), a TCP connection (`''`), `/healthz` or `/readyz`, 404 for another path. A
   * region that is out is the network's to refuse (`probeEndpoint`).
   */
  answer(cloud: CloudName, path: string): { status: number; body?: string } | undefined {
    if (this.running(cloud) === 0) return undefined;
    if (path === '') return { status: 200 };
    const h = path === '/healthz' ? this.healthz(cloud) : path === '/readyz' ? this.readyz(cloud) : undefined;
    if (!h) return { status: 404, body: JSON.stringify({ error: `no ${path} here` }) };
    return { status: h.status, body: JSON.stringify(h.body) };
  }

  describe() {
    const side = (c: CloudName) => ({
      region: this.#sides[c].region,
      ip: this.#sides[c].ip,
      desired: this.#sides[c].desired,
      running: this.running(c),
      drained: this.#sides[c].drained,
      serving: this.downReason(c) ?? 'ok',
    });
    return {
      name: this.name,
      aws: side('aws'),
      gcp: side('gcp'),
      rpoMs: this.rpoMs,
      replicationStalled: this.stalled,
      database: this.db.describe(),
    };
  }
}

/** How many probes the world keeps (about three hours of two vantage points probing two sides). */
const PROBES_KEPT = 2_000;

/** One probe of a health endpoint: who probed what, and what it got. */
export interface ProbeSeen {
  /** Virtual ms. */
  at: number;
  /** The `x-crosslink-vantage` header (absent: a caller that did not say). */
  vantage?: string;
  service: string;
  cloud: CloudName;
  kind: 'healthz' | 'readyz';
  /** The answer's status; none when the connection was reset (nothing reached or answered). */
  status?: number;
  /** The prober's own network was down: it reached nothing, the service not judged. */
  ownNetworkDown?: boolean;
}

/** Everything of this world in one local cloud: services, and the faults of probes and the relay. */
export class ServiceWorld {
  readonly #clock: Clock;
  readonly services = new Map<string, ProtectedService>();
  /** Vantage points whose own network is failing (their probes reach nothing). */
  readonly vantageDown = new Set<string>();
  /** The relay between the clouds is cut (each side keeps its own signals). */
  relayPartitioned = false;
  /**
   * The probes the health endpoints answered (or left unanswered), newest last, at most
   * PROBES_KEPT: what each vantage point saw, read by the seeded chaos's DR invariants.
   */
  readonly probes: ProbeSeen[] = [];

  constructor(clock: Clock) {
    this.#clock = clock;
  }

  add(spec: ServiceSpec): ProtectedService {
    if (!NAME_RE.test(String(spec.name))) {
      throw new RangeError('name: must be lower-case letters, digits and hyphens, starting with a letter');
    }
    if (this.services.has(spec.name)) throw new RangeError(`name: a service named ${spec.name} exists`);
    cloudOf(spec.primary);
    for (const c of ['aws', 'gcp'] as const) {
      const s = spec[c] as SideSpec | undefined;
      if (!s || typeof s !== 'object') throw new RangeError(`${c}: is required ({region, ip})`);
      checkRegion(c, s.region, `${c}.region`);
      if (!IPV4_RE.test(String(s.ip))) throw new RangeError(`${c}.ip: "${s.ip}" is not an IPv4 address`);
      if (this.endpoint(s.ip) || endpointAt(this.#clock, s.ip, SERVICE_PORT)) {
        throw new RangeError(`${c}.ip: ${s.ip} is already served by another service`);
      }
    }
    if (spec.aws.ip === spec.gcp.ip) throw new RangeError('gcp.ip: must differ from aws.ip');
    const service = new ProtectedService(this.#clock, spec);
    this.services.set(spec.name, service);
    for (const c of ['aws', 'gcp'] as const) {
      const side = service.side(c);
      registerEndpoint(this.#clock, {
        cloud: c,
        region: side.region,
        address: side.ip,
        port: SERVICE_PORT,
        answer: (path) => service.answer(c, path),
      });
    }
    return service;
  }

  /** Records a probe of a health endpoint as the endpoint saw it. */
  probed(seen: Omit<ProbeSeen, 'at'>): void {
    this.probes.push({ at: this.#clock.now(), ...seen });
    if (this.probes.length > PROBES_KEPT) this.probes.splice(0, this.probes.length - PROBES_KEPT);
  }

  /** Brings every database's replication up to now (before a fault or outage changes its path). */
  syncAll(): void {
    for (const s of this.services.values()) s.db.sync();
  }

  get(name: unknown): ProtectedService {
    const s = this.services.get(String(name));
    if (!s) throw new RangeError(`name: no protected service named ${JSON.stringify(name)}`);
    return s;
  }

  /** What serves at `ip`: the service and side (health checkers probe addresses). */
  endpoint(ip: string): { service: ProtectedService; cloud: CloudName } | undefined {
    for (const service of this.services.values()) {
      const cloud = service.sideAt(ip);
      if (cloud) return { service, cloud };
    }
    return undefined;
  }
}

const byClock = new WeakMap<Clock, ServiceWorld>();

/** The service world of the local cloud that owns `clock` (created on first use). */
export function serviceWorldOf(clock: Clock): ServiceWorld {
  let world = byClock.get(clock);
  if (!world) {
    world = new ServiceWorld(clock);
    byClock.set(clock, world);
  }
  return world;
}
