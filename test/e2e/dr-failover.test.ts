/**
 * The payments plan's failover through both deployed halves (docs/dr-executor.md "The failover end
 * to end"), on a local cloud with IAM enforced and a manual clock:
 *
 * - the AWS half packaged from a checkout of its own with the plan (its probes at the world's health
 *   endpoints, its flip naming the world's ARC cells) and the cluster's endpoints, deployed in
 *   us-west-2: `drSignals` probing every minute and deciding, the `crosslink-dr-failover` state
 *   machine and `drExecutor` carrying the run out, each as its own role;
 * - gcp.yml's DR functions with the same plan: `dr-signals` (the Google vantage point) and
 *   `dr-commanded` (Google's commanded side) in us-west1, each as its account, the relay both ways;
 * - the plan's hooks (`payments-promote-alloydb`, `payments-scale-run-service`) as Cloud Functions
 *   in us-central1 whose invokers name crosslink-dr-commanded only, calling the world's
 *   `service-promote` and `service-scale` (test/fixtures/gcp/functions/dr-hooks.ts).
 *
 * An outage of us-east-1 leads to exactly one failover: one epoch, Google's promotion and scaling
 * commanded across the relay and run through the hooks, then the ARC flip, `DrFailedOver`, and the
 * clients served by the standby. Measured: the time the clients failed and their errors against the
 * plan's RTO, the writes lost at the promotion against its RPO. Google's commanded side used only
 * its fence's and its replies' permissions. Then a command redelivered gets its recorded result and
 * runs nothing.
 */
import { cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml, stringify } from 'yaml';
import type { DrPlanDocument } from '#core/dr/plan.ts';
import type { CloudEvent } from '#core/envelope.ts';
import type { DrActionFinishedData, DrActionStartedData } from '#core/events/catalog.ts';
import { toPubSubMessage } from '#gcp/envelope.ts';
import type { AwsHalfDeployment } from '#local/aws-half.ts';
import type { LocalCloud } from '#local/index.ts';
import {
  deployDrAwsHalf,
  PACKAGING_BUDGET_MS,
  pulled,
  settle,
  startDrCloud,
} from '../support/dr-deployed.ts';
import {
  createPaymentsAtArcAddresses,
  deployPaymentsWorld,
  type PaymentsWorld,
  probesAtWorld,
  startPaymentsClients,
  switchCells,
} from '../support/dr-world.ts';
import { admin } from '../support/local-cloud.ts';
import { eventually } from '../support/timers.ts';
import { exampleDoc } from '../unit/dr/helpers.ts';

const ROOT = resolve(import.meta.dirname, '../..');
const SERVICE = 'payments-api';
const AWS_REGION = 'us-west-2';
/** This side's events (Google's DrActionFinished) and the peer's (AWS's, as the relay published them). */
const OWN_TAP = 'dr-test-own';
const PEER_TAP = 'dr-test-peer';
const QUIET_MS = 400;
const MINUTE = 60_000;
const RTO_MS = 15 * MINUTE;
const RPO_MS = MINUTE;
const TTL_MS = MINUTE;

let cloud: LocalCloud;
let half: AwsHalfDeployment | undefined;
let dir: string;
let world: PaymentsWorld;
const variables: Record<string, string> = {};
const act = (action: string, body: unknown) => admin(cloud, 'POST', `/world/${action}`, body);

/** The plan: its probes at the world's health endpoints, its flip naming the world's cells. */
function planDoc(w: PaymentsWorld): DrPlanDocument {
  const doc = probesAtWorld(exampleDoc(), cloud.serviceHealth);
  const flip = doc.actions.failover[2] as { states: { routingControlArn: string; state: string }[] };
  flip.states = [
    { routingControlArn: w.out.GcpCell, state: 'On' },
    { routingControlArn: w.out.AwsCell, state: 'Off' },
  ];
  return doc;
}

/** A hook of the plan in us-central1, invoked by crosslink-dr-commanded alone, doing `action` in the world. */
const hook = (name: string, action: string) => ({
  name,
  source: 'functions/dr-hooks.ts',
  entryPoint: 'worldAction',
  region: 'us-central1',
  runtime: 'nodejs24',
  serviceAccount: 'payments-hooks',
  environment: { CROSSLINK_WORLD_ACTION: action, CROSSLINK_WORLD_ADMIN: cloud.admin },
  trigger: { http: { invokers: ['serviceAccount:crosslink-dr-commanded'] } },
});

/**
 * The root gcp.yml's DR functions (sources relative to `at`), their accounts, subscriptions and
 * topics, the probe's schedule, the relay both ways; the plan's hooks; two taps.
 */
function drConfig(at: string): string {
  const full = parseYaml(readFileSync(join(ROOT, 'gcp.yml'), 'utf8'));
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
      ...fns.map((f: { source: string }) => ({ ...f, source: relative(at, join(ROOT, f.source)) })),
      hook('payments-promote-alloydb', 'service-promote'),
      hook('payments-scale-run-service', 'service-scale'),
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

type Event<T> = CloudEvent & { data: T };
/** Every Dr* event each side published, in the order the taps gave them. */
const events = { aws: [] as Event<Record<string, unknown>>[], gcp: [] as Event<Record<string, unknown>>[] };

async function drain(): Promise<void> {
  const dr = (e: CloudEvent) =>
    e.type.startsWith('crosslink.Dr') && e.type !== 'crosslink.DrSignalObserved.v1';
  events.aws.push(...(await pulled<Event<Record<string, unknown>>>(cloud, PEER_TAP)).filter(dr));
  events.gcp.push(...(await pulled<Event<Record<string, unknown>>>(cloud, OWN_TAP)).filter(dr));
}

const named = <T>(side: 'aws' | 'gcp', name: string) =>
  events[side].filter((e) => e.type === `crosslink.${name}.v1`) as unknown as Event<T>[];

/** Advances the clock a minute, its runs and what they relayed done. */
async function minute(): Promise<void> {
  await cloud.clock.advance(MINUTE);
  await settle(cloud, QUIET_MS);
  await drain();
}

beforeAll(async () => {
  let awsDir: string;
  ({ dir, awsDir, cloud } = await startDrCloud(ROOT, 'crosslink-dr-failover-', AWS_REGION, variables));
  // The plan's hooks, packaged from beside gcp.yml.
  mkdirSync(join(dir, 'functions'));
  cpSync(join(ROOT, 'test/fixtures/gcp/functions/dr-hooks.ts'), join(dir, 'functions', 'dr-hooks.ts'));
  // The service first: its two sides, the primary's cell On, its clients resolving through Route 53.
  await createPaymentsAtArcAddresses(cloud, { rpo: '1m' });
  world = await deployPaymentsWorld(cloud);
  await switchCells(world, 'On', 'Off');
  // The plan names the world's health endpoints and cells; the AWS half is packaged with it and the
  // cluster's endpoints, then Google's half with the same plan and the relay both ways.
  const deployed = await deployDrAwsHalf(cloud, awsDir, planDoc(world), world, {
    CROSSLINK_DR_ARC_ENDPOINTS: JSON.stringify(world.endpoints),
  });
  half = deployed.half;
  Object.assign(variables, deployed.googleVariables);
  writeFileSync(join(dir, 'gcp.yml'), drConfig(dir));
  await cloud.plumbing?.reload();
  await startPaymentsClients(cloud);
}, PACKAGING_BUDGET_MS + 60_000);

afterAll(async () => {
  await half?.stop();
  await cloud?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('a primary-region outage failed over by the deployed halves', () => {
  it('serves from the standby within the RTO: one failover, one epoch, the promotion and the scaling on Google through the hooks, then the ARC flip', async () => {
    // Prepare: three healthy minutes
    for (let i = 0; i < 3; i++) await minute();
    expect((await act('clients', { service: SERVICE })).failures).toEqual({});

    // Act: us-east-1 out; a minute at a time until the clients are served again, at most the RTO
    const outageAt = cloud.clock.now();
    await act('region-outage', { cloud: 'aws', region: 'us-east-1', on: true });
    let served = false;
    while (!served && cloud.clock.now() - outageAt < RTO_MS) {
      await minute();
      const c = await act('clients', { service: SERVICE });
      served = (c.bySide.gcp ?? 0) > 0 && c.transitions.at(-1)?.ok === true;
    }
    const clients = await act('clients', { service: SERVICE });
    const database = (await act('service', { name: SERVICE })).database;

    // Assess: exactly one failover decided, under one epoch
    expect(served).toBe(true);
    const moves = named<{ decision: string; epoch: number }>('aws', 'DrDecisionMade').filter(
      (e) => e.data.decision !== 'hold',
    );
    console.log(
      `DrDecisionMade moves published: ${moves.map((e) => `${e.data.decision} epoch ${e.data.epoch} (${e.id})`).join(', ')}`,
    );
    // A decision may be published more than once (two invocations of drSignals racing hand it on
    // once, each may publish it); it is one move when it is one epoch.
    expect([...new Set(moves.map((e) => `${e.data.decision} ${e.data.epoch}`))]).toEqual([
      `failover ${moves[0]!.data.epoch}`,
    ]);
    const epoch = moves[0]!.data.epoch;
    // The actions in order: two commanded across the relay, then the flip on AWS
    const started = named<DrActionStartedData>('aws', 'DrActionStarted');
    expect(started.map((e) => [e.data.epoch, e.data.index, e.data.action.type, e.data.via])).toEqual([
      [epoch, 0, 'promote-replica', 'relay'],
      [epoch, 1, 'scale-standby', 'relay'],
      [epoch, 2, 'arc-routing-control', 'local'],
    ]);
    // Google ran each command once, through its hook, and answered
    const answered = named<DrActionFinishedData>('gcp', 'DrActionFinished');
    expect(answered.map((e) => [e.data.epoch, e.data.index, e.data.outcome])).toEqual([
      [epoch, 0, 'succeeded'],
      [epoch, 1, 'succeeded'],
    ]);
    expect(answered[0]!.data.detail).toMatch(/^promoted: lost \d+ writes over \d+ ms$/);
    expect(database.promotions).toHaveLength(1);
    expect(database.gcp.role).toBe('writer');
    expect((await act('service', { name: SERVICE })).gcp.desired).toBe(12);
    // The executor took each result under the epoch, the flip's its own
    const taken = named<DrActionFinishedData>('aws', 'DrActionFinished');
    expect(taken.map((e) => [e.data.epoch, e.data.index, e.data.outcome])).toEqual([
      [epoch, 0, 'succeeded'],
      [epoch, 1, 'succeeded'],
      [epoch, 2, 'succeeded'],
    ]);
    const failedOver = named<{ from: unknown; to: unknown }>('aws', 'DrFailedOver');
    expect(failedOver).toHaveLength(1);

    // Measured: the time the clients failed against detection (3 one-minute probes) + hysteresis +
    // the actions + the TTL + one step of this test's clock, and the plan's RTO; the writes lost
    // at the promotion against the RPO; the client errors, at most one a second of the outage.
    const transitions = clients.transitions as { at: string; ok: boolean }[];
    const failedAt = Date.parse(transitions.find((t) => !t.ok)!.at);
    const recoveredAt = Date.parse(transitions.at(-1)!.at);
    const rtoMs = recoveredAt - failedAt;
    const actionsMs = Date.parse(failedOver[0]!.time) - Date.parse(started[0]!.time);
    const bound = 3 * MINUTE + MINUTE + actionsMs + TTL_MS + MINUTE;
    const failed = Object.values(clients.failures as Record<string, number>).reduce((a, b) => a + b, 0);
    const lossWindowMs = database.promotions[0].lossWindowMs as number;
    console.log(
      `DR failover through the deployed halves: RTO ${rtoMs / 1000}s (bound ${bound / 1000}s, plan 15m), outage to decision ${(Date.parse(moves[0]!.time) - outageAt) / 1000}s, actions ${actionsMs / 1000}s, RPO ${lossWindowMs} ms of writes (plan 1m), client errors ${failed} of ${clients.requests} (${JSON.stringify(clients.failures)})`,
    );
    expect(failedAt).toBeGreaterThanOrEqual(outageAt);
    expect(rtoMs).toBeLessThanOrEqual(bound);
    expect(rtoMs).toBeLessThanOrEqual(RTO_MS);
    expect(lossWindowMs).toBeLessThanOrEqual(RPO_MS);
    expect(failed).toBeGreaterThan(0);
    expect(failed).toBeLessThanOrEqual(Math.ceil(rtoMs / 1000) + 1);
  }, 240_000);

  it("ran Google's commanded side as its own account, IAM enforced: only the fence and its replies", () => {
    const account = `serviceAccount:crosslink-dr-commanded@${cloud.gcp.project}.iam.gserviceaccount.com`;
    const used = [...(cloud.gcp.iam.used().get(account)?.keys() ?? [])].sort();
    // The fence's transaction in Firestore and DrActionFinished on crosslink-events; the hooks'
    // invoker policies name the account, which needs no permission of its own to call them.
    expect(used).toEqual(
      expect.arrayContaining([
        'datastore.entities.get',
        'datastore.entities.update',
        'pubsub.topics.publish',
      ]),
    );
    expect(used.every((p) => p.startsWith('datastore.') || p === 'pubsub.topics.publish')).toBe(true);
    expect(cloud.gcp.iam.refused().filter((r) => r.principal === account)).toEqual([]);
  });

  it('answers a command redelivered with its recorded result, running nothing again', async () => {
    // Prepare: the promotion's command as AWS published it, published again as the relay would
    const command = named<DrActionStartedData>('aws', 'DrActionStarted')[0]!;
    const first = named<DrActionFinishedData>('gcp', 'DrActionFinished')[0]!;
    const message = toPubSubMessage(command);
    const hosted = cloud.plumbing?.functions.get('dr-commanded');
    const before = hosted?.output.length ?? 0;

    // Act
    const res = await fetch(
      `http://${cloud.emulators?.pubsubHost}/v1/projects/${cloud.gcp.project}/topics/crosslink-peer-events:publish`,
      {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          messages: [{ data: Buffer.from(message.data).toString('base64'), attributes: message.attributes }],
        }),
      },
    );
    expect(res.status).toBe(200);
    const outcome = await eventually(() => {
      const outcomes = (hosted?.output ?? [])
        .slice(before)
        .filter((l) => l.includes('"function":"drCommanded"') && l.includes('"result"'))
        .map((l) => (JSON.parse(l) as { result: { outcome: string } }).result.outcome)
        .filter((o) => o !== 'ignored');
      return outcomes[0];
    }, 30_000);
    await settle(cloud, QUIET_MS);
    await drain();

    // Assess: the recorded result sent again, the promotion not run again
    expect(outcome).toBe('duplicate');
    const again = named<DrActionFinishedData>('gcp', 'DrActionFinished').slice(2);
    expect(again.map((e) => e.data)).toEqual([first.data]);
    expect((await act('service', { name: SERVICE })).database.promotions).toHaveLength(1);
  }, 60_000);
});
