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
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DrActionFinishedData, DrActionStartedData } from '#core/events/catalog.ts';
import { toPubSubMessage } from '#gcp/envelope.ts';
import type { LocalCloud } from '#local/index.ts';
import { PACKAGING_BUDGET_MS, settle } from '../support/dr-deployed.ts';
import {
  type DeployedHalves,
  deployDrHalves,
  expectWithinObjectives,
  MINUTE,
  SERVICE,
} from '../support/dr-halves.ts';
import { eventually } from '../support/timers.ts';

const ROOT = resolve(import.meta.dirname, '../..');
const QUIET_MS = 400;
const RTO_MS = 15 * MINUTE;
const RPO_MS = MINUTE;
const TTL_MS = MINUTE;

let halves: DeployedHalves | undefined;
let cloud: LocalCloud;
const act = (action: string, body: unknown) => (halves as DeployedHalves).act(action, body);
const named = <T>(side: 'aws' | 'gcp', name: string) => (halves as DeployedHalves).named<T>(side, name);
const minute = () => (halves as DeployedHalves).minute();

beforeAll(async () => {
  halves = await deployDrHalves(ROOT, 'crosslink-dr-failover-');
  cloud = halves.cloud;
}, PACKAGING_BUDGET_MS + 60_000);

afterAll(async () => {
  await halves?.stop();
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
    // The actions in order: Aurora's fence (by drCommanded on AWS, outside us-east-1), two
    // commanded across the relay, then the flip on AWS
    const started = named<DrActionStartedData>('aws', 'DrActionStarted');
    expect(started.map((e) => [e.data.epoch, e.data.index, e.data.action.type, e.data.via])).toEqual([
      [epoch, 0, 'fence-writer', 'commanded'],
      [epoch, 1, 'promote-replica', 'relay'],
      [epoch, 2, 'scale-standby', 'relay'],
      [epoch, 3, 'arc-routing-control', 'local'],
    ]);
    // Google ran each command once, through its hook, and answered
    const answered = named<DrActionFinishedData>('gcp', 'DrActionFinished');
    expect(answered.map((e) => [e.data.epoch, e.data.index, e.data.outcome])).toEqual([
      [epoch, 1, 'succeeded'],
      [epoch, 2, 'succeeded'],
    ]);
    expect(answered[0]!.data.detail).toMatch(/^promoted: lost \d+ writes over \d+ ms$/);
    expect(database.promotions).toHaveLength(1);
    expect(database.gcp.role).toBe('writer');
    expect(database.aws).toMatchObject({ role: 'writer', fenced: true });
    expect((await act('service', { name: SERVICE })).gcp.desired).toBe(12);
    // The executor took each result under the epoch, the flip's its own; drCommanded answered the
    // fence on AWS's bus (reportedBy: commanded) before the executor recorded it
    const taken = named<DrActionFinishedData>('aws', 'DrActionFinished');
    expect(
      taken.filter((e) => e.data.reportedBy === 'commanded').map((e) => [e.data.index, e.data.outcome]),
    ).toEqual([[0, 'succeeded']]);
    expect(
      taken
        .filter((e) => e.data.reportedBy === undefined)
        .map((e) => [e.data.epoch, e.data.index, e.data.outcome]),
    ).toEqual([
      [epoch, 0, 'succeeded'],
      [epoch, 1, 'succeeded'],
      [epoch, 2, 'succeeded'],
      [epoch, 3, 'succeeded'],
    ]);
    const failedOver = named<{ from: unknown; to: unknown }>('aws', 'DrFailedOver');
    expect(failedOver).toHaveLength(1);

    // Measured: the time the clients failed against detection (3 one-minute probes) + hysteresis +
    // the actions + the TTL + one step of this test's clock, and the plan's RTO; the writes lost
    // at the promotion against the RPO; the client errors, at most one a second of the outage.
    expectWithinObjectives({
      label: 'DR failover through the deployed halves',
      clients,
      lossWindowMs: database.promotions[0].lossWindowMs,
      outageAt,
      decidedAt: moves[0]!.time,
      actions: { startedAt: started[0]!.time, finishedAt: failedOver[0]!.time },
      beyondActionsMs: 3 * MINUTE + MINUTE + TTL_MS + MINUTE,
      objectives: { rto: '15m', rtoMs: RTO_MS, rpo: '1m', rpoMs: RPO_MS },
    });
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
    const command = named<DrActionStartedData>('aws', 'DrActionStarted').find((e) => e.data.via === 'relay')!;
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
    await halves?.drain();

    // Assess: the recorded result sent again, the promotion not run again
    expect(outcome).toBe('duplicate');
    const again = named<DrActionFinishedData>('gcp', 'DrActionFinished').slice(2);
    expect(again.map((e) => e.data)).toEqual([first.data]);
    expect((await act('service', { name: SERVICE })).database.promotions).toHaveLength(1);
  }, 60_000);
});
