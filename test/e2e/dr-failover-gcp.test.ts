/**
 * The ledger plan's failover through both deployed halves, Google executing (its traffic switch a
 * Cloud DNS failover policy: docs/dr-executor.md "A Cloud-DNS-switched failover through the deployed
 * halves"), on a local cloud with IAM enforced and a manual clock stepped a minute at a time
 * (test/support/dr-halves.ts `deployLedgerHalves`):
 *
 * - the AWS half packaged from a checkout of its own with the plan, in eu-central-1 (the plan's AWS
 *   vantage point's region): `drSignals` probing every minute and relaying what it saw, `drCommanded`
 *   behind `DrCommandedRule` running Google's commands through its DynamoDB fence; the plan's AWS
 *   hooks (`ledger-promote-aurora`, `ledger-scale-ecs`) as Lambda functions there;
 * - gcp.yml's `dr-signals` with the same plan in europe-west4 (the Google vantage point's region):
 *   probing, deciding (its decision hook starts the deployed `dr-failover` workflow, which the local
 *   Workflows engine runs as written, each step a call of `dr-signals` with OIDC), the relay both
 *   ways; the failover's fence of Cloud SQL (`ledger-fence-cloudsql`) and the flip's hook
 *   `ledger-drain-primary-targets` there, outside europe-west1, invoked by crosslink-workflows alone;
 * - the ledger's Cloud DNS record set (primary targets health checked, TTL 30 s) and its clients in
 *   europe-west4 resolving through it, a request a second.
 *
 * An outage of europe-west1 leads to exactly one failover: one execution, one epoch, Cloud SQL
 * fenced (a fenced writer, never a split brain), the promotion and the scaling commanded across the
 * relay and run by `drCommanded` through the hook Lambdas,
 * their `DrActionFinished` relayed back to Google's run, then the primary targets drained and
 * `DrFailedOver`, which reaches AWS's bus. Measured: the time the clients failed and their errors
 * against the plan's RTO, the writes lost at the promotion against its RPO. Then the promotion's
 * command delivered to `drCommanded` again gets its recorded result from AWS's fence and runs nothing.
 */
import { resolve } from 'node:path';
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validateDrPlan } from '#core/dr/plan.ts';
import type { DrActionFinishedData, DrActionStartedData, DrDecisionMadeData } from '#core/events/catalog.ts';
import { LOCAL_STAGE } from '#local/aws-half.ts';
import { PACKAGING_BUDGET_MS, settle } from '../support/dr-deployed.ts';
import {
  type DeployedHalves,
  deployLedgerHalves,
  expectWithinObjectives,
  type LedgerWorld,
  MINUTE,
} from '../support/dr-halves.ts';
import { LEDGER } from '../support/dr-ledger-world.ts';
import { ADMIN_CREDENTIALS } from '../support/local-cloud.ts';

const ROOT = resolve(import.meta.dirname, '../..');
const SERVICE = 'ledger';
const RTO_MS = 30 * MINUTE;
const RPO_MS = 5 * MINUTE;
const QUIET_MS = 400;

let d: DeployedHalves<LedgerWorld>;

beforeAll(async () => {
  d = await deployLedgerHalves(ROOT, 'crosslink-dr-failover-gcp-');
}, PACKAGING_BUDGET_MS + 60_000);

afterAll(async () => {
  await d?.stop();
});

const clients = () => d.act('clients', { service: SERVICE });

describe('a primary-region outage of a Cloud-DNS-switched plan, failed over by the deployed halves', () => {
  it('serves from the standby within the RTO: one execution, one epoch, AWS promoting and scaling when commanded, then the DNS drain and DrFailedOver', async () => {
    // Prepare: three healthy minutes
    for (let i = 0; i < 3; i++) await d.minute();
    const before = await clients();
    expect(before.failures).toEqual({});
    expect(before.bySide.gcp).toBeGreaterThan(0);
    expect(d.world.executions()).toEqual([]);

    // Act: europe-west1 out; a minute at a time until the move is done and the clients are served, at most the RTO
    const outageAt = d.cloud.clock.now();
    await d.act('region-outage', { cloud: 'gcp', region: 'europe-west1', on: true });
    let done = false;
    while (!done && d.cloud.clock.now() - outageAt < RTO_MS) {
      await d.minute();
      const c = await clients();
      done = d.named('gcp', 'DrFailedOver').length > 0 && c.transitions.at(-1)?.ok === true;
    }
    const served = await clients();
    const service = await d.act('service', { name: SERVICE });

    // Assess: one dr-failover execution, started by the decision hook with the failover, succeeded
    expect(done).toBe(true);
    const executions = d.world.executions();
    expect(executions.map((e) => e.state)).toEqual(['SUCCEEDED']);
    const argument = JSON.parse(String(executions[0]?.argument)) as { decision: DrDecisionMadeData };
    expect(argument.decision.decision).toBe('failover');
    const epoch = argument.decision.epoch;
    // One move under that epoch (its claim publishes it; the hook the holds)
    const moves = d
      .named<DrDecisionMadeData>('gcp', 'DrDecisionMade')
      .filter((e) => e.data.decision !== 'hold');
    expect([...new Set(moves.map((e) => `${e.data.decision} ${e.data.epoch}`))]).toEqual([
      `failover ${epoch}`,
    ]);
    // The actions in order: Cloud SQL's fence on Google (its own hook, outside europe-west1), two
    // commanded across the relay, then the flip on Google
    const started = d.named<DrActionStartedData>('gcp', 'DrActionStarted');
    expect(started.map((e) => [e.data.epoch, e.data.index, e.data.action.type, e.data.via])).toEqual([
      [epoch, 0, 'fence-writer', 'local'],
      [epoch, 1, 'promote-replica', 'relay'],
      [epoch, 2, 'scale-standby', 'relay'],
      [epoch, 3, 'cloud-dns-failover-policy', 'local'],
    ]);
    // AWS ran each command once, through its hook Lambda, and answered across the relay
    expect(d.world.hookCalls.map((c) => [c.hook, c.command.epoch, c.command.index])).toEqual([
      ['ledger-promote-aurora', epoch, 1],
      ['ledger-scale-ecs', epoch, 2],
    ]);
    const answered = d.named<DrActionFinishedData>('aws', 'DrActionFinished');
    expect(answered.map((e) => [e.data.epoch, e.data.index, e.data.outcome])).toEqual([
      [epoch, 1, 'succeeded'],
      [epoch, 2, 'succeeded'],
    ]);
    expect(answered[0]?.data.detail).toMatch(/^promoted: lost \d+ writes over \d+ ms$/);
    const fence = await d.aws.fence.read(SERVICE);
    expect(fence.epoch).toBe(epoch);
    expect(Object.keys(fence.results).sort()).toEqual([`${epoch}#1`, `${epoch}#2`]);
    expect(fence.refused).toEqual([]);
    // Google's run took each result under the epoch, the fence and the drain its own
    const taken = d.named<DrActionFinishedData>('gcp', 'DrActionFinished');
    expect(taken.map((e) => [e.data.epoch, e.data.index, e.data.outcome])).toEqual([
      [epoch, 0, 'succeeded'],
      [epoch, 1, 'succeeded'],
      [epoch, 2, 'succeeded'],
      [epoch, 3, 'succeeded'],
    ]);
    expect(taken[0]?.data.detail).toBe('fenced: gcp writer, its writes revoked');
    expect(taken[3]?.data.detail).toBe(`primary targets of ${LEDGER.name} drained`);
    const run = (await d.gcpRuns.current(SERVICE))?.run;
    expect([run?.epoch, run?.status]).toEqual([epoch, 'succeeded']);
    expect(await d.gcpRuns.refusals(SERVICE)).toEqual([]);
    // DrFailedOver once, and where the catalog sends it: the other cloud (AWS's bus, through the relay)
    const failedOver = d.named<{ epoch: number }>('gcp', 'DrFailedOver');
    expect(failedOver.map((e) => e.data.epoch)).toEqual([epoch]);
    const onAws = (await d.world.bus.drain()).filter((a) => a.detailType === 'DrFailedOver');
    expect(onAws.map((a) => a.id)).toEqual([failedOver[0]?.id]);
    // The world: one promotion, AWS the writer, scaled to the plan's capacity, Cloud DNS answering the standby
    expect(service.database.promotions).toHaveLength(1);
    expect(service.database.aws.role).toBe('writer');
    expect(service.database.gcp).toMatchObject({ role: 'writer', fenced: true });
    expect(service.database.splitBrains).toEqual([]);
    expect(service.aws.desired).toBe(6);
    expect(d.world.answers()).toEqual([LEDGER.standbyIp]);
    expect(served.bySide.aws).toBeGreaterThan(0);

    // Measured: the time the clients failed against detection (3 one-minute probes) + hysteresis +
    // the actions + the TTL + one step of this test's clock, and the plan's RTO; the writes lost at
    // the promotion against the RPO; the client errors, at most one a second of the outage.
    expectWithinObjectives({
      label: 'DR failover (Cloud DNS, Google executing) through the deployed halves',
      clients: served,
      lossWindowMs: service.database.promotions[0].lossWindowMs,
      outageAt,
      decidedAt: moves[0]?.time as string,
      actions: { startedAt: started[0]?.time as string, finishedAt: failedOver[0]?.time as string },
      beyondActionsMs: 3 * MINUTE + validateDrPlan(d.doc).settings.hysteresisMs + LEDGER.ttlS * 1000 + MINUTE,
      objectives: { rto: '30m', rtoMs: RTO_MS, rpo: '5m', rpoMs: RPO_MS },
    });
  }, 480_000);

  it("ran Google's executor as its accounts, IAM enforced: dr-signals and the workflow refused nothing", () => {
    const account = (id: string) => `serviceAccount:${id}@${d.cloud.gcp.project}.iam.gserviceaccount.com`;
    const ours = ['crosslink-dr-signals', 'crosslink-workflows'].map(account);
    // dr-signals started the execution, kept the run in Firestore and published the run's events.
    const used = [...(d.cloud.gcp.iam.used().get(account('crosslink-dr-signals'))?.keys() ?? [])];
    expect(used).toEqual(
      expect.arrayContaining([
        'datastore.entities.update',
        'pubsub.topics.publish',
        'workflows.executions.create',
      ]),
    );
    expect(d.cloud.gcp.iam.refused().filter((r) => ours.includes(r.principal))).toEqual([]);
  });

  it("answers the promotion command delivered again from AWS's fence, running nothing again", async () => {
    // Prepare: the promotion's command as AWS's bus delivered it to its rules
    const arrived = d.world.bus.arrived.filter((a) => a.detailType === 'DrActionStarted');
    const command = arrived.find((a) => JSON.parse(a.body).detail.data.index === 1);
    expect(command).toBeDefined();
    const first = d.named<DrActionFinishedData>('aws', 'DrActionFinished')[0];
    const lambda = new LambdaClient({
      region: d.cloud.aws.region,
      endpoint: d.cloud.aws.endpoint,
      credentials: ADMIN_CREDENTIALS,
    });

    // Act: EventBridge delivers it to drCommanded again (its delivery is at least once)
    let answer: { outcome: string; result: { outcome: string; epoch: number; index: number } };
    try {
      const out = await lambda.send(
        new InvokeCommand({ FunctionName: `crosslink-${LOCAL_STAGE}-drCommanded`, Payload: command?.body }),
      );
      expect(out.FunctionError).toBeUndefined();
      answer = JSON.parse(Buffer.from(out.Payload as Uint8Array).toString('utf8'));
    } finally {
      lambda.destroy();
    }
    await settle(d.cloud, QUIET_MS);
    await d.drain();

    // Assess: the recorded result answered and relayed again, the hook not invoked, one promotion
    expect(answer.outcome).toBe('duplicate');
    expect([answer.result.epoch, answer.result.index, answer.result.outcome]).toEqual([
      first?.data.epoch,
      1,
      'succeeded',
    ]);
    const again = d.named<DrActionFinishedData>('aws', 'DrActionFinished').slice(2);
    expect(again.map((e) => e.data)).toEqual([first?.data]);
    expect(d.world.hookCalls).toHaveLength(2);
    expect((await d.act('service', { name: SERVICE })).database.promotions).toHaveLength(1);
    // Google's run took no second result: it finished
    expect((await d.gcpRuns.current(SERVICE))?.run.status).toBe('succeeded');
  }, 60_000);
});
