/**
 * What IAM at the AWS edge costs a call: GetConnection through our client against a local cloud
 * with IAM enforced (the default) and one without, in alternating rounds, as the account root and
 * as a role session whose policies decide (AssumeRole into a role allowed interconnect:*).
 * Figures only, nothing asserted.
 */
import { performance } from 'node:perf_hooks';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import {
  CreateConnectionCommand,
  GetConnectionCommand,
  InterconnectClient,
  ListAttachPointsCommand,
} from '#aws/interconnect-client.ts';
import { putRole } from '#local/aws/services/sts.ts';
import { type LocalCloud, startLocalCloud } from '#local/index.ts';

const ROOT = { accessKeyId: 'test', secretAccessKey: 'test' };
const ENV = 'mce-aws-gcp-iad';

async function setup(iam: boolean) {
  const cloud = await startLocalCloud({ ports: 0, clock: 'manual', log: () => {}, iam });
  putRole(cloud.aws.edge.world, {
    accountId: '000000000000',
    roleName: 'bench',
    trust: ['000000000000'],
    policies: {
      p: { Version: '2012-10-17', Statement: { Effect: 'Allow', Action: 'interconnect:*', Resource: '*' } },
    },
  });
  const sts = new STSClient({ region: 'us-east-1', endpoint: cloud.aws.endpoint, credentials: ROOT });
  const { Credentials: c } = await sts.send(
    new AssumeRoleCommand({ RoleArn: 'arn:aws:iam::000000000000:role/bench', RoleSessionName: 'bench' }),
  );
  sts.destroy();
  const client = (credentials: { accessKeyId: string; secretAccessKey: string; sessionToken?: string }) =>
    new InterconnectClient({ region: 'us-east-1', endpoint: cloud.aws.endpoint, credentials });
  const root = client(ROOT);
  const gw = (await root.send(new ListAttachPointsCommand({ environmentId: ENV }))).attachPoints[0]!
    .identifier;
  const id = (
    await root.send(
      new CreateConnectionCommand({
        bandwidth: '1Gbps',
        environmentId: ENV,
        attachPoint: { directConnectGateway: gw },
        remoteAccount: { identifier: 'p' },
      }),
    )
  ).connection!.id;
  const session = client({
    accessKeyId: c?.AccessKeyId as string,
    secretAccessKey: c?.SecretAccessKey as string,
    sessionToken: c?.SessionToken as string,
  });
  return { cloud, root, session, id };
}

async function round(client: InterconnectClient, id: string, n: number): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await client.send(new GetConnectionCommand({ identifier: id }));
    out.push(performance.now() - t);
  }
  return out;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? Number.NaN;

export async function run(): Promise<void> {
  const on = await setup(true);
  const off = await setup(false);
  const clouds: LocalCloud[] = [on.cloud, off.cloud];
  try {
    const times = {
      onRoot: [] as number[],
      onSession: [] as number[],
      offRoot: [] as number[],
      offSession: [] as number[],
    };
    await round(on.session, on.id, 50);
    await round(off.session, off.id, 50);
    for (let r = 0; r < 10; r++) {
      times.onRoot.push(...(await round(on.root, on.id, 100)));
      times.offRoot.push(...(await round(off.root, off.id, 100)));
      times.onSession.push(...(await round(on.session, on.id, 100)));
      times.offSession.push(...(await round(off.session, off.id, 100)));
    }
    const f = (xs: number[]) => `${median(xs).toFixed(3)} ms`;
    console.log('GetConnection median latency, 1000 calls each, alternating rounds of 100');
    console.log(`  root:         IAM on ${f(times.onRoot)}, off ${f(times.offRoot)}`);
    console.log(`  role session: IAM on ${f(times.onSession)}, off ${f(times.offSession)}`);
  } finally {
    for (const c of clouds) await c.stop();
  }
}
