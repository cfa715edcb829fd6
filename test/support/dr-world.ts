/**
 * The payments plan's AWS world (examples/dr/payments-aws-world.yaml: ARC cluster, control panel,
 * two cells, the "one cell On" rule, health checks, failover records) deployed into a test cloud
 * through the admin API, with the template's outputs and the cluster's regional endpoints.
 */
import { readFileSync } from 'node:fs';
import {
  GetRoutingControlStateCommand,
  Route53RecoveryClusterClient,
  UpdateRoutingControlStatesCommand,
} from '@aws-sdk/client-route53-recovery-cluster';
import { CreateStateMachineCommand, type SFNClient } from '@aws-sdk/client-sfn';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { afterEach, beforeEach } from 'vitest';
import { flipRoutingControls } from '#aws/arc-switch.ts';
import { type DrExecutorDeps, drExecutorStep } from '#aws/dr-executor.ts';
import { fetchGet } from '#aws/http-get.ts';
import { step } from '#core/dr/failover-decider.ts';
import { type DeciderState, type Decision, initialState } from '#core/dr/failover-state.ts';
import type { ProbeStreak } from '#core/dr/observations.ts';
import type { DrPlan, DrPlanDocument } from '#core/dr/plan.ts';
import { runProbes } from '#core/dr/probe-run.ts';
import { lambdaRuntime } from '#local/aws/services/lambda.ts';
import { VirtualClock } from '#local/clock.ts';
import type { LocalCloud } from '#local/index.ts';
import { ServiceHealthServer } from '#local/world/health-server.ts';
import { type ProtectedService, serviceWorldOf } from '#local/world/protected-service.ts';
import { planWith } from '../unit/dr/helpers.ts';
import { resolveDefinition } from './aws-half.ts';
import { ADMIN_CREDENTIALS, admin, startTestCloud } from './local-cloud.ts';

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

/**
 * Both cells set in one UpdateRoutingControlStates call, as admin, through the first of the world's
 * endpoints that answers (one that does not connect is skipped; an answer with an error is thrown).
 * Returns the region of the endpoint that took it.
 */
export async function switchCells(
  world: PaymentsWorld,
  aws: 'On' | 'Off',
  gcp: 'On' | 'Off',
): Promise<string> {
  for (const ep of world.endpoints) {
    const c = adminClusterClient(ep);
    try {
      await c.send(
        new UpdateRoutingControlStatesCommand({
          UpdateRoutingControlStateEntries: [
            { RoutingControlArn: world.out.AwsCell, RoutingControlState: aws },
            { RoutingControlArn: world.out.GcpCell, RoutingControlState: gcp },
          ],
        }),
      );
      return ep.Region;
    } catch (err) {
      if ((err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode !== undefined)
        throw err;
    } finally {
      c.destroy();
    }
  }
  throw new Error('no cluster endpoint answered');
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

/**
 * The example plan's document with its probes pointed at the service world's health endpoints at
 * `base` (the same sides: the primary's /healthz, the standby's /readyz), the standby's readiness
 * probed by the two probing vantage points.
 */
export function probesAtWorld(doc: DrPlanDocument, base: string): DrPlanDocument {
  for (const s of doc.signals) {
    if (s.name === 'api-availability')
      s.detail = `GET ${base}/services/payments-api/aws/us-east-1/healthz, 3 failures in a row`;
    if (s.name === 'standby-readiness') {
      s.detail = `GET ${base}/services/payments-api/gcp/us-central1/readyz`;
      s.vantagePoints = PROBE_VANTAGES;
    }
  }
  return doc;
}

/**
 * Each test of the file in a fresh world on a manual clock (2026-06-01T10:00Z) with the payments
 * service and its health endpoints served on loopback: the handle's `clock` and `base` are the
 * current test's.
 */
export function usePaymentsHealth(): { clock: VirtualClock; base: string } {
  const handle = { clock: undefined as unknown as VirtualClock, base: '' };
  let server: ServiceHealthServer | undefined;
  beforeEach(async () => {
    handle.clock = new VirtualClock({ mode: 'manual', start: Date.parse('2026-06-01T10:00:00Z') });
    addPaymentsService(handle.clock);
    server = new ServiceHealthServer(handle.clock);
    handle.base = await server.start();
  });
  afterEach(async () => {
    await server?.stop();
    handle.clock.stop();
  });
  return handle;
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

/** The payments service at the addresses examples/dr/payments-aws-world.yaml points at (docs/local-route53-arc.md). */
export async function createPaymentsAtArcAddresses(
  cloud: LocalCloud,
  extra: Record<string, unknown> = {},
): Promise<void> {
  await admin(cloud, 'POST', '/world/service-create', {
    name: 'payments-api',
    primary: 'aws',
    aws: { region: 'us-east-1', ip: '198.51.100.10' },
    gcp: { region: 'us-central1', ip: '203.0.113.10' },
    ...extra,
  });
}

/** Its clients in Google us-west1, one request a second, resolving through Route 53's failover records. */
export async function startPaymentsClients(cloud: LocalCloud): Promise<void> {
  await admin(cloud, 'POST', '/world/clients-start', {
    service: 'payments-api',
    dnsName: 'api.payments.example.com',
    provider: 'route53',
    interval: '1s',
    from: { cloud: 'gcp', region: 'us-west1' },
  });
}

// biome-ignore lint/suspicious/noExplicitAny: the admin API's answers are JSON, untyped as admin() gives them
type WorldOn = (action: string, body: Record<string, unknown>) => Promise<any>;

/**
 * A promotion hook on `side`, as a failback's runbook does it: a database that is still a writer,
 * fenced (the old primary of the failover before, stale), is first re-seeded from the current writer
 * (`service-demote`, its unreplicated writes discarded), then promoted. `world` acts on the service
 * and side. The world refuses to promote a writer, so an unfenced one stays refused.
 */
export async function promoteReseeding(world: WorldOn, side: 'aws' | 'gcp'): Promise<{ detail: string }> {
  const db = (await world('service', {})).database[side] as { role: string; fenced: boolean };
  const reseeded =
    db.role === 'writer' && db.fenced
      ? `re-seeded (${(await world('service-demote', {})).discardedWrites} stale writes discarded), `
      : '';
  const out = await world('service-promote', {});
  return { detail: `${reseeded}promoted: lost ${out.lostWrites} writes over ${out.lossWindowMs} ms` };
}

/** The probe vantage points of the example plan that probe both sides. */
export const PROBE_VANTAGES = ['aws-us-west-2', 'gcp-us-west1'];

/** The example plan, its probe URLs pointing at the world's health endpoints (`base`) for the same sides. */
export function probedPlan(base: string, edit: (doc: DrPlanDocument) => void = () => {}): DrPlan {
  return planWith((d) => {
    probesAtWorld(d, base);
    edit(d);
  });
}

/** A session of the DR executor's role, its ARC policy (stacks/dr-executor-arc-policy.json) as CloudFormation gives it here. */
export function executorSession(cloud: LocalCloud): Promise<SessionCredentials> {
  const policy = JSON.parse(readFileSync('stacks/dr-executor-arc-policy.json', 'utf8'), (_k, v) =>
    v && typeof v === 'object' && 'Fn::Sub' in v
      ? (v['Fn::Sub'] as string)
          .replace(/\$\{AWS::Partition\}/g, 'aws')
          .replace(/\$\{AWS::AccountId\}/g, cloud.aws.accountId)
      : v,
  );
  return roleSession(cloud, 'crosslink-dr-executor', policy);
}

/** The decider as a world test's probes feed it: its state, what it decided, each vantage point's streaks. */
export interface ProbedDecider {
  state: DeciderState;
  decisions: Decision[];
  streaks: Map<string, Record<string, ProbeStreak>>;
}

export const probedDecider = (plan: DrPlan): ProbedDecider => ({
  state: initialState(plan),
  decisions: [],
  streaks: new Map(),
});

/**
 * One probe run of every vantage point in `vantages` against the world's health endpoints (the real
 * probe run); each observation to the decider, each move (a failover or failback) to `onMove`.
 */
export async function probeRound(
  cloud: LocalCloud,
  plan: DrPlan,
  decider: ProbedDecider,
  vantages: readonly string[],
  onMove: (move: Decision) => Promise<void>,
): Promise<void> {
  for (const vantage of vantages) {
    const r = await runProbes(
      { get: fetchGet(vantage, 2_000), clock: cloud.clock },
      {
        plan,
        vantage,
        controlUrl: `${cloud.serviceHealth}/connectivity`,
        streaks: decider.streaks.get(vantage) ?? {},
      },
    );
    decider.streaks.set(vantage, r.streaks);
    for (const o of r.observations) {
      const s = step(plan, decider.state, o);
      decider.state = s.state;
      if (!s.decision) continue;
      decider.decisions.push(s.decision);
      if (s.decision.decision !== 'hold') await onMove(s.decision);
    }
  }
}
const adminClusterClient = (ep: ClusterEndpoint) =>
  new Route53RecoveryClusterClient({
    region: ep.Region,
    endpoint: ep.Endpoint,
    credentials: ADMIN_CREDENTIALS,
    maxAttempts: 1,
  });

/** The primary's cell On and the standby's Off, set by the executor's role (before an outage). */
export async function primaryCellOn(world: PaymentsWorld, executor: SessionCredentials): Promise<void> {
  await flipRoutingControls(
    { credentials: executor },
    {
      endpoints: world.endpoints,
      action: {
        type: 'arc-routing-control',
        cloud: 'aws',
        states: [
          { routingControlArn: world.out.AwsCell, state: 'On' },
          { routingControlArn: world.out.GcpCell, state: 'Off' },
        ],
      },
    },
  );
}

/** A routing control's state, read from the cluster's us-west-2 endpoint as an administrator. */
export async function cellState(world: PaymentsWorld, arn: string): Promise<string | undefined> {
  const c = adminClusterClient(world.endpoints.find((e) => e.Region === 'us-west-2') as ClusterEndpoint);
  try {
    return (await c.send(new GetRoutingControlStateCommand({ RoutingControlArn: arn }))).RoutingControlState;
  } finally {
    c.destroy();
  }
}

/** The example plan probing the world's health endpoints, its flips (failover and failback) naming the world's cells. */
export function failoverPlanOf(cloud: LocalCloud, world: PaymentsWorld): DrPlan {
  return probedPlan(cloud.serviceHealth, (d) => {
    type Flip = Extract<DrPlan['actions']['failover'][number], { type: 'arc-routing-control' }>;
    const flipOf = (list: DrPlan['actions']['failover']) =>
      list.find((a) => a.type === 'arc-routing-control') as Flip;
    const flip = flipOf(d.actions.failover);
    flip.states = [
      { routingControlArn: world.out.GcpCell, state: 'On' },
      { routingControlArn: world.out.AwsCell, state: 'Off' },
    ];
    const back = flipOf(d.actions.failback);
    back.states = [
      { routingControlArn: world.out.AwsCell, state: 'On' },
      { routingControlArn: world.out.GcpCell, state: 'Off' },
    ];
  });
}

/**
 * The `crosslink-dr-failover` state machine as serverless.yml deploys it, in us-west-2: the real
 * workflows/aws/dr-failover.asl.json, `drExecutor` an in-process Lambda over `deps`, and the state
 * machine's role as serverless.yml's StatesRole grants it (invoke drExecutor, nothing else).
 * Returns the state machine's ARN.
 */
export async function drFailoverStateMachine(
  cloud: LocalCloud,
  sfn: SFNClient,
  deps: DrExecutorDeps,
  name: string,
): Promise<string> {
  const fn = `arn:aws:lambda:us-west-2:${cloud.aws.accountId}:function:drExecutor`;
  lambdaRuntime(cloud.aws.edge.world, cloud.aws.accountId, 'us-west-2').register({
    name: 'drExecutor',
    timeout: 60,
    handler: (event: unknown) => drExecutorStep(deps, event as Record<string, unknown>),
  });
  await admin(cloud, 'POST', '/aws/sts/put-role', {
    accountId: cloud.aws.accountId,
    roleName: 'crosslink-dr-states',
    trust: ['states.amazonaws.com'],
    policies: {
      invoke: {
        Version: '2012-10-17',
        Statement: { Effect: 'Allow', Action: 'lambda:InvokeFunction', Resource: fn },
      },
    },
  });
  const { stateMachineArn } = await sfn.send(
    new CreateStateMachineCommand({
      name,
      definition: resolveDefinition('workflows/aws/dr-failover.asl.json', () => fn),
      roleArn: `arn:aws:iam::${cloud.aws.accountId}:role/crosslink-dr-states`,
    }),
  );
  return stateMachineArn as string;
}

/**
 * A test cloud with the payments service at the ARC world's addresses (RPO 1m), the world deployed,
 * a session of the executor's role and the example plan naming the world's cells.
 */
export async function paymentsArcCloud(): Promise<{
  cloud: LocalCloud;
  world: PaymentsWorld;
  executor: SessionCredentials;
  plan: DrPlan;
}> {
  const cloud = await startTestCloud();
  await createPaymentsAtArcAddresses(cloud, { rpo: '1m' });
  const world = await deployPaymentsWorld(cloud);
  const executor = await executorSession(cloud);
  return { cloud, world, executor, plan: failoverPlanOf(cloud, world) };
}
