/**
 * EC2 resource tags in the local AWS IAM evaluator, through the AWS half's own role: the
 * `StepVpnHalfRole` statements of the packaged serverless.yml, in a role the account's root assumes,
 * against two VPNs on the local EC2: one tagged `crosslink:managed=planned` (on the VPN connection and
 * its customer gateway), one untagged. IAM derives `aws:ResourceTag/<key>` (and `ec2:ResourceTag/<key>`,
 * which EC2's resource types list too) from the local EC2 state, so the untagged VPN's delete is
 * refused with AccessDenied naming the action and the resource, and the tagged one's goes through.
 */
import {
  DeleteCustomerGatewayCommand,
  DeleteVpnConnectionCommand,
  DescribeVpnConnectionsCommand,
  EC2Client,
} from '@aws-sdk/client-ec2';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authorizationTargets } from '#local/aws/iam/request-context.ts';
import type { LocalCloud } from '#local/index.ts';
import { roleStatements, SAMPLE, type Template } from '../support/iam-policy.ts';
import { ADMIN_CREDENTIALS, admin, startTestCloud } from '../support/local-cloud.ts';
import { packageAwsHalf } from '../support/packaging.ts';

let cloud: LocalCloud;
let ec2: EC2Client;
let asStep: EC2Client;
const vpn = { tagged: { id: '', cgw: '' }, untagged: { id: '', cgw: '' } };

beforeAll(async () => {
  cloud = await startTestCloud();
  const config = { region: cloud.aws.region, endpoint: cloud.aws.endpoint };
  ec2 = new EC2Client({ ...config, credentials: ADMIN_CREDENTIALS });
  await admin(cloud, 'POST', '/aws/ec2/add-gcp-network', {
    project: 'net-prod',
    name: 'core',
    subnets: [{ name: 'app', region: 'us-east4', ipCidrRange: '10.128.0.0/20' }],
  });
  const { vpc } = await admin(cloud, 'POST', '/aws/ec2/add-vpc', { cidrBlocks: ['10.2.0.0/16'] });
  const build = async (name: string, tags: Record<string, string>) => {
    const v = (
      await admin(cloud, 'POST', '/aws/ec2/build-vpn', {
        name,
        aws: { vpcId: vpc.vpcId, tags, customerGatewayTags: tags },
        gcp: { project: 'net-prod', region: 'us-east4', network: 'core' },
      })
    ).vpn;
    return { id: v.vpnConnectionId as string, cgw: v.customerGatewayId as string };
  };
  vpn.tagged = await build('vpn-tagged', { 'crosslink:managed': 'planned' });
  vpn.untagged = await build('vpn-untagged', {});
  await cloud.clock.advance(3 * 60_000);
  // The AWS half's role as serverless.yml grants it, in this account, assumable by its root.
  const { templateFile } = await packageAwsHalf();
  const { readFileSync } = await import('node:fs');
  const template = JSON.parse(readFileSync(templateFile, 'utf8')) as Template;
  const statements = JSON.parse(
    JSON.stringify(roleStatements(template, 'StepVpnHalfRole')).replaceAll(
      SAMPLE.accountId,
      cloud.aws.accountId,
    ),
  );
  await admin(cloud, 'POST', '/aws/sts/put-role', {
    accountId: cloud.aws.accountId,
    roleName: 'crosslink-step-vpn-half-test',
    trust: [cloud.aws.accountId],
    policies: { stepVpnHalf: { Version: '2012-10-17', Statement: statements } },
  });
  const sts = new STSClient({ ...config, credentials: ADMIN_CREDENTIALS });
  const { Credentials: c } = await sts.send(
    new AssumeRoleCommand({
      RoleArn: `arn:aws:iam::${cloud.aws.accountId}:role/crosslink-step-vpn-half-test`,
      RoleSessionName: 'stepVpnHalf',
    }),
  );
  sts.destroy();
  asStep = new EC2Client({
    ...config,
    credentials: {
      accessKeyId: c?.AccessKeyId as string,
      secretAccessKey: c?.SecretAccessKey as string,
      sessionToken: c?.SessionToken as string,
    },
  });
}, 180_000);

afterAll(async () => {
  ec2?.destroy();
  asStep?.destroy();
  await cloud?.stop();
});

const errorOf = (p: Promise<unknown>) =>
  p.then(
    () => undefined,
    (e: Error) => e,
  );

const stateOf = async (id: string) =>
  (await ec2.send(new DescribeVpnConnectionsCommand({ VpnConnectionIds: [id] }))).VpnConnections?.[0]?.State;

describe('EC2 resource tags in IAM', () => {
  it('derives aws:ResourceTag and ec2:ResourceTag of a VPN connection from the local EC2 state', async () => {
    // Act
    const targets = await authorizationTargets(
      'ec2',
      'DeleteVpnConnection',
      { VpnConnectionId: vpn.tagged.id },
      { accountId: cloud.aws.accountId, region: cloud.aws.region },
      {
        resourceTags: (arn) =>
          arn.endsWith(`/${vpn.tagged.id}`) ? { 'crosslink:managed': 'planned' } : undefined,
      },
    );
    // Assess
    expect(targets).toEqual([
      {
        action: 'ec2:DeleteVpnConnection',
        resource: `arn:aws:ec2:${cloud.aws.region}:${cloud.aws.accountId}:vpn-connection/${vpn.tagged.id}`,
        context: {
          'aws:ResourceTag/crosslink:managed': 'planned',
          'ec2:ResourceTag/crosslink:managed': 'planned',
        },
      },
    ]);
  });

  it('refuses the AWS half’s delete of an untagged VPN and its customer gateway with AccessDenied', async () => {
    // Act
    const vpnDenied = await errorOf(
      asStep.send(new DeleteVpnConnectionCommand({ VpnConnectionId: vpn.untagged.id })),
    );
    const cgwDenied = await errorOf(
      asStep.send(new DeleteCustomerGatewayCommand({ CustomerGatewayId: vpn.untagged.cgw })),
    );
    // Assess
    expect(vpnDenied?.name).toMatch(/UnauthorizedOperation|AccessDenied/);
    expect(vpnDenied?.message).toMatch(
      new RegExp(`ec2:DeleteVpnConnection.*vpn-connection/${vpn.untagged.id}`),
    );
    expect(cgwDenied?.name).toMatch(/UnauthorizedOperation|AccessDenied/);
    expect(cgwDenied?.message).toMatch(/ec2:DeleteCustomerGateway/);
    expect(await stateOf(vpn.untagged.id)).toBe('available');
  });

  it('lets it delete a VPN tagged crosslink:managed=planned, then its customer gateway', async () => {
    // Act
    await asStep.send(new DeleteVpnConnectionCommand({ VpnConnectionId: vpn.tagged.id }));
    await cloud.clock.advance(5 * 60_000);
    const cgw = await errorOf(
      asStep.send(new DeleteCustomerGatewayCommand({ CustomerGatewayId: vpn.tagged.cgw })),
    );
    // Assess
    expect(await stateOf(vpn.tagged.id)).toMatch(/deleting|deleted/);
    expect(cgw).toBeUndefined();
  });
});
