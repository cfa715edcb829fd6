/**
 * `crosslink sim ...` against a running local cloud (started in-process on a free port, its
 * handshake written where the CLI looks for it): status, clock, faults, seed and the partner's
 * moves, with the exit codes of docs/architecture.md ("CLI and exit codes").
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CreateConnectionCommand,
  GetConnectionCommand,
  ListAttachPointsCommand,
} from '#aws/interconnect-client.ts';
import type { LocalCloud } from '#local/index.ts';
import { cliAgainst } from '../support/cli.ts';
import { interconnectClient, startTestCloud } from '../support/local-cloud.ts';

let cloud: LocalCloud;
let local: ReturnType<typeof cliAgainst>;
const cli = (...args: string[]) => local.cli(...args);

beforeAll(async () => {
  cloud = await startTestCloud();
  local = cliAgainst(cloud, 'crosslink-sim-');
});
afterAll(async () => {
  await cloud.stop();
  local.remove();
});

describe('crosslink sim', () => {
  it('advances and scales the clock; a bad duration is a usage error (2)', async () => {
    const before = cloud.clock.now();
    const r = await cli('sim', 'clock', 'advance', '90m');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^clock manual {2}now 2026-06-01T01:30:00.000Z/);
    expect(cloud.clock.now() - before).toBe(90 * 60_000);
    expect((await cli('sim', 'clock', 'advance', 'later')).code).toBe(2);
    expect((await cli('sim', 'clock', 'scale', '10', '--json')).out).toContain('"scale": 10');
  });

  it('plays the partner: redeem a key, take the link down; unknown ids exit 4, wrong states 3', async () => {
    const client = interconnectClient(cloud);
    const gw = (await client.send(new ListAttachPointsCommand({ environmentId: 'mce-aws-gcp-iad' })))
      .attachPoints[0]!;
    const c = (
      await client.send(
        new CreateConnectionCommand({
          bandwidth: '1Gbps',
          environmentId: 'mce-aws-gcp-iad',
          attachPoint: { directConnectGateway: gw.identifier },
          remoteAccount: { identifier: 'proj' },
          description: 'cli test',
        }),
      )
    ).connection!;
    expect((await cli('sim', 'partner', 'down', c.id)).code).toBe(3);
    const redeemed = await cli('sim', 'partner', 'redeem', c.activationKey, '--remote-account', 'proj');
    expect(redeemed.code).toBe(0);
    expect(redeemed.out).toContain(`${c.id} pending`);
    await cli('sim', 'clock', 'advance', '5m');
    expect((await cli('sim', 'partner', 'down', c.id)).out).toContain(`${c.id} down`);
    expect((await client.send(new GetConnectionCommand({ identifier: c.id }))).connection?.state).toBe(
      'down',
    );
    expect((await cli('sim', 'partner', 'up', 'mcc-00000000')).code).toBe(4);
    const status = await cli('sim', 'status');
    expect(status.out).toMatch(
      new RegExp(`000000000000\\s+us-east-1\\s+interconnect\\s+${c.id}\\s+down\\s+1Gbps\\s+cli test`),
    );
  });

  it('issues a key for AcceptConnectionProposal', async () => {
    const r = await cli('sim', 'partner', 'issue', '--account', '000000000000', '--bandwidth', '2Gbps');
    expect(r.code).toBe(0);
    const key = JSON.parse(Buffer.from(r.out.split('\n')[0]!, 'base64').toString());
    expect(key).toMatchObject({ connectionSizeMbps: 2000, destinationAccountId: '000000000000' });
  });

  it('adds, lists and clears faults', async () => {
    const added = await cli(
      'sim',
      'fault',
      'throttle',
      '--service',
      'interconnect',
      '--rate',
      '0.3',
      '--json',
    );
    expect(added.code).toBe(0);
    const id = JSON.parse(added.out).id as string;
    expect((await cli('sim', 'fault', 'list')).out).toContain(`${id} throttle interconnect rate 0.3`);
    expect((await cli('sim', 'fault', 'clear', id)).code).toBe(0);
    expect((await cli('sim', 'fault', 'list')).out).toBe('no faults');
    expect((await cli('sim', 'fault', 'throttle')).code).toBe(2);
    expect((await cli('sim', 'fault', 'throttle', '--service', 'x', '--rate', '2')).code).toBe(2);
  });

  it('adds delivery faults (drop, duplicate, reorder) on the edge their service lives on, naming bad fields', async () => {
    // Act
    const reorder = await cli(
      'sim',
      'fault',
      'reorder',
      '--service',
      'pubsub',
      '--operation',
      'crosslink-events-relay',
      '--latency',
      '2s',
      '--json',
    );
    const dup = await cli('sim', 'fault', 'duplicate', '--service', 'sqs', '--count', '4', '--json');
    const wrongService = await cli('sim', 'fault', 'reorder', '--service', 'ec2');
    const wrongEdge = await cli('sim', 'fault', 'drop', '--service', 'sqs', '--edge', 'gcp');
    const badEdge = await cli('sim', 'fault', 'drop', '--service', 'sqs', '--edge', 'azure');
    const list = await cli('sim', 'fault', 'list');
    await cli('sim', 'fault', 'clear');

    // Assess
    expect(reorder.code).toBe(0);
    expect(JSON.parse(reorder.out)).toMatchObject({ kind: 'reorder', edge: 'gcp', latencyMs: 2000 });
    expect(JSON.parse(dup.out)).toMatchObject({ kind: 'duplicate', edge: 'aws', service: 'sqs', count: 4 });
    expect(list.out).toMatch(/reorder pubsub\.crosslink-events-relay 2000ms on gcp fired 0/);
    expect(list.out).toMatch(/duplicate sqs count 4 fired 0/);
    expect([wrongService.code, wrongEdge.code, badEdge.code]).toEqual([2, 2, 2]);
    expect(wrongService.err).toMatch(/service must be pubsub .*, sqs .* for delivery faults/);
    expect(wrongEdge.err).toMatch(/edge must be aws for sqs deliveries/);
    expect(badEdge.err).toMatch(/--edge must be aws or gcp, got "azure"/);
  });

  it('refuses --target cloud', async () => {
    const r = await cli('sim', 'status', '--target', 'cloud');
    expect(r.code).toBe(2);
    expect(r.err).toContain('local cloud only');
  });
});
