/**
 * Route 53 of the local cloud: health checks (local/aws/route53/health-checks.ts) and public hosted
 * zones with simple and failover record sets (local/aws/route53/dns.ts), answered to the world's
 * clients through the DNS resolver interface. The Route 53 API itself is not served (its SDK client
 * is not on this project's registry mirror): zones, records and checks come from CloudFormation
 * (local/aws/wiring/route53.ts) and the admin actions below. Health checks' status reaches
 * CloudWatch as the `HealthCheckStatus` metric (local/aws/services/cloudwatch.ts), where the
 * product's external checker reads it.
 */
import { adminError } from '../common/admin-error.ts';
import { type RecordSetInput, route53DnsOf } from '../route53/dns.ts';
import { type HealthCheck, type HealthCheckConfigInput, healthChecksOf } from '../route53/health-checks.ts';
import { defineService, type World } from '../service.ts';

const str = (v: unknown, name: string): string => {
  if (typeof v !== 'string' || v === '') throw adminError(400, 'BadRequest', `${name} is required`);
  return v;
};

/** A health check as GetHealthCheck / GetHealthCheckStatus would show it. */
export function describeHealthCheck(world: World, c: HealthCheck) {
  const checks = healthChecksOf(world.clock);
  return {
    Id: c.id,
    Owner: c.accountId,
    HealthCheckConfig: { Type: c.type, ...c.config },
    Status: checks.healthy(c) ? 'Healthy' : 'Unhealthy',
    Checkers: [...c.checkers.entries()].map(([Region, v]) => ({ Region, Healthy: v.healthy })),
  };
}

export default defineService<Record<string, never>>({
  name: 'route53',
  signingName: 'route53',
  protocol: 'rest-xml',
  routes: [],
  operations: {},
  admin: {
    'create-health-check'(body: { accountId?: string; HealthCheckConfig?: HealthCheckConfigInput }, world) {
      const c = healthChecksOf(world.clock).create(
        str(body.accountId, 'accountId'),
        body.HealthCheckConfig ?? {},
        world.random,
      );
      return describeHealthCheck(world, c);
    },
    'delete-health-check'(body: { id?: string }, world) {
      const checks = healthChecksOf(world.clock);
      const id = str(body.id, 'id');
      if (!checks.checks.has(id))
        throw adminError(404, 'NoSuchHealthCheck', `No health check exists with the ID ${id}`);
      checks.delete(id);
      return { deleted: id };
    },
    'health-checks'(_body: unknown, world) {
      return {
        HealthChecks: [...healthChecksOf(world.clock).checks.values()].map((c) =>
          describeHealthCheck(world, c),
        ),
      };
    },
    'create-hosted-zone'(body: { accountId?: string; name?: string }, world) {
      const z = route53DnsOf(world.clock).createZone(
        str(body.accountId, 'accountId'),
        str(body.name, 'name'),
        world.random,
      );
      return { Id: `/hostedzone/${z.id}`, Name: z.name };
    },
    /** `{accountId, HostedZoneId | HostedZoneName, Name, Type, TTL, ResourceRecords, SetIdentifier?, Failover?, HealthCheckId?}`. */
    'create-record-set'(
      body: RecordSetInput & { accountId?: string; HostedZoneId?: string; HostedZoneName?: string },
      world,
    ) {
      const dns = route53DnsOf(world.clock);
      const zone = dns.zone(str(body.accountId, 'accountId'), {
        id: body.HostedZoneId,
        name: body.HostedZoneName,
      });
      const { accountId: _a, HostedZoneId: _i, HostedZoneName: _n, ...input } = body;
      const rec = dns.addRecord(zone, input);
      return {
        HostedZoneId: zone.id,
        Name: rec.name,
        Type: rec.type,
        TTL: rec.ttl,
        ResourceRecords: rec.values,
      };
    },
    /** `{name, type}`: what Route 53 answers now (as a resolver without a cache would get it). */
    resolve(body: { name?: string; type?: string }, world) {
      const answer = route53DnsOf(world.clock).resolve(str(body.name, 'name'), body.type ?? 'A');
      if (!answer) throw adminError(404, 'NXDOMAIN', `no hosted zone holds ${body.name}`);
      return answer;
    },
  },
});
