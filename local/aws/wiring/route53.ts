/**
 * The Route 53 and ARC resources of a template, created as CloudFormation would, in dependency
 * order (a cluster before its control panels, controls before the rules and health checks naming
 * them, health checks and zones before record sets): `AWS::Route53RecoveryControl::Cluster`,
 * `::ControlPanel`, `::RoutingControl`, `::SafetyRule`, `AWS::Route53::HealthCheck`,
 * `AWS::Route53::HostedZone`, `AWS::Route53::RecordSet`. Ref and Fn::GetAtt give what
 * CloudFormation documents for each (ARNs for ARC, the health check's and the zone's ids, the
 * record's name). A property the local cloud cannot honour is refused with the resource's logical id.
 */
import { arcOf } from '../route53/arc.ts';
import { closeClusterEndpoints, openClusterEndpoints } from '../route53/arc-endpoints.ts';
import { route53DnsOf } from '../route53/dns.ts';
import { healthChecksOf } from '../route53/health-checks.ts';
import { createSafetyRuleFrom } from '../services/route53-recovery-cluster.ts';
import type { Wiring } from './template.ts';

export const ROUTE53_TYPES = [
  'AWS::Route53RecoveryControl::Cluster',
  'AWS::Route53RecoveryControl::ControlPanel',
  'AWS::Route53RecoveryControl::RoutingControl',
  'AWS::Route53RecoveryControl::SafetyRule',
  'AWS::Route53::HealthCheck',
  'AWS::Route53::HostedZone',
  'AWS::Route53::RecordSet',
] as const;

/** Creates the template's Route 53 and ARC resources, in the order of ROUTE53_TYPES. */
export async function wireRoute53(w: Wiring): Promise<void> {
  const { world, accountId, removers, physical, attrs, resolve, byType } = w;
  const arc = arcOf(world.clock);
  const dns = route53DnsOf(world.clock);
  const checks = healthChecksOf(world.clock);
  const failing = (logical: string, type: string, err: unknown) =>
    new Error(`${logical} (${type}): ${(err as Error).message}`);
  for (const type of ROUTE53_TYPES) {
    for (const [logical, r] of byType(type)) {
      const p = resolve(r.Properties ?? {});
      try {
        switch (type) {
          case 'AWS::Route53RecoveryControl::Cluster': {
            const c = arc.createCluster(accountId, String(p.Name ?? ''), world.random);
            await openClusterEndpoints(world, c);
            physical[logical] = c.arn;
            attrs[logical] = { ClusterArn: c.arn, Status: c.status };
            removers[logical] = async () => {
              arc.delete(c.arn);
              await closeClusterEndpoints(c);
            };
            break;
          }
          case 'AWS::Route53RecoveryControl::ControlPanel': {
            const panel = arc.createControlPanel(
              accountId,
              String(p.ClusterArn ?? ''),
              String(p.Name ?? ''),
              world.random,
            );
            physical[logical] = panel.arn;
            attrs[logical] = {
              ControlPanelArn: panel.arn,
              Status: panel.status,
              DefaultControlPanel: 'false',
            };
            removers[logical] = () => arc.delete(panel.arn);
            break;
          }
          case 'AWS::Route53RecoveryControl::RoutingControl': {
            if (p.ControlPanelArn === undefined)
              throw new Error(
                'ControlPanelArn: required locally (a cluster has no default control panel here)',
              );
            const c = arc.createRoutingControl(
              accountId,
              String(p.ControlPanelArn),
              String(p.Name ?? ''),
              world.random,
              p.ClusterArn === undefined ? undefined : String(p.ClusterArn),
            );
            physical[logical] = c.arn;
            attrs[logical] = { RoutingControlArn: c.arn, Status: 'DEPLOYED' };
            removers[logical] = () => arc.delete(c.arn);
            break;
          }
          case 'AWS::Route53RecoveryControl::SafetyRule': {
            const rule = createSafetyRuleFrom(world, accountId, p);
            physical[logical] = rule.arn;
            attrs[logical] = { SafetyRuleArn: rule.arn, Status: 'DEPLOYED' };
            removers[logical] = () => arc.delete(rule.arn);
            break;
          }
          case 'AWS::Route53::HealthCheck': {
            const c = checks.create(accountId, p.HealthCheckConfig ?? {}, world.random);
            physical[logical] = c.id;
            attrs[logical] = { HealthCheckId: c.id };
            removers[logical] = () => checks.delete(c.id);
            break;
          }
          case 'AWS::Route53::HostedZone': {
            const z = dns.createZone(accountId, String(p.Name ?? ''), world.random, {
              private: p.VPCs !== undefined,
            });
            physical[logical] = z.id;
            attrs[logical] = { Id: z.id };
            removers[logical] = () => dns.deleteZone(z);
            break;
          }
          case 'AWS::Route53::RecordSet': {
            const zone = dns.zone(accountId, { id: p.HostedZoneId, name: p.HostedZoneName });
            const { HostedZoneId: _i, HostedZoneName: _n, Comment: _c, ...input } = p;
            const rec = dns.addRecord(zone, input);
            physical[logical] = rec.name;
            attrs[logical] = {};
            removers[logical] = () => dns.deleteRecord(zone, rec);
            break;
          }
        }
      } catch (err) {
        throw failing(logical, type, err);
      }
    }
  }
}
