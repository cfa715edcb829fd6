/**
 * Route 53 public hosted zones and their record sets, answered through the local world's DNS
 * resolver interface (local/world/dns-resolvers.ts, provider `route53`). Zones and records come from
 * CloudFormation (`AWS::Route53::HostedZone`, `AWS::Route53::RecordSet`) and the admin API.
 *
 * Answers follow the Route 53 Developer Guide ("Failover routing", "How health checks work in
 * simple and complex configurations"):
 *
 * - a record without a routing policy is answered as it is;
 * - failover records (`Failover: PRIMARY | SECONDARY`, each with its `SetIdentifier`): the primary
 *   while its health check is healthy (a record without a health check counts as healthy), else the
 *   secondary while it is healthy; when both are unhealthy Route 53 answers the primary;
 * - the TTL of the record chosen; a name of the zone without a record of that type answers nothing
 *   with the zone's negative-caching TTL (900 s: the SOA Route 53 creates, its TTL 900 below its
 *   minimum 86400); a name in no zone: undefined (NXDOMAIN from the parent).
 *
 * Route 53's DNS is a global data plane: a region outage does not change its answers, only the
 * health checks it reads. Alias records, weighted, latency and geolocation policies, and private
 * zones are not simulated (refused when created).
 */
import type { TimerClock } from '#local/clock.ts';
import type { Random } from '#local/random.ts';
import { canonicalDnsName, type DnsAnswer, registerDnsResolver } from '#local/world/dns-resolvers.ts';
import { perClock } from '#local/world/per-clock.ts';
import { AdminRefusal } from '../common/admin-error.ts';
import { healthChecksOf } from './health-checks.ts';

export interface HostedZone {
  id: string;
  accountId: string;
  /** Canonical: lower case with its trailing dot. */
  name: string;
  records: RecordSet[];
}

export interface RecordSet {
  name: string;
  type: string;
  ttl: number;
  values: string[];
  setIdentifier?: string;
  failover?: 'PRIMARY' | 'SECONDARY';
  healthCheckId?: string;
}

/** What CloudFormation's `AWS::Route53::RecordSet` and ChangeResourceRecordSets give. */
export interface RecordSetInput {
  Name?: string;
  Type?: string;
  TTL?: number | string;
  ResourceRecords?: string[];
  SetIdentifier?: string;
  Failover?: string;
  HealthCheckId?: string;
  AliasTarget?: unknown;
  Weight?: unknown;
  Region?: unknown;
  GeoLocation?: unknown;
  MultiValueAnswer?: unknown;
}

export class DnsConfigError extends AdminRefusal {
  constructor(message: string, status = 400) {
    super(message, status, status === 404 ? 'NoSuchHostedZone' : 'InvalidChangeBatch');
  }
}

/** The SOA's negative-caching TTL of a zone Route 53 creates. */
export const NEGATIVE_TTL = 900;
const TYPES = ['A', 'AAAA', 'CNAME', 'TXT', 'MX', 'NS', 'SRV', 'CAA', 'PTR', 'SPF', 'NAPTR', 'DS'];

export class Route53Dns {
  readonly zones = new Map<string, HostedZone>();
  readonly #clock: TimerClock;

  constructor(clock: TimerClock) {
    this.#clock = clock;
    registerDnsResolver(clock, { provider: 'route53', resolve: (name, type) => this.resolve(name, type) });
  }

  createZone(
    accountId: string,
    name: string,
    random: Random,
    options: { private?: boolean } = {},
  ): HostedZone {
    if (options.private) throw new DnsConfigError('VPCs: private hosted zones are not simulated locally');
    const canonical = canonicalDnsName(name);
    if (!/^([a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?\.)+$/.test(canonical))
      throw new DnsConfigError(`Name: "${name}" is not a valid domain name`);
    const zone: HostedZone = {
      id: `Z${random.chars(20, '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ')}`,
      accountId,
      name: canonical,
      records: [],
    };
    this.zones.set(zone.id, zone);
    return zone;
  }

  /** The zone by id (`Z...` or `/hostedzone/Z...`) or, with `byName`, by its name. */
  zone(accountId: string, ref: { id?: string; name?: string }): HostedZone {
    const id = ref.id?.replace(/^\/hostedzone\//, '');
    const z = id
      ? this.zones.get(id)
      : [...this.zones.values()].find(
          (x) => x.accountId === accountId && x.name === canonicalDnsName(ref.name ?? ''),
        );
    if (!z || z.accountId !== accountId)
      throw new DnsConfigError(`No hosted zone found with ${id ? `ID: ${id}` : `name ${ref.name}`}`, 404);
    return z;
  }

  /** Adds a record set (CREATE), with Route 53's checks of names, types and routing policy. */
  addRecord(zone: HostedZone, input: RecordSetInput): RecordSet {
    for (const k of ['AliasTarget', 'Weight', 'Region', 'GeoLocation', 'MultiValueAnswer'] as const)
      if (input[k] !== undefined)
        throw new DnsConfigError(`${k}: this routing option is not simulated locally`);
    const name = canonicalDnsName(String(input.Name ?? ''));
    if (name !== zone.name && !name.endsWith(`.${zone.name}`))
      throw new DnsConfigError(`Name: RRSet with DNS name ${name} is not permitted in zone ${zone.name}`);
    const type = String(input.Type ?? '');
    if (!TYPES.includes(type)) throw new DnsConfigError(`Type: "${type}" must be one of ${TYPES.join(', ')}`);
    const ttl = Number(input.TTL);
    if (input.TTL === undefined || !Number.isInteger(ttl) || ttl < 0 || ttl > 2147483647)
      throw new DnsConfigError('TTL: required, an integer number of seconds from 0 to 2147483647');
    const values = input.ResourceRecords ?? [];
    if (!Array.isArray(values) || values.length === 0)
      throw new DnsConfigError('ResourceRecords: at least one value is required');
    if (type === 'A' && values.some((v) => !/^(\d{1,3}\.){3}\d{1,3}$/.test(String(v))))
      throw new DnsConfigError(`ResourceRecords: ${values.join(', ')} are not all IPv4 addresses`);
    const failover = input.Failover;
    if (failover !== undefined && failover !== 'PRIMARY' && failover !== 'SECONDARY')
      throw new DnsConfigError(`Failover: "${failover}" must be PRIMARY or SECONDARY`);
    if ((failover === undefined) !== (input.SetIdentifier === undefined))
      throw new DnsConfigError('SetIdentifier: required with Failover, and only with a routing policy');
    if (input.HealthCheckId !== undefined) {
      const hc = healthChecksOf(this.#clock).checks.get(input.HealthCheckId);
      if (!hc || hc.accountId !== zone.accountId)
        throw new DnsConfigError(`HealthCheckId: no health check ${input.HealthCheckId}`, 400);
    }
    const same = zone.records.filter((r) => r.name === name && r.type === type);
    if (same.some((r) => (r.failover === undefined) !== (failover === undefined)))
      throw new DnsConfigError(
        `RRSet of type ${type} with DNS name ${name} is not permitted because a conflicting RRSet of type ${type} with the same DNS name already exists`,
      );
    if (failover === undefined && same.length > 0)
      throw new DnsConfigError(
        `Tried to create resource record set [name='${name}', type='${type}'] but it already exists`,
      );
    if (same.some((r) => r.failover === failover || r.setIdentifier === input.SetIdentifier))
      throw new DnsConfigError(
        `Tried to create resource record set [name='${name}', type='${type}', set-identifier='${input.SetIdentifier}'] but a ${failover} record or that identifier already exists`,
      );
    const rec: RecordSet = {
      name,
      type,
      ttl,
      values: values.map(String),
      ...(failover && { failover, setIdentifier: String(input.SetIdentifier) }),
      ...(input.HealthCheckId !== undefined && { healthCheckId: input.HealthCheckId }),
    };
    zone.records.push(rec);
    return rec;
  }

  deleteRecord(zone: HostedZone, rec: RecordSet): void {
    zone.records = zone.records.filter((r) => r !== rec);
  }

  deleteZone(zone: HostedZone): void {
    if (zone.records.length > 0)
      throw new DnsConfigError(
        `The specified hosted zone ${zone.id} contains non-required resource record sets and so cannot be deleted.`,
      );
    this.zones.delete(zone.id);
  }

  /** What Route 53 answers for `name` and `type` now (undefined: no zone holds the name). */
  resolve(name: string, type: string): DnsAnswer | undefined {
    const fqdn = canonicalDnsName(name);
    const zone = [...this.zones.values()]
      .filter((z) => fqdn === z.name || fqdn.endsWith(`.${z.name}`))
      .sort((a, b) => b.name.length - a.name.length)[0];
    if (!zone) return undefined;
    const recs = zone.records.filter((r) => r.name === fqdn && r.type === type.toUpperCase());
    if (recs.length === 0) return { answers: [], ttl: NEGATIVE_TTL };
    const plain = recs.find((r) => r.failover === undefined);
    if (plain) return { answers: [...plain.values], ttl: plain.ttl };
    const primary = recs.find((r) => r.failover === 'PRIMARY');
    const secondary = recs.find((r) => r.failover === 'SECONDARY');
    const chosen =
      primary && this.#healthy(primary)
        ? primary
        : secondary && this.#healthy(secondary)
          ? secondary
          : (primary ?? secondary);
    return chosen ? { answers: [...chosen.values], ttl: chosen.ttl } : { answers: [], ttl: NEGATIVE_TTL };
  }

  #healthy(rec: RecordSet): boolean {
    if (rec.healthCheckId === undefined) return true;
    const checks = healthChecksOf(this.#clock);
    const hc = checks.checks.get(rec.healthCheckId);
    // A record whose health check was deleted is treated as healthy (Route 53 Developer Guide).
    return hc ? checks.healthy(hc) : true;
  }
}

/** The Route 53 DNS of the local cloud that owns `clock` (created, and its resolver registered, on first use). */
export const route53DnsOf: (clock: TimerClock) => Route53Dns = perClock(
  (clock: TimerClock) => new Route53Dns(clock),
);
