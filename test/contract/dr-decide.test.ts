/**
 * The decision hook of the AWS executor's side (functions/aws/dr-decide.ts) on dynalite, with the
 * signal log and the executor's store in one links table: the decider runs on every signal held,
 * each new decision is published once as DrDecisionMade, a move starts one execution named by its
 * epoch, a hold with no move awaiting approval starts none, and a second call hands nothing on again.
 */
import { describe, expect, it } from 'vitest';
import { type DecideDeps, decideAndStart } from '#aws/dr-decide.ts';
import { DynamoDbDrExecutorStore } from '#aws/dr-executor-store.ts';
import { DynamoDbSignalLog } from '#aws/signal-log.ts';
import { planFingerprint } from '#core/dr/decision-hook.ts';
import type { Decision } from '#core/dr/failover-state.ts';
import type { Observation } from '#core/dr/observations.ts';
import { isControl } from '#core/dr/signal-log.ts';
import type { CloudEvent } from '#core/envelope.ts';
import { useDynalite } from '../support/dynalite.ts';
import { fixture, planWith } from '../unit/dr/helpers.ts';

const db = useDynalite();
const plan = planWith();
const outage = fixture('regional-outage.jsonl').filter((r) => !isControl(r)) as Observation[];
const signalsBefore = (t: string) => outage.filter((r) => Date.parse(r.time) < Date.parse(t));

async function hook(now: { ms: number }) {
  const table = await db.linksTable();
  const events: CloudEvent[] = [];
  const started: { name: string; decision: Decision }[] = [];
  const log = new DynamoDbSignalLog(db.client, table);
  const deps: DecideDeps = {
    plan,
    log,
    runs: new DynamoDbDrExecutorStore(db.client, table),
    bus: { put: async (e) => void events.push(...e) },
    origin: { cloud: 'aws', accountId: '000000000000', region: 'us-west-2' },
    clock: { now: () => now.ms },
    startExecution: async (name, input) => void started.push({ name, decision: input.decision }),
  };
  return { deps, log, events, started };
}

const epochs = (events: CloudEvent[]) =>
  events.map((e) => [(e.data as { epoch: number }).epoch, (e.data as { decision: string }).decision]);

describe('the decision hook on AWS', () => {
  it('hands each new decision on once: DrDecisionMade for all, an execution for the move', async () => {
    // Prepare
    const now = { ms: Date.parse('2026-03-02T10:05:00Z') };
    const h = await hook(now);
    await h.log.record(signalsBefore('2026-03-02T10:05:00Z'));

    // Act
    const first = await decideAndStart(h.deps);
    await h.log.record(outage);
    now.ms = Date.parse('2026-03-02T10:10:00Z');
    const second = await decideAndStart(h.deps);
    const third = await decideAndStart(h.deps);

    // Assess
    expect(first.decisions.map((d) => d.epoch)).toEqual([1]);
    expect(second.decisions.map((d) => [d.epoch, d.decision])).toEqual([
      [2, 'hold'],
      [3, 'failover'],
      [4, 'hold'],
    ]);
    expect(third).toEqual({ decisions: [], started: [] });
    expect(epochs(h.events)).toEqual([
      [1, 'hold'],
      [2, 'hold'],
      [3, 'failover'],
      [4, 'hold'],
    ]);
    expect(h.events.every((e) => e.type.includes('DrDecisionMade') && e.subject === 'payments-api')).toBe(
      true,
    );
    expect(h.started.map((s) => [s.name, s.decision.epoch, s.decision.actions?.length])).toEqual([
      ['payments-api-3', 3, 4],
    ]);
    expect(second.started).toEqual(['payments-api-3']);
  });

  it('decides on a deadline that ran out after the last signal (a tick), without a new signal', async () => {
    // Prepare: the signals up to the failover's rule being met, but not the decision's time
    const now = { ms: Date.parse('2026-03-02T10:06:00Z') };
    const h = await hook(now);
    await h.log.record(signalsBefore('2026-03-02T10:06:00Z'));
    const early = await decideAndStart(h.deps);

    // Act: time passes, no new signal
    now.ms = Date.parse('2026-03-02T10:06:30Z');
    const late = await decideAndStart(h.deps);

    // Assess
    expect(early.started).toEqual([]);
    expect(late.decisions.map((d) => [d.time, d.decision, d.trigger])).toContainEqual([
      '2026-03-02T10:06:03Z',
      'failover',
      'tick',
    ]);
    expect(late.started).toEqual(['payments-api-3']);
  });

  it('reads only the records after its kept state: called every minute, the same decisions as from the whole log', async () => {
    // Prepare: the outage's signals recorded as they come, the hook called every minute
    const now = { ms: Date.parse('2026-03-02T10:00:00Z') };
    const h = await hook(now);
    const reads: number[] = [];
    const read = h.log.records.bind(h.log);
    h.deps.log = {
      records: async (service, from) => {
        const records = await read(service, from);
        reads.push(records.length);
        return records;
      },
    };
    const handed: Decision[] = [];

    // Act
    for (; now.ms <= Date.parse('2026-03-02T10:25:00Z'); now.ms += 60_000) {
      await h.log.record(signalsBefore(new Date(now.ms + 1).toISOString()));
      handed.push(...(await decideAndStart(h.deps)).decisions);
    }

    // Assess: the first test's decisions; each read at most the settling time's signals and a minute's
    expect(handed.map((d) => [d.epoch, d.decision])).toEqual([
      [1, 'hold'],
      [2, 'hold'],
      [3, 'failover'],
      [4, 'hold'],
    ]);
    expect(h.started.map((s) => s.name)).toEqual(['payments-api-3']);
    const perMinute = outage.length / 10;
    const window = (plan.settings.staleAfterMs + 60_000) / 60_000 + 1;
    expect(Math.max(...reads)).toBeLessThanOrEqual(window * perMinute);
    expect(reads.at(-1)).toBeLessThan(outage.length / 2);
    expect((await h.deps.runs.checkpoint(plan.service, planFingerprint(plan)))?.at).toBe(
      Date.parse('2026-03-02T10:25:00Z') - plan.settings.staleAfterMs,
    );
  });

  it('hands on an approval recorded at the instant of the move it approves (same time, next epoch)', async () => {
    // Prepare: the plan asks for approval; the outage's move is handed on, pending
    const approving = planWith((d) => {
      d.decider = { ...d.decider, approval: 'required' };
    });
    const now = { ms: Date.parse('2026-03-02T10:10:00Z') };
    const h = await hook(now);
    h.deps.plan = approving;
    await h.log.record(outage);
    const first = await decideAndStart(h.deps);
    const pending = first.decisions.find((d) => d.approval === 'pending') as Decision;

    // Act: the approval, recorded with the pending move's own time, and the hook at that instant
    await h.log.recordControl(1, {
      time: pending.time,
      control: 'approve',
      service: approving.service,
      by: 'arn:aws:iam::000000000000:user/bob',
      decision: 'failover',
    });
    const second = await decideAndStart(h.deps);

    // Assess: the approved move, at the pending one's time and the next epoch, started
    expect(second.decisions.map((d) => [d.time, d.epoch, d.approval])).toContainEqual([
      pending.time,
      pending.epoch + 1,
      'approved',
    ]);
    expect(second.started).toContain(`payments-api-${pending.epoch + 1}`);
  });

  it('does not take a state kept under another plan: a redeployed plan folds the log again', async () => {
    // Prepare: the hook ran through the outage under the plan; the plan is redeployed with another dampening
    const now = { ms: Date.parse('2026-03-02T10:20:00Z') };
    const h = await hook(now);
    await h.log.record(outage);
    await decideAndStart(h.deps);
    const redeployed = planWith((d) => {
      d.decider = { ...d.decider, dampening: '2h' };
    });
    const reads: (number | undefined)[] = [];
    const read = h.log.records.bind(h.log);

    // Act
    now.ms += 60_000;
    await decideAndStart({
      ...h.deps,
      plan: redeployed,
      log: {
        records: async (service, from) => {
          reads.push(from);
          return read(service, from);
        },
      },
    });

    // Assess: the whole log read (from 0), and the state kept under the new plan
    expect(reads).toEqual([0]);
    expect(await h.deps.runs.checkpoint(plan.service, planFingerprint(plan))).toBeNull();
    expect((await h.deps.runs.checkpoint(plan.service, planFingerprint(redeployed)))?.at).toBe(
      now.ms - redeployed.settings.staleAfterMs,
    );
  });

  it('does nothing where Google executes the plan (its traffic switch is Cloud DNS)', async () => {
    // Prepare
    const now = { ms: Date.parse('2026-03-02T10:10:00Z') };
    const h = await hook(now);
    await h.log.record(outage);
    const googleExecutes = planWith((d) => {
      d.actions.failover = d.actions.failover.filter((a) => a.type !== 'arc-routing-control');
      d.actions.failback = d.actions.failback.filter((a) => a.type !== 'arc-routing-control');
      d.actions.failover.push({
        type: 'cloud-dns-failover-policy',
        cloud: 'gcp',
        managedZone: 'payments',
        recordName: 'api.payments.example.com.',
        serve: 'backup',
        hook: { function: 'projects/payments-prod/locations/us-west1/functions/dns-failover' },
      } as never);
      d.actions.failback.push({
        type: 'cloud-dns-failover-policy',
        cloud: 'gcp',
        managedZone: 'payments',
        recordName: 'api.payments.example.com.',
        serve: 'primary',
        hook: { function: 'projects/payments-prod/locations/us-west1/functions/dns-failover' },
      } as never);
    });

    // Act
    const out = await decideAndStart({ ...h.deps, plan: googleExecutes });

    // Assess
    expect(out).toEqual({ decisions: [], started: [] });
    expect(h.events).toEqual([]);
  });
});
