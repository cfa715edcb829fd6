/**
 * Admin Activity audit logs of the Google edge, without the emulators: TransportManager create /
 * delete, compute router patch and VPN deletes write entries with the caller's email; reads do
 * not; a refused call is logged with its status. A sink filter the local cloud cannot evaluate
 * stops the start with the sink named.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalCloud } from '#local/index.ts';
import { buildVpn } from '#local/world/vpn-builder.ts';
import { startTestCloud } from '../support/local-cloud.ts';

const PROJECT = 'net-prod';
const REGION = 'us-east4';
const SA = 'crosslink@crosslink-local.iam.gserviceaccount.com';

describe('Admin Activity audit log', () => {
  let cloud: LocalCloud;
  let token: string;
  const call = async (
    method: string,
    path: string,
    body?: unknown,
    // biome-ignore lint/suspicious/noExplicitAny: responses are read ad hoc.
  ): Promise<{ status: number; json: any }> => {
    const res = await fetch(`${cloud.gcp.endpoint}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: res.status, json: await res.json() };
  };

  beforeAll(async () => {
    cloud = await startTestCloud();
    token = cloud.gcp.auth.issueAccessToken({
      email: SA,
      kind: 'service-account',
      lifetimeMs: 86_400_000,
    }).token;
    const w = cloud.network;
    const vpc = w.addVpc({
      accountId: cloud.aws.accountId,
      region: 'us-east-1',
      cidrBlocks: ['10.0.0.0/16'],
    });
    w.addGcpNetwork({
      project: PROJECT,
      name: 'core',
      subnets: [{ name: 'app', region: REGION, ipCidrRange: '10.128.0.0/20' }],
    });
    buildVpn(w, {
      name: 'to-aws',
      aws: { vpcId: vpc.vpcId },
      gcp: { project: PROJECT, region: REGION, network: 'core' },
    });
  });
  afterAll(async () => {
    await cloud?.stop();
  });

  it('records transport create and delete, router patch and tunnel delete, with the caller; not reads', async () => {
    // Act
    const base = `/v1beta/projects/${cloud.gcp.project}/locations/${REGION}/transports`;
    const created = await call('POST', `${base}?transportId=lk-audit2`, {
      network: `projects/${cloud.gcp.project}/global/networks/core`,
      remoteProfile: `projects/${cloud.gcp.project}/locations/${REGION}/remoteTransportProfiles/aws-us-east-1`,
      bandwidth: 'BPS_1G',
      remoteAccountId: '000000000000',
    });
    await call('GET', `${base}/lk-audit2`);
    await cloud.clock.advance(3_600_000);
    const deleted = await call('DELETE', `${base}/lk-audit2`);
    const router = (
      await call('GET', `/compute/v1/projects/${PROJECT}/regions/${REGION}/routers/to-aws-router`)
    ).json;
    const patched = await call(
      'PATCH',
      `/compute/v1/projects/${PROJECT}/regions/${REGION}/routers/to-aws-router`,
      {
        bgpPeers: router.bgpPeers.map((p: object) => ({ ...p, enable: 'FALSE' })),
        fingerprint: router.fingerprint,
      },
    );
    const tunnels = (await call('GET', `/compute/v1/projects/${PROJECT}/regions/${REGION}/vpnTunnels`)).json
      .items;
    const tunnel = tunnels[0].name as string;
    const tunnelDeleted = await call(
      'DELETE',
      `/compute/v1/projects/${PROJECT}/regions/${REGION}/vpnTunnels/${tunnel}`,
    );
    const missing = await call('DELETE', `/compute/v1/projects/${PROJECT}/regions/${REGION}/vpnTunnels/nope`);
    // Assess
    expect([created.status, deleted.status, patched.status, tunnelDeleted.status, missing.status]).toEqual([
      200, 200, 200, 200, 404,
    ]);
    const entries = cloud.gcp.auditLog.entries();
    expect(
      entries.map((e) => [
        e.protoPayload.methodName,
        e.protoPayload.resourceName,
        e.protoPayload.status.code ?? 0,
      ]),
    ).toEqual([
      [
        'google.cloud.networkconnectivity.v1beta.TransportManager.CreateTransport',
        `projects/${cloud.gcp.project}/locations/${REGION}/transports/lk-audit2`,
        0,
      ],
      [
        'google.cloud.networkconnectivity.v1beta.TransportManager.DeleteTransport',
        `projects/${cloud.gcp.project}/locations/${REGION}/transports/lk-audit2`,
        0,
      ],
      ['v1.compute.routers.patch', `projects/${PROJECT}/regions/${REGION}/routers/to-aws-router`, 0],
      ['v1.compute.vpnTunnels.delete', `projects/${PROJECT}/regions/${REGION}/vpnTunnels/${tunnel}`, 0],
      ['v1.compute.vpnTunnels.delete', `projects/${PROJECT}/regions/${REGION}/vpnTunnels/nope`, 404],
    ]);
    expect(entries.every((e) => e.protoPayload.authenticationInfo.principalEmail === SA)).toBe(true);
    expect(entries[0]).toMatchObject({
      logName: `projects/${cloud.gcp.project}/logs/cloudaudit.googleapis.com%2Factivity`,
      severity: 'NOTICE',
      resource: { type: 'audited_resource' },
      protoPayload: {
        '@type': 'type.googleapis.com/google.cloud.audit.AuditLog',
        serviceName: 'networkconnectivity.googleapis.com',
        request: { bandwidth: 'BPS_1G', transportId: 'lk-audit2' },
      },
      operation: { first: true, producer: 'networkconnectivity.googleapis.com' },
    });
    expect(entries[2]?.protoPayload.serviceName).toBe('compute.googleapis.com');
    expect(entries[4]?.severity).toBe('ERROR');
  });
});

describe('a log sink the local cloud cannot evaluate', () => {
  let dir: string;
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('stops the start with the sink and the construct named', async () => {
    dir = await mkdtemp(join(tmpdir(), 'crosslink-sink-'));
    await writeFile(
      join(dir, 'gcp.yml'),
      'version: 1\ntopics: [{name: audit}]\nlogSinks:\n  - {name: recent, filter: \'timestamp>="2026-01-01T00:00:00Z"\', topic: audit}\n',
    );
    await expect(startTestCloud({ gcpConfig: join(dir, 'gcp.yml') })).rejects.toThrow(
      'log sink recent: the local log sinks do not support the >= operator (only =, !=, :, =~, !~)',
    );
  });

  it('stops the start with a log metric whose filter it cannot parse (log metrics are not evaluated locally)', async () => {
    await writeFile(
      join(dir, 'gcp.yml'),
      "version: 1\nlogMetrics:\n  - {name: old_errors, filter: 'severity>=ERROR'}\n",
    );
    await expect(startTestCloud({ gcpConfig: join(dir, 'gcp.yml') })).rejects.toThrow(
      'log metric old_errors: the local log sinks do not support the >= operator (only =, !=, :, =~, !~)',
    );
  });
});
