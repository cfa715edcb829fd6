/**
 * Faults and status across the services of part B: a 30% throttling storm on EC2 is ridden out by
 * the SDK's retries (EC2 throttles with RequestLimitExceeded 503), a 5xx storm on KMS surfaces the
 * service's own server error, and `sim status` shows what the accounts hold.
 */
import { DescribeDirectConnectGatewaysCommand, DirectConnectClient } from '@aws-sdk/client-direct-connect';
import { DescribeVpnConnectionsCommand, EC2Client } from '@aws-sdk/client-ec2';
import { DescribeKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalCloud } from '#local/index.ts';
import { ADMIN_CREDENTIALS, admin, startTestCloud } from '../support/local-cloud.ts';

let cloud: LocalCloud;
const endpoint = () => cloud.aws.endpoint;
beforeAll(async () => {
  cloud = await startTestCloud();
  await admin(cloud, 'POST', '/aws/ec2/add-gcp-network', {
    project: 'net-prod',
    name: 'core',
    subnets: [{ name: 'app', region: 'us-east4', ipCidrRange: '10.128.0.0/20' }],
  });
  const { vpc } = await admin(cloud, 'POST', '/aws/ec2/add-vpc', { cidrBlocks: ['10.0.0.0/16'] });
  const { vpn } = await admin(cloud, 'POST', '/aws/ec2/build-vpn', {
    name: 'vpn-a',
    aws: { vpcId: vpc.vpcId },
    gcp: { project: 'net-prod', region: 'us-east4', network: 'core' },
  });
  await admin(cloud, 'POST', '/aws/directconnect/associate', { gatewayId: vpn.vpnGatewayId });
});
afterAll(async () => {
  await cloud?.stop();
});

describe('faults on the part-B services', () => {
  it('EC2 under 30% throttling: every call still succeeds through the SDK retries', async () => {
    // Prepare
    const ec2 = new EC2Client({
      region: 'us-east-1',
      endpoint: endpoint(),
      credentials: ADMIN_CREDENTIALS,
      maxAttempts: 6,
    });
    await admin(cloud, 'POST', '/faults', { service: 'ec2', kind: 'throttle', rate: 0.3 });
    // Act
    const answers = [];
    for (let i = 0; i < 20; i++) answers.push(await ec2.send(new DescribeVpnConnectionsCommand({})));
    const { faults } = await admin(cloud, 'GET', '/faults');
    await admin(cloud, 'DELETE', '/faults');
    // Assess
    expect(answers.every((a) => a.VpnConnections?.length === 1)).toBe(true);
    expect(faults[0].fired).toBeGreaterThan(0);
  });

  it('a throttle without retries surfaces RequestLimitExceeded 503 in the EC2 error shape', async () => {
    const ec2 = new EC2Client({
      region: 'us-east-1',
      endpoint: endpoint(),
      credentials: ADMIN_CREDENTIALS,
      maxAttempts: 1,
    });
    await admin(cloud, 'POST', '/faults', {
      service: 'ec2',
      operation: 'DescribeVpnConnections',
      kind: 'throttle',
      count: 1,
    });
    const err = await ec2
      .send(new DescribeVpnConnectionsCommand({}))
      .catch((e: unknown) => e as Error & { $metadata: { httpStatusCode?: number } });
    expect(err).toMatchObject({ name: 'RequestLimitExceeded', $metadata: { httpStatusCode: 503 } });
  });

  it('a 5xx storm on KMS and Secrets Manager surfaces their own server errors', async () => {
    const kms = new KMSClient({
      region: 'us-east-1',
      endpoint: endpoint(),
      credentials: ADMIN_CREDENTIALS,
      maxAttempts: 2,
    });
    const sm = new SecretsManagerClient({
      region: 'us-east-1',
      endpoint: endpoint(),
      credentials: ADMIN_CREDENTIALS,
      maxAttempts: 2,
    });
    await admin(cloud, 'POST', '/faults', { service: 'kms', kind: 'error' });
    await admin(cloud, 'POST', '/faults', { service: 'secretsmanager', kind: 'error' });
    const k = await kms
      .send(new DescribeKeyCommand({ KeyId: 'alias/x' }))
      .catch((e: unknown) => e as Error & { $metadata: { httpStatusCode?: number } });
    const s = await sm
      .send(new GetSecretValueCommand({ SecretId: 'x' }))
      .catch((e: unknown) => e as Error & { $metadata: { httpStatusCode?: number } });
    await admin(cloud, 'DELETE', '/faults');
    expect(k).toMatchObject({ name: 'KMSInternalException', $metadata: { httpStatusCode: 500 } });
    expect(s).toMatchObject({ name: 'InternalServiceError', $metadata: { httpStatusCode: 500 } });
  });

  it("sim status shows the account's VPNs and Direct Connect associations", async () => {
    const status = await admin(cloud, 'GET', '/status');
    const region = status.aws.accounts['000000000000']['us-east-1'];
    expect(region.ec2.vpnConnections).toEqual([expect.objectContaining({ routing: 'bgp', tunnelsUp: 2 })]);
    const dx = new DirectConnectClient({
      region: 'us-east-1',
      endpoint: endpoint(),
      credentials: ADMIN_CREDENTIALS,
    });
    await dx.send(new DescribeDirectConnectGatewaysCommand({}));
    const after = await admin(cloud, 'GET', '/status');
    expect(after.aws.accounts['000000000000']['us-east-1'].directconnect.associations).toEqual([
      expect.objectContaining({ state: 'associated' }),
    ]);
  });
});
