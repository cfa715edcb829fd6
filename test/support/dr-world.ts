/**
 * The payments plan's AWS world (examples/dr/payments-aws-world.yaml: ARC cluster, control panel,
 * two cells, the "one cell On" rule, health checks, failover records) deployed into a test cloud
 * through the admin API, with the template's outputs and the cluster's regional endpoints.
 */
import { readFileSync } from 'node:fs';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import type { VirtualClock } from '#local/clock.ts';
import type { LocalCloud } from '#local/index.ts';
import { type ProtectedService, serviceWorldOf } from '#local/world/protected-service.ts';
import { ADMIN_CREDENTIALS, admin } from './local-cloud.ts';

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

/** The payments service of the example plan in the world of `clock`: primary on AWS us-east-1, standby on Google us-central1, RPO 1 m. */
export function addPaymentsService(clock: VirtualClock): ProtectedService {
  return serviceWorldOf(clock).add({
    name: 'payments-api',
    primary: 'aws',
    aws: { region: 'us-east-1', ip: '192.0.2.10' },
    gcp: { region: 'us-central1', ip: '192.0.2.20' },
    rpoMs: 60_000,
    applyDelayMs: 1_000,
  });
}

export interface SessionCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken: string;
}

/** A session of a role the test puts in the local account with one permission policy (IAM enforced). */
export async function roleSession(
  cloud: LocalCloud,
  roleName: string,
  policy: unknown,
): Promise<SessionCredentials> {
  await admin(cloud, 'POST', '/aws/sts/put-role', {
    accountId: cloud.aws.accountId,
    roleName,
    trust: [cloud.aws.accountId],
    policies: { arc: policy },
  });
  const sts = new STSClient({
    region: 'us-east-1',
    endpoint: cloud.aws.endpoint,
    credentials: ADMIN_CREDENTIALS,
  });
  try {
    const { Credentials: c } = await sts.send(
      new AssumeRoleCommand({
        RoleArn: `arn:aws:iam::${cloud.aws.accountId}:role/${roleName}`,
        RoleSessionName: 'arc',
      }),
    );
    return {
      accessKeyId: c?.AccessKeyId as string,
      secretAccessKey: c?.SecretAccessKey as string,
      sessionToken: c?.SessionToken as string,
    };
  } finally {
    sts.destroy();
  }
}
