/**
 * The executor's ARC flip (functions/aws/arc-switch.ts) on the payments world, under the executor's
 * role policy (stacks/dr-executor-arc-policy.json) with IAM enforced: the cluster's regional
 * endpoints tried in turn through an outage of us-east-1, a safety rule's refusal final and nothing
 * changed, no endpoint answering reported, and an override of a safety rule refused by IAM.
 */
import { type AddressInfo, createServer, type Socket } from 'node:net';
import {
  Route53RecoveryClusterClient,
  UpdateRoutingControlStatesCommand,
} from '@aws-sdk/client-route53-recovery-cluster';
import type { AwsCredentialIdentity } from '@smithy/types';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type ArcAction, ArcEndpointsUnavailable, flipRoutingControls } from '#aws/arc-switch.ts';
import type { LocalCloud } from '#local/index.ts';
import { cellState, deployPaymentsWorld, executorSession, type PaymentsWorld } from '../support/dr-world.ts';
import { admin, startTestCloud } from '../support/local-cloud.ts';

let cloud: LocalCloud;
let world: PaymentsWorld;
let executor: AwsCredentialIdentity;

const stateOf = (arn: string) => cellState(world, arn);

const flip = (aws: 'On' | 'Off', gcp: 'On' | 'Off'): ArcAction => ({
  type: 'arc-routing-control',
  cloud: 'aws',
  states: [
    { routingControlArn: world.out.AwsCell, state: aws },
    { routingControlArn: world.out.GcpCell, state: gcp },
  ],
});

beforeAll(async () => {
  cloud = await startTestCloud();
  world = await deployPaymentsWorld(cloud);
  executor = await executorSession(cloud);
  await flipRoutingControls(
    { credentials: executor },
    { endpoints: world.endpoints, action: flip('On', 'Off') },
  );
}, 60_000);

beforeEach(async () => {
  await cloud.clock.advance(10_000); // past the safety rule's wait period since the last change
});

afterAll(async () => {
  await cloud?.stop();
});

describe('the executor flipping ARC routing controls', () => {
  it('passes over the endpoint of a region that is out and flips both cells in one call elsewhere', async () => {
    // Prepare
    await admin(cloud, 'POST', '/world/region-outage', { cloud: 'aws', region: 'us-east-1', on: true });

    // Act
    const done = await flipRoutingControls(
      { credentials: executor },
      { endpoints: world.endpoints, action: flip('Off', 'On') },
    );

    // Assess
    expect(done.region).toBe('us-west-2');
    expect(done.passed).toEqual([expect.stringMatching(/^us-east-1: no answer/)]);
    expect([await stateOf(world.out.AwsCell), await stateOf(world.out.GcpCell)]).toEqual(['Off', 'On']);
    await admin(cloud, 'POST', '/world/region-outage', { cloud: 'aws', region: 'us-east-1', on: false });
  });

  it('passes over an endpoint that accepts and never answers, after its request timeout', async () => {
    // Prepare: the first endpoint hangs (a region half out: connections taken, nothing answered)
    const sockets: Socket[] = [];
    const hung = createServer((socket) => void sockets.push(socket));
    await new Promise<void>((r) => hung.listen(0, '127.0.0.1', r));
    const port = (hung.address() as AddressInfo).port;
    const endpoints = [
      { Endpoint: `http://127.0.0.1:${port}/v1`, Region: 'us-east-1' },
      ...world.endpoints.slice(1),
    ];
    try {
      // Act
      const done = await flipRoutingControls(
        { credentials: executor, requestTimeoutMs: 300 },
        { endpoints, action: flip('On', 'Off') },
      );

      // Assess
      expect(done.region).toBe('us-west-2');
      expect(done.passed).toEqual([expect.stringMatching(/^us-east-1: no answer/)]);
      expect(sockets.length).toBe(1);
      expect([await stateOf(world.out.AwsCell), await stateOf(world.out.GcpCell)]).toEqual(['On', 'Off']);
    } finally {
      for (const s of sockets) s.destroy();
      await new Promise((r) => hung.close(r));
      // The cells back as the test before left them, for the tests after.
      await cloud.clock.advance(10_000);
      await flipRoutingControls(
        { credentials: executor },
        { endpoints: world.endpoints, action: flip('Off', 'On') },
      );
    }
  });

  it("takes a safety rule's refusal as final: nothing changes, no other endpoint is tried", async () => {
    // Act
    const refused = flipRoutingControls(
      { credentials: executor },
      { endpoints: world.endpoints, action: flip('Off', 'Off') },
    );

    // Assess
    await expect(refused).rejects.toMatchObject({
      name: 'ConflictException',
      message: expect.stringContaining(world.out.SafetyRule),
    });
    await expect(refused).rejects.toMatchObject({ message: expect.not.stringContaining('wait period') });
    expect([await stateOf(world.out.AwsCell), await stateOf(world.out.GcpCell)]).toEqual(['Off', 'On']);
  });

  it('reports when no endpoint takes the update, and changes nothing', async () => {
    // Prepare
    const set = (available: boolean) =>
      Promise.all(
        world.endpoints.map((ep) =>
          admin(cloud, 'POST', '/aws/route53-recovery-cluster/set-endpoint', {
            clusterArn: world.out.ClusterArn,
            region: ep.Region,
            available,
          }),
        ),
      );
    await set(false);

    // Act
    const none = flipRoutingControls(
      { credentials: executor },
      { endpoints: world.endpoints, action: flip('On', 'Off') },
    ).catch((e: unknown) => e);

    // Assess
    const error = await none;
    await set(true);
    expect(error).toBeInstanceOf(ArcEndpointsUnavailable);
    expect((error as Error).message).toMatch(
      /us-east-1: EndpointTemporarilyUnavailableException;.*ap-northeast-1/,
    );
    expect([await stateOf(world.out.AwsCell), await stateOf(world.out.GcpCell)]).toEqual(['Off', 'On']);
  });

  it("cannot override a safety rule under the executor's role: IAM refuses it", async () => {
    // Prepare
    const ep = world.endpoints.find((e) => e.Region === 'us-west-2')!;
    const c = new Route53RecoveryClusterClient({
      region: ep.Region,
      endpoint: ep.Endpoint,
      credentials: executor,
      maxAttempts: 1,
    });

    // Act
    const override = c.send(
      new UpdateRoutingControlStatesCommand({
        UpdateRoutingControlStateEntries: [
          { RoutingControlArn: world.out.AwsCell, RoutingControlState: 'Off' },
          { RoutingControlArn: world.out.GcpCell, RoutingControlState: 'Off' },
        ],
        SafetyRulesToOverride: [world.out.SafetyRule],
      }),
    );

    // Assess
    await expect(override).rejects.toMatchObject({
      name: 'AccessDeniedException',
      $metadata: { httpStatusCode: 403 },
      message: expect.stringContaining('route53-recovery-cluster:UpdateRoutingControlStates'),
    });
    c.destroy();
    expect([await stateOf(world.out.AwsCell), await stateOf(world.out.GcpCell)]).toEqual(['Off', 'On']);
  });
});
