/**
 * The payments plan deployed through both halves on a local cloud with IAM enforced and a manual
 * clock (test/e2e/dr-failover.test.ts, test/e2e/dr-acceptance.test.ts, test/e2e/dr-partition.test.ts):
 *
 * - the AWS half packaged from a checkout of its own with the plan (its probes at the world's health
 *   endpoints, its flip naming the world's ARC cells) and the cluster's endpoints, deployed in
 *   us-west-2: `drSignals` probing every minute and deciding, the `crosslink-dr-failover` state
 *   machine and `drExecutor`, each as its own role, `drControl` behind the intake's IAM route;
 * - gcp.yml's DR functions with the same plan: `dr-signals` and `dr-commanded` in us-west1, each as
 *   its account, the relay both ways;
 * - the plan's hooks (`payments-promote-alloydb`, `payments-scale-run-service`) as Cloud Functions
 *   in us-central1 whose invokers name crosslink-dr-commanded only, calling the world's
 *   `service-promote` and `service-scale` (test/fixtures/gcp/functions/dr-hooks.ts), and the
 *   failback's fence of AlloyDB (`payments-fence-alloydb`, the world's `service-fence`) in us-west1
 *   beside dr-commanded, outside us-central1;
 * - the failover's fence of Aurora (`payments-fence-aurora`) and the failback's hooks
 *   (`payments-promote-aurora`, `payments-scale-ecs-service`) as Lambda functions in us-west-2,
 *   outside us-east-1, which drCommanded's role may invoke (config/dr-plan.cjs), doing the same on
 *   AWS; the promotion first re-seeds Aurora from AlloyDB when it is a fenced writer (the old primary
 *   of the failover);
 * - taps on both sides' topics, so a test reads every Dr* event each side published;
 * - the world read as it is (`worldNow`, `worldWatch`) and drExecutor's pages from its log.
 *
 * And the ledger plan the same way, Google executing (test/e2e/dr-failover-gcp.test.ts,
 * `deployLedgerHalves`): its Cloud DNS record set and clients, the AWS half in eu-central-1 with the
 * plan's hook Lambdas, `dr-signals` and the `dr-failover` workflow in europe-west4 with the flip's
 * hook, a tap on AWS's bus.
 */
import { cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { Firestore } from '@google-cloud/firestore';
import { expect } from 'vitest';
import { parse as parseYaml, stringify } from 'yaml';
import { DynamoDbDrExecutorStore } from '#aws/dr-executor-store.ts';
import { DynamoDbDrFence } from '#aws/dr-fence.ts';
import { DynamoDbSignalLog } from '#aws/signal-log.ts';
import type { DrPlanDocument } from '#core/dr/plan.ts';
import type { CloudEvent } from '#core/envelope.ts';
import { FirestoreDrExecutorStore } from '#gcp/dr-executor-store.ts';
import { FirestoreDrFence } from '#gcp/dr-fence.ts';
import { lambdaRuntime } from '#local/aws/services/lambda.ts';
import type { AwsHalfDeployment } from '#local/aws-half.ts';
import type { LocalCloud } from '#local/index.ts';
import { main } from '#scripts/cli/main.ts';
import { exampleDoc } from '../unit/dr/helpers.ts';
import { deployDrAwsHalf, pulled, settle, startDrCloud } from './dr-deployed.ts';
import { ledgerDoc, ledgerProbesAt } from './dr-ledger.ts';
import { createLedgerDns, ledgerAnswers, startLedgerClients } from './dr-ledger-world.ts';
import {
  cellState,
  createPaymentsAtArcAddresses,
  deployPaymentsWorld,
  type PaymentsWorld,
  probesAtWorld,
  promoteReseeding,
  startPaymentsClients,
  switchCells,
} from './dr-world.ts';
import { ADMIN_CREDENTIALS, admin } from './local-cloud.ts';
import { type BusObserver, observeBus } from './relay-push.ts';

export const SERVICE = 'payments-api';
export const MINUTE = 60_000;
const AWS_REGION = 'us-west-2';
/** This side's events (Google's DrActionFinished) and the peer's (AWS's, as the relay published them). */
const OWN_TAP = 'dr-test-own';
const PEER_TAP = 'dr-test-peer';
const QUIET_MS = 400;

export type DrEvent<T> = CloudEvent & { data: T };

export interface DeployedHalves<W = PaymentsWorld> {
  cloud: LocalCloud;
  world: W;
  half: AwsHalfDeployment;
  /** The plan as deployed. */
  doc: DrPlanDocument;
  /** Every Dr* event each side published (DrSignalObserved left out), in the order the taps gave them. */
  events: { aws: DrEvent<Record<string, unknown>>[]; gcp: DrEvent<Record<string, unknown>>[] };
  /** AWS's records: the executor's run and refusals, the operators' controls, the commanded side's fence (the links table). */
  aws: { runs: DynamoDbDrExecutorStore; log: DynamoDbSignalLog; fence: DynamoDbDrFence };
  /** Google's record: the commanded side's fence (Firestore). */
  fence: FirestoreDrFence;
  /** Google's record: the executor's run and refusals (Firestore). */
  gcpRuns: FirestoreDrExecutorStore;
  /** A world admin action (`POST /_crosslink/world/<action>`). */
  // biome-ignore lint/suspicious/noExplicitAny: the admin API's answers are JSON, untyped as admin() gives them
  act(action: string, body: unknown): Promise<any>;
  named<T>(side: 'aws' | 'gcp', name: string): DrEvent<T>[];
  /** Pulls what the taps hold into `events`. */
  drain(): Promise<void>;
  /** Advances the clock a minute, its runs and what they relayed done. */
  minute(): Promise<void>;
  /** `crosslink <args>` against the deployed intake, the plan as `plan.yaml`, the local identities (`--as`). */
  cli(...args: string[]): Promise<{ code: number; out: string[]; err: string[] }>;
  /** The CLI's home: plan.yaml, config/local-identities.yaml, .crosslink/local.json naming the deployed intake. */
  home: string;
  stop(): Promise<void>;
}

/** The plan: its probes at the world's health endpoints, its flips (failover and failback) naming the world's cells. */
function planDoc(cloud: LocalCloud, w: PaymentsWorld): DrPlanDocument {
  const doc = probesAtWorld(exampleDoc(), cloud.serviceHealth);
  const flipOf = (list: DrPlanDocument['actions']['failover']) =>
    list.find((a) => a.type === 'arc-routing-control') as {
      states: { routingControlArn: string; state: string }[];
    };
  const flip = flipOf(doc.actions.failover);
  flip.states = [
    { routingControlArn: w.out.GcpCell, state: 'On' },
    { routingControlArn: w.out.AwsCell, state: 'Off' },
  ];
  const back = flipOf(doc.actions.failback);
  back.states = [
    { routingControlArn: w.out.AwsCell, state: 'On' },
    { routingControlArn: w.out.GcpCell, state: 'Off' },
  ];
  return doc;
}

/** A plan's hook function on Google doing `action` in the world, invoked by `caller` alone. */
interface HookSpec {
  name: string;
  action: string;
  region: string;
  caller: string;
  /** More environment of the hook, e.g. `CROSSLINK_WORLD_THEN`. */
  environment?: Record<string, string>;
}

/** Google's half of a plan: its hooks (as their account), dr-signals' region, whether the workflow and dr-commanded are deployed. */
interface GoogleHalf {
  hooks: HookSpec[];
  hookAccount: string;
  signalsRegion?: string;
  workflow: boolean;
  commanded: boolean;
  /** gcp.yml's `dr-control` beside dr-signals (the operators' controls of a plan Google executes). */
  control?: boolean;
}

/** The payments plan's: the hooks in us-central1, called by crosslink-dr-commanded; AWS executes. */
const PAYMENTS_GOOGLE: GoogleHalf = {
  hooks: [
    {
      name: 'payments-fence-alloydb',
      action: 'service-fence',
      region: 'us-west1',
      caller: 'crosslink-dr-commanded',
    },
    {
      name: 'payments-promote-alloydb',
      action: 'service-promote',
      region: 'us-central1',
      caller: 'crosslink-dr-commanded',
    },
    {
      name: 'payments-scale-run-service',
      action: 'service-scale',
      region: 'us-central1',
      caller: 'crosslink-dr-commanded',
    },
  ],
  hookAccount: 'payments-hooks',
  workflow: false,
  commanded: true,
};

const hook = (cloud: LocalCloud, h: HookSpec, account: string) => ({
  name: h.name,
  source: 'functions/dr-hooks.ts',
  entryPoint: 'worldAction',
  region: h.region,
  runtime: 'nodejs24',
  serviceAccount: account,
  environment: { CROSSLINK_WORLD_ACTION: h.action, CROSSLINK_WORLD_ADMIN: cloud.admin, ...h.environment },
  trigger: { http: { invokers: [`serviceAccount:${h.caller}`] } },
});

/**
 * The hooks on AWS: Lambda functions in the executor's region (outside us-east-1) doing the world's
 * actions on AWS: the failover's fence of Aurora, and the failback's promotion and scaling.
 */
function awsHooks(cloud: LocalCloud): void {
  const runtime = lambdaRuntime(cloud.aws.edge.world, cloud.aws.accountId, AWS_REGION);
  const world = (action: string, body: Record<string, unknown>) =>
    admin(cloud, 'POST', `/world/${action}`, { name: SERVICE, cloud: 'aws', ...body });
  runtime.register({
    name: 'payments-fence-aurora',
    timeout: 30,
    handler: async () => {
      const out = await world('service-fence', {});
      return { detail: `fenced: aws ${out.role}, its writes revoked` };
    },
  });
  runtime.register({
    name: 'payments-promote-aurora',
    timeout: 30,
    handler: async () => promoteReseeding((action, body) => world(action, body), 'aws'),
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
 * The root gcp.yml's DR functions (sources relative to `at`; dr-commanded where `g` says, dr-signals
 * in `g.signalsRegion` when given), their accounts, subscriptions and topics, the probe's schedule,
 * the relay both ways, the dr-failover workflow where `g` says (calling dr-signals where it runs);
 * the plan's hooks; two taps.
 */
function drConfig(root: string, at: string, cloud: LocalCloud, g: GoogleHalf = PAYMENTS_GOOGLE): string {
  const full = parseYaml(readFileSync(join(root, 'gcp.yml'), 'utf8'));
  const names = [
    'dr-signals',
    ...(g.commanded ? ['dr-commanded'] : []),
    ...(g.control ? ['dr-control'] : []),
  ];
  const fns = full.functions
    .filter((f: { name: string }) => names.includes(f.name))
    .map((f: { name: string }) =>
      (f.name === 'dr-signals' || f.name === 'dr-control') && g.signalsRegion
        ? { ...f, region: g.signalsRegion }
        : f,
    );
  const subs = full.subscriptions.filter(
    (s: { name: string }) =>
      (s.name.startsWith('crosslink-dr-') && (g.commanded || !s.name.startsWith('crosslink-dr-commanded'))) ||
      s.name === 'crosslink-events-relay' ||
      s.name === 'crosslink-relay-dead-sub',
  );
  const workflow = full.workflows.find((w: { name: string }) => w.name === 'dr-failover');
  const signalsRegion = fns.find((f: { name: string }) => f.name === 'dr-signals').region;
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
      { id: g.hookAccount, displayName: "the service's DR hooks", roles: [] },
    ],
    functions: [
      ...fns.map((f: { source: string }) => ({ ...f, source: relative(at, join(root, f.source)) })),
      ...g.hooks.map((h) => hook(cloud, h, g.hookAccount)),
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
    ...(g.workflow && {
      workflows: [
        {
          ...workflow,
          source: relative(at, join(root, workflow.source)),
          env: { ...workflow.env, CROSSLINK_DR_EXECUTOR_REGION: signalsRegion },
        },
      ],
    }),
  });
}

export const PROMOTE_HOOK = 'payments-promote-alloydb';
export const SCALE_HOOK = 'payments-scale-run-service';

export interface DrHalvesOptions {
  /** More environment of a plan's hook (by its function name), e.g. `CROSSLINK_WORLD_THEN`. */
  hookEnvironment?: Partial<Record<typeof PROMOTE_HOOK | typeof SCALE_HOOK, Record<string, string>>>;
  /** The local cloud's options, as startDrCloud takes them (shared emulators, the Google project). */
  cloud?: Parameters<typeof startDrCloud>[4];
}

/** What a plan's world is deployed with: the world before the halves, the plan, the world after them. */
interface WorldSetup<W> {
  awsRegion: string;
  /** The local cloud's options, as startDrCloud takes them. */
  cloud?: Parameters<typeof startDrCloud>[4];
  google: GoogleHalf;
  /** The service, its traffic switch (before the halves). */
  create(cloud: LocalCloud): Promise<W>;
  plan(cloud: LocalCloud, world: W): DrPlanDocument;
  /** The AWS half's packaging beyond the plan, and the world it names. */
  packaging(world: W): { world: PaymentsWorld | null; values: Record<string, string> };
  /** After both halves are deployed (the hooks on AWS, the clients). */
  ready(cloud: LocalCloud, half: AwsHalfDeployment): Promise<void>;
}

/**
 * Deploys a plan's world and both halves with its plan, in a temporary directory named by `prefix`:
 * the AWS half packaged with the plan, then Google's half (gcp.yml's DR pieces, the hooks, the relay
 * both ways, two taps), the CLI's home, and AWS's and Google's records.
 */
async function deployHalves<W>(
  root: string,
  prefix: string,
  setup: WorldSetup<W>,
  edit: (doc: DrPlanDocument) => void,
): Promise<DeployedHalves<W>> {
  const variables: Record<string, string> = {};
  const { dir, awsDir, cloud } = await startDrCloud(root, prefix, setup.awsRegion, variables, setup.cloud);
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
    const world = await setup.create(cloud);
    // The AWS half packaged with the plan, then Google's half with the same plan and the relay both ways.
    const doc = setup.plan(cloud, world);
    edit(doc);
    const packaging = setup.packaging(world);
    const deployed = await deployDrAwsHalf(cloud, awsDir, doc, packaging.world, packaging.values);
    half = deployed.half;
    Object.assign(variables, deployed.googleVariables);
    writeFileSync(join(dir, 'gcp.yml'), drConfig(root, dir, cloud, setup.google));
    await cloud.plumbing?.reload();
    await setup.ready(cloud, half);

    // The CLI's home: the plan and the handshake naming the deployed intake.
    const home = join(dir, 'home');
    mkdirSync(join(home, '.crosslink'), { recursive: true });
    mkdirSync(join(home, 'config'));
    cpSync(join(root, 'config', 'local-identities.yaml'), join(home, 'config', 'local-identities.yaml'));
    writeFileSync(join(home, 'plan.yaml'), stringify(doc));
    // Google's identities' key files, for the ID tokens of `--as` on Google's routes.
    await cloud.gcp.auth.writeKeyFiles(join(home, '.crosslink', 'keys'));
    writeFileSync(
      join(home, '.crosslink', 'local.json'),
      JSON.stringify({ ...cloud.handshake(), intakes: { aws: half.intake, gcp: null } }),
    );

    const dynamo = new DynamoDBClient({
      region: setup.awsRegion,
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
      home,
      events,
      aws: {
        runs: new DynamoDbDrExecutorStore(dynamo, table),
        log: new DynamoDbSignalLog(dynamo, table),
        fence: new DynamoDbDrFence(dynamo, table),
      },
      fence: new FirestoreDrFence(firestore),
      gcpRuns: new FirestoreDrExecutorStore(firestore),
      act: (action, body) => admin(cloud, 'POST', `/world/${action}`, body),
      named: <T>(side: 'aws' | 'gcp', name: string) =>
        events[side].filter((e) => e.type === `crosslink.${name}.v1`) as unknown as DrEvent<T>[],
      drain,
      minute: async () => {
        await cloud.clock.advance(MINUTE);
        await settle(cloud, QUIET_MS);
        await drain();
      },
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

/** The payments service's addresses (examples/dr/payments-aws-world.yaml's failover records). */
const SIDE_IPS = { aws: '198.51.100.10', gcp: '203.0.113.10' } as const;

/** What the simulated world holds at one instant: never crosslink's records. */
export interface WorldNow {
  /** The databases that take writes: an unfenced writer in a region that is up. */
  writable: ('aws' | 'gcp')[];
  /** The sides Route 53 answers `api.payments.example.com` with now. */
  dns: ('aws' | 'gcp')[];
  /** The ARC cells, read from the cluster. */
  cells: { aws: string | undefined; gcp: string | undefined };
  /** The database's split-brain episodes so far (two writers both up, at any instant between reads). */
  splitBrains: unknown[];
  promotions: unknown[];
}

export async function worldNow(d: DeployedHalves): Promise<WorldNow> {
  const service = await d.act('service', { name: SERVICE });
  const db = service.database as Record<'aws' | 'gcp', { role: string; fenced: boolean; available: boolean }>;
  const answer = (await admin(d.cloud, 'POST', '/aws/route53/resolve', {
    name: 'api.payments.example.com',
    type: 'A',
  })) as { answers: string[] };
  return {
    writable: (['aws', 'gcp'] as const).filter(
      (c) => db[c].role === 'writer' && !db[c].fenced && db[c].available,
    ),
    dns: (['aws', 'gcp'] as const).filter((c) => answer.answers.includes(SIDE_IPS[c])),
    cells: {
      aws: await cellState(d.world, d.world.out.AwsCell),
      gcp: await cellState(d.world, d.world.out.GcpCell),
    },
    splitBrains: service.database.splitBrains,
    promotions: service.database.promotions,
  };
}

/**
 * The world read after every step a test drives: what was wrong at each read (two writable
 * databases, Route 53 answering both sides, both cells On, a split brain recorded), and how many
 * reads there were.
 */
export function worldWatch(d: DeployedHalves): {
  check(): Promise<WorldNow>;
  violations: string[];
  checks: () => number;
} {
  const violations: string[] = [];
  let checks = 0;
  return {
    violations,
    checks: () => checks,
    async check() {
      checks++;
      const now = await worldNow(d);
      const at = new Date(d.cloud.clock.now()).toISOString();
      if (now.writable.length > 1) violations.push(`${at}: two writable databases`);
      if (now.dns.length > 1) violations.push(`${at}: Route 53 answers both sides`);
      if (now.cells.aws === 'On' && now.cells.gcp === 'On') violations.push(`${at}: both cells On`);
      if (now.splitBrains.length > 0)
        violations.push(`${at}: split brain ${JSON.stringify(now.splitBrains)}`);
      return now;
    },
  };
}

/** The pages `drExecutor` logged and counted for its alarm (`DR executor page`), by reason, in order. */
export function executorPages(d: DeployedHalves): string[] {
  return lambdaRuntime(d.cloud.aws.edge.world, d.cloud.aws.accountId, AWS_REGION)
    .logs.filter((l) => l.functionName.endsWith('-drExecutor') && l.line.includes('DR executor page'))
    .map((l) => /"reason":"([a-z-]+)"/.exec(l.line)?.[1] ?? l.line);
}

/**
 * Deploys the payments service's world (its primary's cell On, its clients resolving through Route
 * 53) and both halves with the example plan changed by `edit`, in a temporary directory named by
 * `prefix`.
 */
export function deployDrHalves(
  root: string,
  prefix: string,
  edit: (doc: DrPlanDocument) => void = () => {},
  options: DrHalvesOptions = {},
): Promise<DeployedHalves> {
  const google: GoogleHalf = {
    ...PAYMENTS_GOOGLE,
    hooks: PAYMENTS_GOOGLE.hooks.map((h) => {
      const environment = options.hookEnvironment?.[h.name as typeof PROMOTE_HOOK | typeof SCALE_HOOK];
      return environment ? { ...h, environment } : h;
    }),
  };
  return deployHalves(
    root,
    prefix,
    {
      awsRegion: AWS_REGION,
      ...(options.cloud && { cloud: options.cloud }),
      google,
      create: async (cloud) => {
        await createPaymentsAtArcAddresses(cloud, { rpo: '1m' });
        const world = await deployPaymentsWorld(cloud);
        await switchCells(world, 'On', 'Off');
        return world;
      },
      plan: planDoc,
      packaging: (world) => ({
        world,
        values: { CROSSLINK_DR_ARC_ENDPOINTS: JSON.stringify(world.endpoints) },
      }),
      ready: async (cloud) => {
        awsHooks(cloud);
        await startPaymentsClients(cloud);
      },
    },
    edit,
  );
}

/** A command as a hook Lambda is invoked with (the fields the world reads). */
interface HookCommand {
  epoch: number;
  index: number;
  action: { type: string; capacity?: number };
}

/** The ledger's world beside its halves. */
export interface LedgerWorld {
  /** What Cloud DNS's name servers answer for the ledger's name now. */
  answers(): string[];
  /** The commands AWS's hook Lambdas were invoked with, in order. */
  hookCalls: { hook: string; command: HookCommand }[];
  /** Every crosslink event on AWS's bus (a rule to a queue of its own). */
  bus: BusObserver;
  /** The dr-failover workflow's executions so far. */
  executions(): { name: string; state: string; argument?: string; result?: string; error?: unknown }[];
}

const LEDGER_AWS_REGION = 'eu-central-1';
const LEDGER_SIGNALS_REGION = 'europe-west4';

/** The ledger plan's hooks on AWS, Lambda functions of the account in the AWS half's region calling the world on AWS. */
function ledgerAwsHooks(cloud: LocalCloud, calls: LedgerWorld['hookCalls']): void {
  const runtime = lambdaRuntime(cloud.aws.edge.world, cloud.aws.accountId, LEDGER_AWS_REGION);
  const hookOf = (name: string, run: (c: HookCommand) => Promise<string>) =>
    runtime.register({
      name,
      timeout: 60,
      handler: async (event: unknown) => {
        const command = event as HookCommand;
        calls.push({ hook: name, command });
        return { detail: await run(command) };
      },
    });
  const act = (action: string, body: unknown) => admin(cloud, 'POST', `/world/${action}`, body);
  const onAws = (action: string, body: Record<string, unknown>) =>
    act(action, { name: 'ledger', cloud: 'aws', ...body });
  hookOf('ledger-promote-aurora', async () => (await promoteReseeding(onAws, 'aws')).detail);
  hookOf('ledger-fence-aurora', async () => {
    const f = await onAws('service-fence', {});
    return `fenced: aws ${f.role}, its writes revoked`;
  });
  hookOf('ledger-scale-ecs', async (c) => {
    await act('service-scale', { name: 'ledger', cloud: 'aws', capacity: c.action.capacity });
    return `scaled to ${c.action.capacity}`;
  });
}

/**
 * Deploys the ledger service's world (its Cloud DNS failover policy, its clients in europe-west4
 * resolving through Cloud DNS) and both halves with the ledger plan (its probes at the world's
 * health endpoints, no approval) changed by `edit`: the AWS half in eu-central-1 (the plan's AWS
 * vantage point's region: `drSignals` probing, `drCommanded` behind `DrCommandedRule`), the plan's
 * AWS hooks (`ledger-promote-aurora`, `ledger-scale-ecs`, the failback's `ledger-fence-aurora`) as
 * Lambda functions there; gcp.yml's
 * `dr-signals` in europe-west4 (the Google vantage point's region, where the executor runs) with the
 * `dr-failover` workflow calling it and `dr-control` beside it (the operators' controls: the CLI's
 * `dr pause | resume | approve` reach it as the handshake's `drControls.gcp`, an ID token of the
 * `--as` identity from the home's key files), the relay both ways; the failover's fence of Cloud SQL
 * (`ledger-fence-cloudsql`, the world's `service-fence`) and the flip's hook
 * `ledger-drain-primary-targets` in europe-west4 (outside europe-west1) whose invokers name
 * crosslink-workflows alone, the drain taking Google's side out through the world's
 * `service-drain`; a tap on AWS's bus.
 */
export function deployLedgerHalves(
  root: string,
  prefix: string,
  edit: (doc: DrPlanDocument) => void = () => {},
): Promise<DeployedHalves<LedgerWorld>> {
  const hookCalls: LedgerWorld['hookCalls'] = [];
  let bus: BusObserver | undefined;
  return deployHalves<LedgerWorld>(
    root,
    prefix,
    {
      awsRegion: LEDGER_AWS_REGION,
      google: {
        hooks: [
          {
            name: 'ledger-fence-cloudsql',
            action: 'service-fence',
            region: LEDGER_SIGNALS_REGION,
            caller: 'crosslink-workflows',
          },
          {
            name: 'ledger-drain-primary-targets',
            action: 'service-drain',
            region: LEDGER_SIGNALS_REGION,
            caller: 'crosslink-workflows',
          },
        ],
        hookAccount: 'ledger-hooks',
        signalsRegion: LEDGER_SIGNALS_REGION,
        workflow: true,
        commanded: false,
        control: true,
      },
      create: async (cloud) => {
        await createLedgerDns(cloud);
        return {
          answers: () => ledgerAnswers(cloud),
          hookCalls,
          get bus() {
            if (!bus) throw new Error('the halves are not deployed yet');
            return bus;
          },
          executions: () => {
            const name = `projects/${cloud.gcp.project}/locations/${cloud.plumbing?.config.region}/workflows/dr-failover`;
            return cloud.plumbing?.workflow('dr-failover')?.list(name) ?? [];
          },
        };
      },
      plan: (cloud) => {
        const doc = ledgerProbesAt(ledgerDoc(), cloud.serviceHealth);
        doc.decider = { ...doc.decider, approval: 'none' };
        return doc;
      },
      packaging: () => ({ world: null, values: {} }),
      ready: async (cloud, half) => {
        ledgerAwsHooks(cloud, hookCalls);
        bus = await observeBus(cloud, 'dr-test-aws-bus', half);
        await startLedgerClients(cloud);
      },
    },
    edit,
  );
}

/** What the clients of a failover saw (the world's `clients` answer). */
interface ClientsSeen {
  transitions: { at: string; ok: boolean }[];
  failures: Record<string, number>;
  requests: number;
}

/**
 * A failover measured from its clients and checked against the plan: the time they failed against
 * the actions' time plus `beyondActionsMs` (detection, hysteresis, the record's TTL, a step of the
 * test's clock) and the plan's RTO; the writes lost at the promotion against its RPO; the client
 * errors, at most one a second of the outage. Printed under `label`.
 */
export function expectWithinObjectives(o: {
  label: string;
  clients: ClientsSeen;
  lossWindowMs: number;
  outageAt: number;
  decidedAt: string;
  actions: { startedAt: string; finishedAt: string };
  beyondActionsMs: number;
  objectives: { rto: string; rtoMs: number; rpo: string; rpoMs: number };
}): void {
  const failedAt = Date.parse(o.clients.transitions.find((t) => !t.ok)?.at as string);
  const recoveredAt = Date.parse(o.clients.transitions.at(-1)?.at as string);
  const rtoMs = recoveredAt - failedAt;
  const actionsMs = Date.parse(o.actions.finishedAt) - Date.parse(o.actions.startedAt);
  const bound = o.beyondActionsMs + actionsMs;
  const failed = Object.values(o.clients.failures).reduce((a, b) => a + b, 0);
  console.log(
    `${o.label}: RTO ${rtoMs / 1000}s (bound ${bound / 1000}s, plan ${o.objectives.rto}), outage to decision ${(Date.parse(o.decidedAt) - o.outageAt) / 1000}s, actions ${actionsMs / 1000}s, RPO ${o.lossWindowMs} ms of writes (plan ${o.objectives.rpo}), client errors ${failed} of ${o.clients.requests} (${JSON.stringify(o.clients.failures)})`,
  );
  expect(failedAt).toBeGreaterThanOrEqual(o.outageAt);
  expect(rtoMs).toBeLessThanOrEqual(bound);
  expect(rtoMs).toBeLessThanOrEqual(o.objectives.rtoMs);
  expect(o.lossWindowMs).toBeLessThanOrEqual(o.objectives.rpoMs);
  expect(failed).toBeGreaterThan(0);
  expect(failed).toBeLessThanOrEqual(Math.ceil(rtoMs / 1000) + 1);
}
