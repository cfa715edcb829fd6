/**
 * The DR signals of both clouds as deployed (docs/dr-signals.md), on a local cloud with IAM enforced
 * and a manual clock, probing the payments service world (examples/dr/payments-aws-world.yaml's
 * addresses, its Route 53 health check on the primary's API):
 *
 * - the AWS half deployed as a user deploys it once the service exists: packaged from a checkout of
 *   its own with the plan file naming the world's health endpoints (CROSSLINK_DR_PLAN_FILE), the
 *   control endpoint and the health check map, into us-west-2, the plan's AWS vantage point's
 *   region, so `drSignals` runs its probes and the external checker every minute (its schedule),
 *   as its own role;
 * - the root gcp.yml's DR pieces and the relay between the clouds: the `dr-signals` function in
 *   us-west1 as its service account through its IAM front of the Firestore and Pub/Sub emulators,
 *   the scheduler job with its OIDC caller, the relay's topic and push subscription to AWS.
 *
 * A primary-region outage (`crosslink sim region outage aws us-east-1`) is seen by the three vantage
 * points; both sides' copies hold every line once; `dr export` of both, merged, replays through
 * `dr evaluate` to exactly one failover. The probes' own networks failing are recorded as
 * `vantage-down` and decide nothing. A relay partition: each side keeps recording its own lines,
 * and `dr status` of each copy shows the other side's vantage points gone stale and its gap.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { Firestore } from '@google-cloud/firestore';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml, stringify } from 'yaml';
import type { Observation } from '#core/dr/observations.ts';
import type { DrStatus } from '#core/dr/status.ts';
import { buildEvent } from '#core/envelope.ts';
import { loadGcpConfig } from '#deployment/gcp-config.ts';
import { toPubSubMessage } from '#gcp/envelope.ts';
import { FirestoreSignalLog } from '#gcp/signal-log.ts';
import { lambdaRuntime } from '#local/aws/services/lambda.ts';
import type { AwsHalfDeployment } from '#local/aws-half.ts';
import { matchesLogFilter, parseLogFilter } from '#local/gcp/log-filter.ts';
import type { LocalCloud } from '#local/index.ts';
import { type CliRun, cliAgainst } from '../support/cli.ts';
import {
  deployDrAwsHalf,
  drSignalsPieces,
  PACKAGING_BUDGET_MS,
  pulled,
  settle as settleCloud,
  startDrCloud,
} from '../support/dr-deployed.ts';
import { createPaymentsAtArcAddresses, deployPaymentsWorld, probesAtWorld } from '../support/dr-world.ts';
import { hubIdentities } from '../support/local-cloud.ts';
import { eventually } from '../support/timers.ts';
import { exampleDoc } from '../unit/dr/helpers.ts';

const ROOT = resolve(import.meta.dirname, '../..');
const TAP = 'dr-test-tap';
const SERVICE = 'payments-api';
/** The AWS half's region: the plan's AWS vantage point's (aws-us-west-2), not the primary's. */
const AWS_REGION = 'us-west-2';
const PROBES = ['aws-us-west-2', 'gcp-us-west1'];
const VANTAGES = ['aws-us-west-2', 'gcp-us-west1', 'route53-checkers'];
/** Wall ms with nothing in flight after which a minute's runs and their relaying are taken as done. */
const QUIET_MS = 400;
let cloud: LocalCloud;
let half: AwsHalfDeployment | undefined;
let dir: string;
/** The plan as deployed on both sides (its probes at the world's health endpoints). */
let planFile: string;
let log: FirestoreSignalLog;
let firestore: Firestore;
let home: ReturnType<typeof cliAgainst>;
/** Scheduled minutes run since the plan was deployed on Google (each one a run of its probe). */
let googleRuns = 0;
/** What the deploy's environment gives gcp.yml's `${env:NAME}`. */
const variables: Record<string, string> = {};

/**
 * The root gcp.yml's DR pieces and the relay's, their sources relative to `at`: the DR function,
 * its accounts, its job, topics and subscriptions, its metric and alert; the AWS relay's right to
 * publish on crosslink-peer-events and the push of crosslink-events to the AWS relay route; a pull
 * subscription on crosslink-events to see what the function publishes.
 */
function drConfig(at: string): string {
  const full = parseYaml(readFileSync(join(ROOT, 'gcp.yml'), 'utf8'));
  const { fn, subs, topics, accounts } = drSignalsPieces(
    full,
    (name) =>
      name.startsWith('crosslink-dr-signals') ||
      name === 'crosslink-events-relay' ||
      name === 'crosslink-relay-dead-sub',
    { awsPublishers: true },
  );
  accounts.add('crosslink-relay');
  return stringify({
    version: 1,
    region: full.region,
    serviceAccounts: full.serviceAccounts.filter((a: { id: string }) => accounts.has(a.id)),
    functions: [{ ...fn, source: relative(at, join(ROOT, fn.source)) }],
    topics,
    subscriptions: [...subs, { name: TAP, topic: 'crosslink-events' }],
    schedulerJobs: full.schedulerJobs.filter((j: { name: string }) => j.name === 'crosslink-dr-probe'),
    logMetrics: full.logMetrics.filter((m: { name: string }) => m.name === 'crosslink_dr_signals_recorded'),
    alertPolicies: full.alertPolicies.filter((a: { name: string }) => a.name === 'crosslink-dr-probe-silent'),
  });
}

/** Messages on the tap so far, acknowledged, as their CloudEvents. */
const tapped = () => pulled<{ type: string; data: Observation; crosslinkorigin: string }>(cloud, TAP);

/** A minute's scheduled runs and the relaying of their lines done (../support/dr-deployed.ts). */
const settle = () => settleCloud(cloud, QUIET_MS);

/** Advances the clock a minute at a time, `n` times, each minute's runs done before the next. */
async function minutes(n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    await cloud.clock.advance(60_000);
    googleRuns++;
    await settle();
  }
}

const iso = (ms: number) => new Date(ms).toISOString();

/** `crosslink ...` that must exit 0 with nothing on stderr; its stdout. */
async function ok(...args: string[]): Promise<string> {
  const run: CliRun = await home.cli(...args);
  expect([run.code, run.err], args.join(' ')).toEqual([0, '']);
  return run.out;
}

/** `dr export` of one side's copy since `since`, as observations. */
async function exported(side: 'aws' | 'gcp', since: number): Promise<Observation[]> {
  const out = await ok('dr', 'export', planFile, '--side', side, '--since', iso(since));
  return out.split('\n').map((l) => JSON.parse(l) as Observation);
}

/** Lines as a JSON-lines file in the CLI's home; its path. */
function signalsFile(name: string, lines: readonly Observation[]): string {
  const file = join(home.home, name);
  writeFileSync(file, `${lines.map((l) => JSON.stringify(l)).join('\n')}\n`);
  return file;
}

/** Both copies' lines, each once, in time order (then vantage point and signal): the merged log. */
function merged(a: readonly Observation[], b: readonly Observation[]): Observation[] {
  const key = (o: Observation) => `${o.time}#${o.vantage}#${o.signal}`;
  const all = new Map([...a, ...b].map((o) => [key(o), o]));
  return [...all.values()].sort(
    (x, y) => Date.parse(x.time) - Date.parse(y.time) || (key(x) < key(y) ? -1 : 1),
  );
}

const lineKey = (o: Observation) => [o.time, o.vantage, o.signal, o.status, o.reason ?? ''].join(' ');

beforeAll(async () => {
  let awsDir: string;
  ({ dir, awsDir, cloud } = await startDrCloud(ROOT, 'crosslink-dr-signals-', AWS_REGION, variables));
  // The service exists first: its two sides, the Route 53 health check on the primary's API, ARC.
  await createPaymentsAtArcAddresses(cloud);
  const world = await deployPaymentsWorld(cloud);
  // The plan names the world's health endpoints; the AWS half is packaged with it from its own
  // checkout and deployed in us-west-2, as its deployer would once the service's URLs are known.
  const deployed = await deployDrAwsHalf(
    cloud,
    awsDir,
    probesAtWorld(exampleDoc(), cloud.serviceHealth),
    world,
  );
  half = deployed.half;
  planFile = deployed.planFile;
  // Google's half with the same plan and the relay to and from the AWS half, from the AWS stack's
  // relay route, relay role and sealing key: the function starts and its schedule appears.
  Object.assign(variables, deployed.googleVariables);
  writeFileSync(join(dir, 'gcp.yml'), drConfig(dir));
  await cloud.plumbing?.reload();
  process.env.METADATA_SERVER_DETECTION = 'none';
  process.env.FIRESTORE_EMULATOR_HOST = cloud.emulators?.firestoreHost as string;
  firestore = new Firestore({ projectId: cloud.gcp.project });
  log = new FirestoreSignalLog(firestore);
  // The CLI signs as the local identities of this cloud's project (`dr export` as admin).
  home = cliAgainst(cloud, 'crosslink-dr-signals-cli-');
  mkdirSync(join(home.home, 'config'));
  writeFileSync(join(home.home, 'config', 'local-identities.yaml'), hubIdentities(cloud.gcp.project));
}, PACKAGING_BUDGET_MS + 60_000);

afterAll(async () => {
  home?.remove();
  await firestore?.terminate();
  await half?.stop();
  await cloud?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('the DR signals of both clouds deployed', () => {
  it("runs each probe in its vantage point's region, on its schedule", () => {
    const hosted = cloud.plumbing?.functions.get('dr-signals');
    expect(hosted?.url).toBe(
      `${cloud.gcp.endpoint}/us-west1-${cloud.gcp.project}.cloudfunctions.net/dr-signals`,
    );
    expect(cloud.plumbing?.config.schedulerJobs.map((j) => j.name)).toEqual(['crosslink-dr-probe']);
    const runtime = lambdaRuntime(cloud.aws.edge.world, cloud.aws.accountId, AWS_REGION);
    const fn = [...runtime.functions.values()].find((f) => f.name === 'crosslink-dev-drSignals');
    expect(fn?.arn).toMatch(/^arn:aws:lambda:us-west-2:/);
    expect(fn?.role).toMatch(/:role\//);
    // Its schedule exists here, in the AWS vantage point's region, with the alarm on its silence.
    expect(Object.keys(half?.deployment.stack.physicalIds ?? {})).toEqual(
      expect.arrayContaining([
        'DrProbeSchedule',
        'DrSignalsRule',
        'DrProbeSilentAlarm',
        'DrPeerSignalsStaleAlarm',
      ]),
    );
  });

  it('sees an outage of the primary region from the three vantage points; both copies, merged, replay to exactly one failover', async () => {
    // Prepare
    await tapped();
    const from = cloud.clock.now();
    // Act: two healthy minutes, us-east-1 out for six, then back
    await minutes(2);
    expect(await ok('sim', 'region', 'outage', 'aws', 'us-east-1')).toMatch(/us-east-1/);
    await minutes(6);
    await ok('sim', 'region', 'outage', 'aws', 'us-east-1', '--off');
    await minutes(1);
    const aws = await exported('aws', from);
    const google = await exported('gcp', from);
    const incident = merged(aws, google);
    const file = signalsFile('incident.jsonl', incident);
    const decisions = JSON.parse(
      await ok('dr', 'evaluate', '--json', '--plan', planFile, '--signals', file),
    ) as {
      decision: string;
      reasons: string[];
    }[];
    // Assess: each vantage point saw the primary fail
    const primary = (vantage: string, signal: string) =>
      incident.filter((o) => o.vantage === vantage && o.signal === signal).map((o) => o.status);
    // The probes: unhealthy at the plan's third failure in a row, healthy again once it is back.
    const h = 'healthy';
    const u = 'unhealthy';
    for (const vantage of PROBES)
      expect(primary(vantage, 'api-availability'), vantage).toEqual([h, h, h, h, u, u, u, u, h]);
    // The external checker: Route 53's checkers agreeing on the failure, read from CloudWatch.
    const checker = primary('route53-checkers', 'api-health-check');
    expect(checker.indexOf(h)).toBeGreaterThanOrEqual(0);
    expect(checker.indexOf(u)).toBeGreaterThan(checker.indexOf(h));
    // Both copies hold the same lines, each once: the relay carried every line to the other side.
    expect(aws.map(lineKey)).toEqual(google.map(lineKey));
    expect(new Set(aws.map(lineKey)).size).toBe(aws.length);
    expect(new Set(incident.map((o) => o.vantage))).toEqual(new Set(VANTAGES));
    // Google's lines were published once each as DrSignalObserved.
    const published = (await tapped()).filter((e) => e.type === 'crosslink.DrSignalObserved.v1');
    expect(published.every((e) => e.crosslinkorigin === 'gcp')).toBe(true);
    expect(published.map((e) => lineKey(e.data))).toEqual(
      google.filter((o) => o.vantage === 'gcp-us-west1').map(lineKey),
    );
    // Replayed: exactly one failover.
    expect(decisions.filter((d) => d.decision !== 'hold').map((d) => d.decision)).toEqual(['failover']);
  }, 180_000);

  it('ran the AWS probe and the external checker as its own role, IAM enforced: each call allowed by its grants', () => {
    const runtime = lambdaRuntime(cloud.aws.edge.world, cloud.aws.accountId, AWS_REGION);
    const role = [...runtime.functions.values()].find((f) => f.name === 'crosslink-dev-drSignals')?.role;
    const made = (cloud.iam?.decisions() ?? []).filter((d) => d.principal === role);
    // HealthCheckStatus from CloudWatch us-east-1, its lines and streaks in the table, its events on
    // the bus, and its log stream, which Lambda writes with the function's role; as the decision
    // hook (docs/dr-executor.md), the signal log read back (Query) and the outage's failover handed
    // to the dr-failover state machine (StartExecution).
    expect(made.every((d) => d.decision === 'Allow')).toBe(true);
    expect(new Set(made.map((d) => d.action))).toEqual(
      new Set([
        'cloudwatch:GetMetricData',
        'dynamodb:GetItem',
        'dynamodb:PutItem',
        'dynamodb:Query',
        'states:StartExecution',
        'events:PutEvents',
        'logs:CreateLogStream',
        'logs:PutLogEvents',
      ]),
    );
    expect(made.find((d) => d.action === 'cloudwatch:GetMetricData')?.count).toBeGreaterThanOrEqual(9);
  });

  it("records the probes' own networks failing as vantage-down, which decides nothing", async () => {
    // Prepare
    const from = cloud.clock.now() + 1;
    // Act: both probes' own networks down for four minutes while the service serves
    await ok('sim', 'vantage', 'down', 'aws-us-west-2');
    await ok('sim', 'vantage', 'down', 'gcp-us-west1');
    await minutes(4);
    await ok('sim', 'vantage', 'up', 'aws-us-west-2');
    await ok('sim', 'vantage', 'up', 'gcp-us-west1');
    const aws = await exported('aws', from);
    const file = signalsFile('blind.jsonl', aws);
    const decisions = JSON.parse(
      await ok('dr', 'evaluate', '--json', '--plan', planFile, '--signals', file),
    ) as {
      decision: string;
    }[];
    const status = JSON.parse(await ok('dr', 'status', planFile, '--signals', file, '--json')) as DrStatus;
    // Assess
    const probed = aws.filter((o) => PROBES.includes(o.vantage));
    expect(new Set(probed.map((o) => o.vantage))).toEqual(new Set(PROBES));
    expect(probed.every((o) => o.status === 'unknown' && o.reason === 'vantage-down')).toBe(true);
    expect(aws.filter((o) => o.vantage === 'route53-checkers').every((o) => o.status === 'healthy')).toBe(
      true,
    );
    expect(decisions.length).toBeGreaterThan(0);
    expect(decisions.every((d) => d.decision === 'hold')).toBe(true);
    expect(status.active).toBe('primary');
    expect(Object.fromEntries(status.vantagePoints.map((v) => [v.vantage, v.freshness]))).toEqual({
      'aws-us-west-2': 'blind',
      'gcp-us-west1': 'blind',
      'route53-checkers': 'fresh',
    });
  }, 120_000);

  it("records AWS's line once when the relay's publication on crosslink-peer-events is pushed twice", async () => {
    // Prepare: the AWS vantage point's line, published as the relay publishes it, and again (a redelivery)
    await settle();
    const at = new Date(cloud.clock.now() + 1).toISOString();
    const line = {
      time: at,
      service: SERVICE,
      vantage: 'aws-us-west-2',
      signal: 'api-availability',
      status: 'unhealthy',
    };
    const event = buildEvent({
      name: 'DrSignalObserved',
      origin: { cloud: 'aws', accountId: cloud.aws.accountId, region: AWS_REGION },
      subject: `${SERVICE}/aws-us-west-2/api-availability`,
      data: line,
      clock: cloud.clock,
    });
    const message = toPubSubMessage(event);
    const hosted = cloud.plumbing?.functions.get('dr-signals');
    const before = hosted?.output.length ?? 0;
    const publish = () =>
      fetch(
        `http://${cloud.emulators?.pubsubHost}/v1/projects/${cloud.gcp.project}/topics/crosslink-peer-events:publish`,
        {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({
            messages: [
              { data: Buffer.from(message.data).toString('base64'), attributes: message.attributes },
            ],
          }),
        },
      );
    // Act
    expect((await publish()).status).toBe(200);
    expect((await publish()).status).toBe(200);
    // Assess: both deliveries handled (at once, so in either order): one recorded it, the other found it there.
    const outcomes = await eventually(() => {
      const seen = (hosted?.output ?? [])
        .slice(before)
        .filter((l) => l.includes('"function":"drSignals"') && l.includes('"side":"aws"'))
        .map((l) => (JSON.parse(l) as { result: { outcome: { outcome: string } } }).result.outcome.outcome);
      return seen.length >= 2 ? seen : undefined;
    }, 30_000);
    expect([...outcomes].sort()).toEqual(['ignored', 'recorded']);
    expect((await log.since(SERVICE, Date.parse(at))).filter((o) => o.vantage === 'aws-us-west-2')).toEqual([
      line,
    ]);
  }, 60_000);

  it("keeps recording each side's own lines through a relay partition, the other side's gap shown by dr status", async () => {
    // Prepare: a healthy minute, so each copy's last line from the other side is just before the cut
    await minutes(1);
    const from = cloud.clock.now();
    // Act: the relay cut for seven minutes
    await ok('sim', 'relay', 'partition');
    await minutes(7);
    const at = iso(cloud.clock.now());
    const aws = await exported('aws', from);
    const google = await exported('gcp', from);
    const statusOf = async (lines: Observation[], name: string) =>
      JSON.parse(
        await ok('dr', 'status', planFile, '--signals', signalsFile(name, lines), '--at', at, '--json'),
      ) as DrStatus & { gaps: { side: string; from?: string; to?: string; ms?: number }[] };
    const onAws = await statusOf(aws, 'partition-aws.jsonl');
    const onGoogle = await statusOf(google, 'partition-gcp.jsonl');
    await ok('sim', 'relay', 'partition', '--off');
    // Assess: each side recorded its own lines every minute
    const minutesOf = (lines: Observation[], vantage: string) =>
      new Set(lines.filter((o) => o.vantage === vantage && Date.parse(o.time) > from).map((o) => o.time))
        .size;
    expect(minutesOf(aws, 'aws-us-west-2')).toBe(7);
    expect(minutesOf(aws, 'route53-checkers')).toBe(7);
    expect(minutesOf(google, 'gcp-us-west1')).toBe(7);
    // ... and none of the other's made during the cut
    expect(minutesOf(aws, 'gcp-us-west1')).toBe(0);
    expect(minutesOf(google, 'aws-us-west-2')).toBe(0);
    const freshness = (s: DrStatus) =>
      Object.fromEntries(s.vantagePoints.map((v) => [v.vantage, v.freshness]));
    expect(freshness(onAws)).toEqual({
      'aws-us-west-2': 'fresh',
      'gcp-us-west1': 'stale',
      'route53-checkers': 'fresh',
    });
    expect(freshness(onGoogle)).toEqual({
      'aws-us-west-2': 'stale',
      'gcp-us-west1': 'fresh',
      'route53-checkers': 'stale',
    });
    // The gap: the other side silent since its last line before the cut; no gap on its own side.
    const gaps = (st: typeof onAws) =>
      st.gaps.map((g) => [g.side, g.from && Date.parse(g.from), g.to, g.ms]).sort();
    const cut = [from, undefined, cloud.clock.now() - from];
    expect(gaps(onAws)).toEqual([['gcp', ...cut]]);
    expect(gaps(onGoogle)).toEqual([
      ['aws', ...cut],
      ['external', ...cut],
    ]);
  }, 180_000);

  it('logs each Google run as the entry the staleness alert counts', () => {
    const hosted = cloud.plumbing?.functions.get('dr-signals');
    const config = loadGcpConfig(join(ROOT, 'gcp.yml'));
    const metric = config.logMetrics.find((m) => m.name === 'crosslink_dr_signals_recorded');
    const entries = (hosted?.output ?? [])
      .filter((l) => l.startsWith('{'))
      .map((l) => {
        const { severity, ...jsonPayload } = JSON.parse(l) as Record<string, unknown>;
        return { severity, jsonPayload, resource: { type: 'cloud_run_revision' } };
      });
    const counted = entries.filter((e) => matchesLogFilter(parseLogFilter(metric?.filter ?? ''), e));
    // One per scheduled minute with the plan deployed, each naming the service.
    expect(counted).toHaveLength(googleRuns);
    expect(counted.every((e) => e.jsonPayload.drService === SERVICE)).toBe(true);
  });
});
