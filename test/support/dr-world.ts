/**
 * The payments plan's AWS world (examples/dr/payments-aws-world.yaml: ARC cluster, control panel,
 * two cells, the "one cell On" rule, health checks, failover records) deployed into a test cloud
 * through the admin API, with the template's outputs and the cluster's regional endpoints.
 */
import { readFileSync } from 'node:fs';
import type { LocalCloud } from '#local/index.ts';
import { admin } from './local-cloud.ts';

export interface ClusterEndpoint {
  Endpoint: string;
  Region: string;
}

export interface PaymentsWorld {
  /** The template's outputs. */
  out: {
    ClusterArn: string;
    ControlPanelArn: string;
    AwsCell: string;
    GcpCell: string;
    SafetyRule: string;
    PrimaryApiHealthCheckId: string;
  };
  /** The cluster's endpoints, in ARC's order of regions. */
  endpoints: ClusterEndpoint[];
}

export async function deployPaymentsWorld(cloud: LocalCloud): Promise<PaymentsWorld> {
  const deployed = await admin(cloud, 'POST', '/aws/stacks', {
    stackName: 'payments-dr',
    template: readFileSync('examples/dr/payments-aws-world.yaml', 'utf8'),
  });
  const out = Object.fromEntries(
    (deployed.outputs as { OutputKey: string; OutputValue: string }[]).map((o) => [
      o.OutputKey,
      o.OutputValue,
    ]),
  ) as PaymentsWorld['out'];
  const { clusters } = await admin(cloud, 'POST', '/aws/route53-recovery-cluster/clusters', {});
  const cluster = clusters.find((c: { ClusterArn: string }) => c.ClusterArn === out.ClusterArn);
  return { out, endpoints: cluster.ClusterEndpoints };
}
