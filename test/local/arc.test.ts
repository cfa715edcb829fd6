/**
 * Route 53 ARC on the local cloud through @aws-sdk/client-route53-recovery-cluster: the world of
 * examples/dr/payments-aws-world.yaml deployed through the admin API, safety rules refusing an
 * update (an assertion rule keeping one cell On, a gating rule, the wait period), the cluster's
 * regional endpoints tried in turn while one is down or its region is out, and overrides that IAM
 * must allow (docs/local-route53-arc.md).
 */

import {
  CloudFormationClient,
  DeleteStackCommand,
  DescribeStacksCommand,
} from '@aws-sdk/client-cloudformation';
import {
  GetRoutingControlStateCommand,
  ListRoutingControlsCommand,
  Route53RecoveryClusterClient,
  UpdateRoutingControlStateCommand,
  UpdateRoutingControlStatesCommand,
} from '@aws-sdk/client-route53-recovery-cluster';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalCloud } from '#local/index.ts';
import {
  type ClusterEndpoint,
  deployPaymentsWorld,
  type PaymentsWorld,
  roleSession,
} from '../support/dr-world.ts';
import { ADMIN_CREDENTIALS, admin, startTestCloud } from '../support/local-cloud.ts';

type Credentials = { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
type Endpoint = ClusterEndpoint;

let cloud: LocalCloud;
let endpoints: Endpoint[];
let out: PaymentsWorld['out'];
const clients: Route53RecoveryClusterClient[] = [];

function clientAt(ep: Endpoint, credentials: Credentials = ADMIN_CREDENTIALS): Route53RecoveryClusterClient {
  const c = new Route53RecoveryClusterClient({
    region: ep.Region,
    endpoint: ep.Endpoint,
    credentials,
    maxAttempts: 1,
  });
  clients.push(c);
  return c;
}

/** As ARC's guide tells a client to: each regional endpoint in turn until one answers. */
async function onAnyEndpoint<T>(
  call: (c: Route53RecoveryClusterClient) => Promise<T>,
  credentials?: Credentials,
): Promise<{ result: T; region: string; failed: string[] }> {
  const failed: string[] = [];
  for (const ep of endpoints) {
    try {
      return { result: await call(clientAt(ep, credentials)), region: ep.Region, failed };
    } catch (err) {
      const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
      // Only an endpoint that is not there, or says it is unavailable, sends a client on.
      if (e.name !== 'EndpointTemporarilyUnavailableException' && e.$metadata?.httpStatusCode !== undefined)
        throw err;
      failed.push(`${ep.Region}: ${e.name}`);
    }
  }
  throw new Error(`no endpoint answered: ${failed.join('; ')}`);
}

const stateOf = async (arn: string) =>
  (await onAnyEndpoint((c) => c.send(new GetRoutingControlStateCommand({ RoutingControlArn: arn })))).result
    .RoutingControlState;

const sessionOf = (roleName: string, statements: unknown[]): Promise<Credentials> =>
  roleSession(cloud, roleName, { Version: '2012-10-17', Statement: statements });

beforeAll(async () => {
  cloud = await startTestCloud();
  ({ out, endpoints } = await deployPaymentsWorld(cloud));
}, 60_000);

afterAll(async () => {
  for (const c of clients) c.destroy();
  await cloud?.stop();
});

describe('the deployed world', () => {
  it('has a cluster with five regional endpoints, each its own listener, and its controls Off', async () => {
    expect(endpoints.map((e) => e.Region)).toEqual([
      'us-east-1',
      'us-west-2',
      'eu-west-1',
      'ap-southeast-2',
      'ap-northeast-1',
    ]);
    expect(new Set(endpoints.map((e) => new URL(e.Endpoint).port)).size).toBe(5);
    const { result } = await onAnyEndpoint((c) =>
      c.send(new ListRoutingControlsCommand({ ControlPanelArn: out.ControlPanelArn })),
    );
    expect(result.RoutingControls?.map((r) => [r.RoutingControlName, r.RoutingControlState]).sort()).toEqual([
      ['cell-aws-us-east-1', 'Off'],
      ['cell-gcp-us-central1', 'Off'],
    ]);
    expect(result.RoutingControls?.[0]?.Owner).toBe(cloud.aws.accountId);
  });

  it('is a stack CloudFormation knows, and a template naming another type is refused whole', async () => {
    const bad = admin(cloud, 'POST', '/aws/stacks', {
      stackName: 'other',
      template: { Resources: { Q: { Type: 'AWS::SQS::Queue', Properties: {} } } },
    });
    await expect(bad).rejects.toMatchObject({
      status: 400,
      message: expect.stringContaining('Q (AWS::SQS::Queue)'),
    });
  });

  it('DeleteStack takes a world down resource by resource, its cluster endpoints closed', async () => {
    const deployed = await admin(cloud, 'POST', '/aws/stacks', {
      stackName: 'short-lived',
      template: {
        Resources: {
          C: { Type: 'AWS::Route53RecoveryControl::Cluster', Properties: { Name: 'short' } },
          P: {
            Type: 'AWS::Route53RecoveryControl::ControlPanel',
            Properties: { ClusterArn: { Ref: 'C' }, Name: 'p' },
          },
          A: {
            Type: 'AWS::Route53RecoveryControl::RoutingControl',
            Properties: { ControlPanelArn: { Ref: 'P' }, Name: 'a' },
          },
          R: {
            Type: 'AWS::Route53RecoveryControl::SafetyRule',
            Properties: {
              ControlPanelArn: { Ref: 'P' },
              Name: 'r',
              RuleConfig: { Type: 'ATLEAST', Threshold: 1, Inverted: false },
              AssertionRule: { AssertedControls: [{ Ref: 'A' }], WaitPeriodMs: 0 },
            },
          },
          H: {
            Type: 'AWS::Route53::HealthCheck',
            Properties: { HealthCheckConfig: { Type: 'RECOVERY_CONTROL', RoutingControlArn: { Ref: 'A' } } },
          },
        },
      },
    });
    const clusterArn = deployed.physicalIds.C as string;
    const { clusters } = await admin(cloud, 'POST', '/aws/route53-recovery-cluster/clusters', {});
    const endpoint = clusters.find((c: { ClusterArn: string }) => c.ClusterArn === clusterArn)
      .ClusterEndpoints[0];
    const cfn = new CloudFormationClient({
      region: 'us-east-1',
      endpoint: cloud.aws.endpoint,
      credentials: ADMIN_CREDENTIALS,
    });
    try {
      await cfn.send(new DeleteStackCommand({ StackName: 'short-lived' }));
      await cloud.clock.advance(60_000);
      const { Stacks } = await cfn.send(new DescribeStacksCommand({ StackName: deployed.stackId }));
      expect(Stacks?.[0]?.StackStatus).toBe('DELETE_COMPLETE');
    } finally {
      cfn.destroy();
    }
    const left = (await admin(cloud, 'POST', '/aws/route53-recovery-cluster/clusters', {})).clusters;
    expect(left.map((c: { ClusterArn: string }) => c.ClusterArn)).not.toContain(clusterArn);
    const { HealthChecks } = await admin(cloud, 'POST', '/aws/route53/health-checks', {});
    expect(HealthChecks.map((h: { Id: string }) => h.Id)).not.toContain(deployed.physicalIds.H);
    await expect(fetch(endpoint.Endpoint, { method: 'POST' })).rejects.toThrow();
  });

  it('rolls a failed template back, naming the resource and the field', async () => {
    const before = (await admin(cloud, 'POST', '/aws/route53-recovery-cluster/clusters', {})).clusters.length;
    const bad = admin(cloud, 'POST', '/aws/stacks', {
      stackName: 'half',
      template: {
        Resources: {
          C: { Type: 'AWS::Route53RecoveryControl::Cluster', Properties: { Name: 'half' } },
          P: {
            Type: 'AWS::Route53RecoveryControl::ControlPanel',
            Properties: { ClusterArn: { Ref: 'C' }, Name: 'p' },
          },
          A: {
            Type: 'AWS::Route53RecoveryControl::RoutingControl',
            Properties: { ControlPanelArn: { Ref: 'P' }, Name: 'a' },
          },
          R: {
            Type: 'AWS::Route53RecoveryControl::SafetyRule',
            Properties: {
              ControlPanelArn: { Ref: 'P' },
              Name: 'r',
              RuleConfig: { Type: 'ATLEAST', Threshold: 2, Inverted: false },
              AssertionRule: { AssertedControls: [{ Ref: 'A' }], WaitPeriodMs: 5000 },
            },
          },
        },
      },
    });
    await expect(bad).rejects.toMatchObject({
      status: 400,
      message: expect.stringMatching(
        /^R \(AWS::Route53RecoveryControl::SafetyRule\): RuleConfig.Threshold: 2/,
      ),
    });
    expect((await admin(cloud, 'POST', '/aws/route53-recovery-cluster/clusters', {})).clusters.length).toBe(
      before,
    );
  });
});

describe('safety rules', () => {
  it('an assertion rule ATLEAST 1 refuses to turn every cell Off, and allows a switch in one transaction', async () => {
    await onAnyEndpoint((c) =>
      c.send(
        new UpdateRoutingControlStateCommand({ RoutingControlArn: out.AwsCell, RoutingControlState: 'On' }),
      ),
    );
    expect(await stateOf(out.AwsCell)).toBe('On');
    await cloud.clock.advance(5_000); // the rule's wait period

    const refused = onAnyEndpoint((c) =>
      c.send(
        new UpdateRoutingControlStateCommand({ RoutingControlArn: out.AwsCell, RoutingControlState: 'Off' }),
      ),
    );
    await expect(refused).rejects.toMatchObject({
      name: 'ConflictException',
      message: expect.stringContaining(out.SafetyRule),
      resourceId: out.SafetyRule,
      resourceType: 'SafetyRule',
      $metadata: { httpStatusCode: 409 },
    });
    expect(await stateOf(out.AwsCell)).toBe('On');

    // The failover: the standby On and the primary Off in one call.
    await onAnyEndpoint((c) =>
      c.send(
        new UpdateRoutingControlStatesCommand({
          UpdateRoutingControlStateEntries: [
            { RoutingControlArn: out.GcpCell, RoutingControlState: 'On' },
            { RoutingControlArn: out.AwsCell, RoutingControlState: 'Off' },
          ],
        }),
      ),
    );
    expect([await stateOf(out.AwsCell), await stateOf(out.GcpCell)]).toEqual(['Off', 'On']);
  });

  it('refuses an update within the wait period of a rule whose controls just changed', async () => {
    const again = onAnyEndpoint((c) =>
      c.send(
        new UpdateRoutingControlStateCommand({ RoutingControlArn: out.AwsCell, RoutingControlState: 'On' }),
      ),
    );
    await expect(again).rejects.toMatchObject({
      name: 'ConflictException',
      message: expect.stringContaining('wait period'),
    });
    await cloud.clock.advance(5_000);
    await onAnyEndpoint((c) =>
      c.send(
        new UpdateRoutingControlStateCommand({ RoutingControlArn: out.AwsCell, RoutingControlState: 'On' }),
      ),
    );
    expect(await stateOf(out.AwsCell)).toBe('On');
    await cloud.clock.advance(5_000);
  });

  it('a gating rule lets its targets change only while its gating control is On', async () => {
    const account = cloud.aws.accountId;
    const panel = await admin(cloud, 'POST', '/aws/route53-recovery-cluster/create-control-panel', {
      accountId: account,
      clusterArn: out.ClusterArn,
      name: 'gated',
    });
    const make = (name: string) =>
      admin(cloud, 'POST', '/aws/route53-recovery-cluster/create-routing-control', {
        accountId: account,
        controlPanelArn: panel.ControlPanelArn,
        name,
      });
    const gate = (await make('switch')).RoutingControlArn;
    const target = (await make('target')).RoutingControlArn;
    const rule = await admin(cloud, 'POST', '/aws/route53-recovery-cluster/create-safety-rule', {
      accountId: account,
      ControlPanelArn: panel.ControlPanelArn,
      Name: 'switch-gates-target',
      RuleConfig: { Type: 'OR', Threshold: 1, Inverted: false },
      GatingRule: { GatingControls: [gate], TargetControls: [target], WaitPeriodMs: 0 },
    });
    const set = (arn: string, state: 'On' | 'Off') =>
      onAnyEndpoint((c) =>
        c.send(new UpdateRoutingControlStateCommand({ RoutingControlArn: arn, RoutingControlState: state })),
      );

    await expect(set(target, 'On')).rejects.toMatchObject({
      name: 'ConflictException',
      resourceId: rule.SafetyRuleArn,
    });
    await set(gate, 'On');
    await set(target, 'On');
    expect(await stateOf(target)).toBe('On');
    await set(gate, 'Off');
    await expect(set(target, 'Off')).rejects.toMatchObject({ name: 'ConflictException' });
    expect(await stateOf(target)).toBe('On');
  });

  it('refuses bad input naming the field, and an unknown control as not found', async () => {
    await expect(
      onAnyEndpoint((c) =>
        c.send(
          new UpdateRoutingControlStateCommand({
            RoutingControlArn: out.AwsCell,
            RoutingControlState: 'Maybe' as 'On',
          }),
        ),
      ),
    ).rejects.toMatchObject({
      name: 'ValidationException',
      message: expect.stringContaining("'RoutingControlState'"),
    });
    const unknown = `${out.ControlPanelArn}/routingcontrol/0000000000000000`;
    await expect(
      onAnyEndpoint((c) => c.send(new GetRoutingControlStateCommand({ RoutingControlArn: unknown }))),
    ).rejects.toMatchObject({
      name: 'ResourceNotFoundException',
      resourceId: unknown,
      $metadata: { httpStatusCode: 404 },
    });
  });
});

describe('the regional endpoints', () => {
  it('answers only at a cluster endpoint, signed for that endpoint region', async () => {
    const edge = new Route53RecoveryClusterClient({
      region: 'us-east-1',
      endpoint: cloud.aws.endpoint,
      credentials: ADMIN_CREDENTIALS,
      maxAttempts: 1,
    });
    clients.push(edge);
    await expect(
      edge.send(new GetRoutingControlStateCommand({ RoutingControlArn: out.AwsCell })),
    ).rejects.toMatchObject({
      $metadata: { httpStatusCode: 404 },
    });
    const west = endpoints[1] as Endpoint;
    const misSigned = clientAt({ Endpoint: west.Endpoint, Region: 'us-east-1' });
    await expect(
      misSigned.send(new GetRoutingControlStateCommand({ RoutingControlArn: out.AwsCell })),
    ).rejects.toMatchObject({
      name: 'InvalidSignatureException',
    });
  });

  it('a client goes on to the next endpoint while one is unavailable', async () => {
    await admin(cloud, 'POST', '/aws/route53-recovery-cluster/set-endpoint', {
      clusterArn: out.ClusterArn,
      region: 'us-east-1',
      available: false,
    });
    try {
      await expect(
        clientAt(endpoints[0] as Endpoint).send(
          new GetRoutingControlStateCommand({ RoutingControlArn: out.AwsCell }),
        ),
      ).rejects.toMatchObject({
        name: 'EndpointTemporarilyUnavailableException',
        $metadata: { httpStatusCode: 503 },
      });
      const { region, failed } = await onAnyEndpoint((c) =>
        c.send(new GetRoutingControlStateCommand({ RoutingControlArn: out.AwsCell })),
      );
      expect(region).toBe('us-west-2');
      expect(failed).toEqual(['us-east-1: EndpointTemporarilyUnavailableException']);
    } finally {
      await admin(cloud, 'POST', '/aws/route53-recovery-cluster/set-endpoint', {
        clusterArn: out.ClusterArn,
        region: 'us-east-1',
        available: true,
      });
    }
  });

  it('during a region outage that endpoint drops its connections, and an update goes through another', async () => {
    await admin(cloud, 'POST', '/world/region-outage', { cloud: 'aws', region: 'us-east-1' });
    try {
      const direct = clientAt(endpoints[0] as Endpoint).send(
        new GetRoutingControlStateCommand({ RoutingControlArn: out.AwsCell }),
      );
      // No HTTP answer at all: the connection is dropped, as an unreachable host's would be.
      await expect(direct).rejects.toSatisfy(
        (e: { $metadata?: { httpStatusCode?: number } }) => e.$metadata?.httpStatusCode === undefined,
      );
      const { region, failed } = await onAnyEndpoint((c) =>
        c.send(
          new UpdateRoutingControlStatesCommand({
            UpdateRoutingControlStateEntries: [
              { RoutingControlArn: out.GcpCell, RoutingControlState: 'On' },
              { RoutingControlArn: out.AwsCell, RoutingControlState: 'Off' },
            ],
          }),
        ),
      );
      expect(region).toBe('us-west-2');
      expect(failed).toHaveLength(1);
      expect([await stateOf(out.AwsCell), await stateOf(out.GcpCell)]).toEqual(['Off', 'On']);
    } finally {
      await admin(cloud, 'POST', '/world/region-outage', { cloud: 'aws', region: 'us-east-1', on: false });
      await cloud.clock.advance(5_000);
    }
    expect((await onAnyEndpoint((c) => c.send(new ListRoutingControlsCommand({})))).region).toBe('us-east-1');
  });
});

describe('overriding safety rules', () => {
  /** The last On cell Off, overriding the "one cell On" rule. */
  const gcpOffPastTheRule = (creds: Credentials) =>
    onAnyEndpoint(
      (c) =>
        c.send(
          new UpdateRoutingControlStateCommand({
            RoutingControlArn: out.GcpCell,
            RoutingControlState: 'Off',
            SafetyRulesToOverride: [out.SafetyRule],
          }),
        ),
      creds,
    );
  const allowArc = { Effect: 'Allow', Action: 'route53-recovery-cluster:*', Resource: '*' };

  it('needs AllowSafetyRulesOverrides: a role that denies it may update but not override', async () => {
    const creds = await sessionOf('arc-executor', [
      allowArc,
      {
        Effect: 'Deny',
        Action: [
          'route53-recovery-cluster:UpdateRoutingControlState',
          'route53-recovery-cluster:UpdateRoutingControlStates',
        ],
        Resource: '*',
        Condition: { Bool: { 'route53-recovery-cluster:AllowSafetyRulesOverrides': 'true' } },
      },
    ]);
    const override = gcpOffPastTheRule(creds);
    await expect(override).rejects.toMatchObject({
      name: 'AccessDeniedException',
      $metadata: { httpStatusCode: 403 },
      message: expect.stringContaining('route53-recovery-cluster:UpdateRoutingControlState on resource'),
    });
    // Without an override the same role is refused by the rule, not by IAM.
    const plain = onAnyEndpoint(
      (c) =>
        c.send(
          new UpdateRoutingControlStateCommand({
            RoutingControlArn: out.GcpCell,
            RoutingControlState: 'Off',
          }),
        ),
      creds,
    );
    await expect(plain).rejects.toMatchObject({ name: 'ConflictException' });
    expect(await stateOf(out.GcpCell)).toBe('On');
  });

  it('a role allowed to override turns every cell Off past the rule', async () => {
    const creds = await sessionOf('arc-break-glass', [allowArc]);
    await gcpOffPastTheRule(creds);
    expect([await stateOf(out.AwsCell), await stateOf(out.GcpCell)]).toEqual(['Off', 'Off']);
  });

  it('a role without ARC grants cannot read a routing control', async () => {
    const creds = await sessionOf('arc-none', [
      { Effect: 'Allow', Action: 'sts:GetCallerIdentity', Resource: '*' },
    ]);
    await expect(
      onAnyEndpoint(
        (c) => c.send(new GetRoutingControlStateCommand({ RoutingControlArn: out.AwsCell })),
        creds,
      ),
    ).rejects.toMatchObject({
      name: 'AccessDeniedException',
      message: expect.stringContaining(
        `route53-recovery-cluster:GetRoutingControlState on resource: ${out.AwsCell}`,
      ),
    });
  });
});
