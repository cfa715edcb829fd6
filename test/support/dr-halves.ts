/**
 * The payments plan deployed through both halves on a local cloud with IAM enforced and a manual
 * clock (test/e2e/dr-failover.test.ts, test/e2e/dr-acceptance.test.ts):
 *
 * - the AWS half packaged from a checkout of its own with the plan (its probes at the world's health
 *   endpoints, its flip naming the world's ARC cells) and the cluster's endpoints, deployed in
 *   us-west-2: `drSignals` probing every minute and deciding, the `crosslink-dr-failover` state
 *   machine and `drExecutor`, each as its own role, `drControl` behind the intake's IAM route;
 * - gcp.yml's DR functions with the same plan: `dr-signals` and `dr-commanded` in us-west1, each as
 *   its account, the relay both ways;
 * - the plan's hooks (`payments-promote-alloydb`, `payments-scale-run-service`) as Cloud Functions
 *   in us-central1 whose invokers name crosslink-dr-commanded only, calling the world's
 *   `service-promote` and `service-scale` (test/fixtures/gcp/functions/dr-hooks.ts);
 * - the failback's hooks (`payments-promote-aurora`, `payments-scale-ecs-service`) as Lambda
 *   functions in us-west-2, which drExecutor's role may invoke (config/dr-plan.cjs), doing the same
 *   on AWS;
 * - taps on both sides' topics, so a test reads every Dr* event each side published.
 */
import { cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { Firestore } from '@google-cloud/firestore';
import { parse as parseYaml, stringify } from 'yaml';
import { DynamoDbDrExecutorStore } from '#aws/dr-executor-store.ts';
import { DynamoDbSignalLog } from '#aws/signal-log.ts';
import type { DrPlanDocument } from '#core/dr/plan.ts';
import type { CloudEvent } from '#core/envelope.ts';
import { FirestoreDrFence } from '#gcp/dr-fence.ts';
import { lambdaRuntime } from '#local/aws/services/lambda.ts';
import type { AwsHalfDeployment } from '#local/aws-half.ts';
import type { LocalCloud } from '#local/index.ts';
import { main } from '#scripts/cli/main.ts';
import { exampleDoc } from '../unit/dr/helpers.ts';
import { deployDrAwsHalf, pulled, settle, startDrCloud } from './dr-deployed.ts';
import {
  createPaymentsAtArcAddresses,
  deployPaymentsWorld,
  type PaymentsWorld,
  probesAtWorld,
  startPaymentsClients,
  switchCells,
} from './dr-world.ts';
import { ADMIN_CREDENTIALS, admin } from './local-cloud.ts';

export const SERVICE = 'payments-api';
export const MINUTE = 60_000;
const AWS_REGION = 'us-west-2';
/** This side's events (Google's DrActionFinished) and the peer's (AWS's, as the relay published them). */
const OWN_TAP = 'dr-test-own';
const PEER_TAP = 'dr-test-peer';
const QUIET_MS = 400;

export type DrEvent<T> = CloudEvent & { data: T };

export interface DeployedHalves {
  cloud: LocalCloud;
  world: PaymentsWorld;
  half: AwsHalfDeployment;
  /** The plan as deployed. */
  doc: DrPlanDocument;
  /** Every Dr* event each side published (DrSignalObserved left out), in the order the taps gave them. */
  events: { aws: DrEvent<Record<string, unknown>>[]; gcp: DrEvent<Record<string, unknown>>[] };
  /** AWS's records: the executor's run and refusals, the operators' controls (the links table). */
  aws: { runs: DynamoDbDrExecutorStore; log: DynamoDbSignalLog };
  /** Google's record: the commanded side's fence (Firestore). */
  fence: FirestoreDrFence;
  /** A world admin action (`POST /_crosslink/world/<action>`). */
  // biome-ignore lint/suspicious/noExplicitAny: the admin API's answers are JSON, untyped as admin() gives them
  act(action: string, body: unknown): Promise<any>;
  named<T>(side: 'aws' | 'gcp', name: string): DrEvent<T>[];
  /** Pulls what the taps hold into `events`. */
  drain(): Promise<void>;
  /** Advances the clock a minute, its runs and what they relayed done. */
  minute(): Promise<void>;
  /** The CLI's home: plan.yaml, config/local-identities.yaml, .crosslink/local.json naming the deployed intake. */
  home: string;
  /** `crosslink <args>` against the deployed intake, the plan as `plan.yaml`, the local identities (`--as`). */
  cli(...args: string[]): Promise<{ code: number; out: string[]; err: string[] }>;
  stop(): Promise<void>;
}

/** The plan: its probes at the world's health endpoints, its flips (failover and failback) naming the world's cells. */
function planDoc(cloud: LocalCloud, w: PaymentsWorld, edit: (doc: DrPlanDocument) => void): DrPlanDocument {
  const doc = probesAtWorld(exampleDoc(), cloud.serviceHealth);
  const flip = doc.actions.failover[2] as { states: { routingControlArn: string; state: string }[] };
  flip.states = [
    { routingControlArn: w.out.GcpCell, state: 'On' },
    { routingControlArn: w.out.AwsCell, state: 'Off' },
  ];
  const back = doc.actions.failback[2] as { states: { routingControlArn: string; state: string }[] };
  back.states = [
    { routingControlArn: w.out.AwsCell, state: 'On' },
    { routingControlArn: w.out.GcpCell, state: 'Off' },
  ];
  edit(doc);
  return doc;
}

/**
 * A hook of the plan in us-central1, invoked by crosslink-dr-commanded alone, doing `action` in the
 * world; a promotion that `fences` also demotes the old writer (a planned move's switchover).
 */
const hook = (cloud: LocalCloud, name: string, action: string, fences = false) => ({
  name,
  source: 'functions/dr-hooks.ts',
  entryPoint: 'worldAction',
  region: 'us-central1',
  runtime: 'nodejs24',
  serviceAccount: 'payments-hooks',
  environment: {
    CROSSLINK_WORLD_ACTION: action,
    CROSSLINK_WORLD_ADMIN: cloud.admin,
    ...(fences && { CROSSLINK_WORLD_FENCE: 'aws' }),
  },
  trigger: { http: { invokers: ['serviceAccount:crosslink-dr-commanded'] } },
});

/**
 * The failback's hooks on AWS: Lambda functions in the executor's region doing the world's actions
 * on AWS; the promotion then demotes AlloyDB (a failback is planned: the standby is up).
 */
function awsHooks(cloud: LocalCloud): void {
  const runtime = lambdaRuntime(cloud.aws.edge.world, cloud.aws.accountId, AWS_REGION);
  const world = (action: string, body: Record<string, unknown>) =>
    admin(cloud, 'POST', `/world/${action}`, { name: SERVICE, cloud: 'aws', ...body });
  runtime.register({
    name: 'payments-promote-aurora',
    timeout: 30,
    handler: async () => {
      const out = await world('service-promote', {});
      // The failback is planned, AlloyDB up: it becomes Aurora's replica again, re-seeded from it.
      await admin(cloud, 'POST', '/world/service-demote', { name: SERVICE, cloud: 'gcp' });
      return { detail: `promoted: lost ${out.lostWrites} writes over ${out.lossWindowMs} ms` };
    },
  });
  runtime.register({
    name: 'payments-scale-ecs-service',
    timeout: 30,
    handler: async (command: unknown) => {
      const capacity = (command as { action: { capacity: number } }).action.capacity;
      await world('service-scale', { capacity });
      return { detail: `scaled to ${capacity}` };
    },
  });
}

/**
 * The root gcp.yml's DR functions (sources relative to `at`), their accounts, subscriptions and
 * topics, the probe's schedule, the relay both ways; the plan's hooks; two taps.
 */
function drConfig(root: string, at: string, cloud: LocalCloud, fence: boolean): string {
  const full = parseYaml(readFileSync(join(root, 'gcp.yml'), 'utf8'));
  const fns = full.functions.filter((f: { name: string }) => ['dr-signals', 'dr-commanded'].includes(f.name));
  const subs = full.subscriptions.filter(
    (s: { name: string }) =>
      s.name.startsWith('crosslink-dr-') ||
      s.name === 'crosslink-events-relay' ||
      s.name === 'crosslink-relay-dead-sub',
  );
  const topics = new Set([
    ...subs.map((s: { topic: string }) => s.topic),
    ...subs.flatMap((s: { deadLetter?: { topic: string } }) => (s.deadLetter ? [s.deadLetter.topic] : [])),
  ]);
  const own = new Set(fns.map((f: { serviceAccount: string }) => `serviceAccount:${f.serviceAccount}`));
  const accounts = new Set([
    ...fns.map((f: { serviceAccount: string }) => f.serviceAccount),
    ...fns.flatMap((f: { trigger: { http: { invokers: string[] } } }) =>
      f.trigger.http.invokers.map((m) => m.replace('serviceAccount:', '')),
    ),
    'crosslink-relay',
  ]);
  return stringify({
    version: 1,
    region: full.region,
    serviceAccounts: [
      ...full.serviceAccounts.filter((a: { id: string }) => accounts.has(a.id)),
      { id: 'payments-hooks', displayName: "the payments service's DR hooks", roles: [] },
    ],
    functions: [
      ...fns.map((f: { source: string }) => ({ ...f, source: relative(at, join(root, f.source)) })),
      hook(cloud, 'payments-promote-alloydb', 'service-promote', fence),
      hook(cloud, 'payments-scale-run-service', 'service-scale'),
    ],
    topics: full.topics
      .filter((t: { name: string }) => topics.has(t.name))
      .map(({ awsPublishers, publishers, ...t }: Record<string, unknown>) => ({
        ...t,
        ...(publishers ? { publishers: (publishers as string[]).filter((m) => own.has(m)) } : {}),
        ...(awsPublishers ? { awsPublishers } : {}),
      })),
    subscriptions: [
      ...subs,
      { name: OWN_TAP, topic: 'crosslink-events' },
      { name: PEER_TAP, topic: 'crosslink-peer-events' },
    ],
    schedulerJobs: full.schedulerJobs.filter((j: { name: string }) => j.name === 'crosslink-dr-probe'),
  });
}

/**
 * Deploys the payments service's world (its primary's cell On, its clients resolving through Route
 * 53) and both halves with the example plan changed by `edit`, in a temporary directory named by
 * `prefix`. With `fence`, the promotion hook on Google demotes Aurora once AlloyDB is the writer, as
 * a planned move's switchover does with its old writer up (a drill); without it the hook promotes
 * only, as in an outage, where the old writer's region is out.
 */
export async function deployDrHalves(
  root: string,
  prefix: string,
  edit: (doc: DrPlanDocument) => void = () => {},
  options: { fence?: boolean } = {},
): Promise<DeployedHalves> {
  const variables: Record<string, string> = {};
  const { dir, awsDir, cloud } = await startDrCloud(root, prefix, AWS_REGION, variables);
  let half: AwsHalfDeployment | undefined;
  let firestore: Firestore | undefined;
  const clients: DynamoDBClient[] = [];
  const stop = async () => {
    for (const c of clients) c.destroy();
    await firestore?.terminate();
    await half?.stop();
    await cloud.stop();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    // The plan's hooks, packaged from beside gcp.yml.
    mkdirSync(join(dir, 'functions'));
    cpSync(join(root, 'test/fixtures/gcp/functions/dr-hooks.ts'), join(dir, 'functions', 'dr-hooks.ts'));
    await createPaymentsAtArcAddresses(cloud, { rpo: '1m' });
    const world = await deployPaymentsWorld(cloud);
    await switchCells(world, 'On', 'Off');
    // The AWS half packaged with the plan and the cluster's endpoints, then Google's half with the
    // same plan and the relay both ways.
    const doc = planDoc(cloud, world, edit);
    const deployed = await deployDrAwsHalf(cloud, awsDir, doc, world, {
      CROSSLINK_DR_ARC_ENDPOINTS: JSON.stringify(world.endpoints),
    });
    half = deployed.half;
    Object.assign(variables, deployed.googleVariables);
    writeFileSync(join(dir, 'gcp.yml'), drConfig(root, dir, cloud, options.fence === true));
    await cloud.plumbing?.reload();
    awsHooks(cloud);
    await startPaymentsClients(cloud);

    // The CLI's home: the plan and the handshake naming the deployed intake.
    const home = join(dir, 'home');
    mkdirSync(join(home, '.crosslink'), { recursive: true });
    mkdirSync(join(home, 'config'));
    cpSync(join(root, 'config', 'local-identities.yaml'), join(home, 'config', 'local-identities.yaml'));
    writeFileSync(join(home, 'plan.yaml'), stringify(doc));
    writeFileSync(
      join(home, '.crosslink', 'local.json'),
      JSON.stringify({ ...cloud.handshake(), intakes: { aws: half.intake, gcp: null } }),
    );

    const dynamo = new DynamoDBClient({
      region: AWS_REGION,
      endpoint: cloud.aws.endpoint,
      credentials: ADMIN_CREDENTIALS,
    });
    clients.push(dynamo);
    const table = half.deployment.stack.physicalIds.LinksTable as string;
    process.env.FIRESTORE_EMULATOR_HOST = cloud.emulators?.firestoreHost as string;
    firestore = new Firestore({ projectId: cloud.gcp.project });

    const events: DeployedHalves['events'] = { aws: [], gcp: [] };
    const drain = async () => {
      const dr = (e: CloudEvent) =>
        e.type.startsWith('crosslink.Dr') && e.type !== 'crosslink.DrSignalObserved.v1';
      events.aws.push(...(await pulled<DrEvent<Record<string, unknown>>>(cloud, PEER_TAP)).filter(dr));
      events.gcp.push(...(await pulled<DrEvent<Record<string, unknown>>>(cloud, OWN_TAP)).filter(dr));
    };
    return {
      cloud,
      world,
      half,
      doc,
      events,
      aws: { runs: new DynamoDbDrExecutorStore(dynamo, table), log: new DynamoDbSignalLog(dynamo, table) },
      fence: new FirestoreDrFence(firestore),
      act: (action, body) => admin(cloud, 'POST', `/world/${action}`, body),
      named: <T>(side: 'aws' | 'gcp', name: string) =>
        events[side].filter((e) => e.type === `crosslink.${name}.v1`) as unknown as DrEvent<T>[],
      drain,
      minute: async () => {
        await cloud.clock.advance(MINUTE);
        await settle(cloud, QUIET_MS);
        await drain();
      },
      home,
      cli: async (...args) => {
        const out: string[] = [];
        const err: string[] = [];
        const code = await main(args, {
          out: (l) => out.push(l),
          err: (l) => err.push(l),
          cwd: home,
          env: {},
        });
        return { code, out, err };
      },
      stop,
    };
  } catch (e) {
    await stop();
    throw e;
  }
}
