/**
 * The partition argument of docs/dr-executor.md, checked on the core: the payments plan's failover
 * (the fence of Aurora on AWS, the executor; promote and scale on Google, commanded across the
 * relay; the ARC flip on AWS) under
 * generated schedules of relay partitions, deliveries and the passing of time. The relay holds what
 * it cannot deliver and delivers it once healed, as the real one does; Google's commanded side keeps
 * its fence as stored (functions/core/dr/commanded.ts: a command that comes while its copy runs is
 * delivered again later). After every step: traffic never points at a side whose database is not
 * the writer (so never at two), Google promotes only once the old writer is fenced, Google never
 * acts on a command after its deadline or under a lower epoch, runs an epoch's action at most once
 * however often it was sent, and a run that stops has paged.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { admitStored, recordStored, type StoredFence } from '#core/dr/commanded.ts';
import {
  type ActionCommand,
  type ActionResult,
  type Advance,
  advance,
  type Run,
  startRun,
} from '#core/dr/executor.ts';
import type { Decision } from '#core/dr/failover-state.ts';
import { initialFence } from '#core/dr/fence.ts';
import { planWith } from './helpers.ts';

const T0 = Date.parse('2026-03-02T10:06:03Z');
const iso = (ms: number) => new Date(ms).toISOString();

type Step =
  | { kind: 'partition'; on: boolean }
  | { kind: 'to-google' }
  | { kind: 'to-aws' }
  | { kind: 'wait'; seconds: number }
  | { kind: 'redeliver-old' };

const stepArb: fc.Arbitrary<Step> = fc.oneof(
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('partition' as const), on: fc.boolean() }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('to-google' as const) }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('to-aws' as const) }) },
  {
    weight: 3,
    arbitrary: fc.record({ kind: fc.constant('wait' as const), seconds: fc.integer({ min: 1, max: 200 }) }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('redeliver-old' as const) }) },
);

interface World {
  now: number;
  run: Run;
  stored: StoredFence;
  partitioned: boolean;
  toGoogle: ActionCommand[];
  toAws: ActionResult[];
  /** Every command Google was sent, to redeliver an old one. */
  sent: ActionCommand[];
  /** Google's action under way and when it completes. */
  busy: { command: ActionCommand; doneAt: number } | null;
  standbyWriter: boolean;
  /** The primary's database is fenced (the executor's local fence-writer ran). */
  primaryFenced: boolean;
  /** Where the routing controls send traffic. */
  traffic: 'primary' | 'standby';
  /** Every command Google ran, with the time. */
  ran: { command: ActionCommand; at: number; fenceBefore: number }[];
}

const plan = planWith((d) => (d.execution = { actionTimeout: '5m' }));

/** Deliveries both ways, then 30 s. */
const deliver = (): Step[] => [{ kind: 'to-google' }, { kind: 'to-aws' }, { kind: 'wait', seconds: 30 }];

/**
 * After the generated steps: the partition on for `cutMinutes` more minutes (so that some runs stall
 * with their command sent three times, and a result held through the stall comes late), then 60
 * minutes healed, in which everything held is delivered and every run ends (the promotion's 10
 * minutes and the scaling's 5, each sent three times, fit within them).
 */
const drain = (cutMinutes: number): Step[] => [
  ...(cutMinutes > 0 ? [{ kind: 'partition', on: true } as Step] : []),
  ...Array.from({ length: cutMinutes * 2 }, () => ({ kind: 'wait', seconds: 30 }) as Step),
  { kind: 'partition', on: false },
  ...Array.from({ length: 120 }, deliver).flat(),
];

function simulate(steps: Step[], actionSeconds: number): World {
  const decision: Decision = {
    time: iso(T0),
    service: plan.service,
    epoch: 7,
    trigger: 'tick',
    decision: 'failover',
    approval: 'not-required',
    active: 'standby',
    reasons: [{ code: 'quorum', message: 'q' }],
    actions: plan.actions.failover,
  };
  const w: World = {
    now: T0,
    run: undefined as unknown as Run,
    stored: { fence: { ...initialFence(plan.service), epoch: 5 }, running: {} },
    partitioned: false,
    toGoogle: [],
    toAws: [],
    sent: [
      // A command of an earlier run, still held in the relay. That run ended before this one
      // started, at the latest at its action's deadline, so the deadline has passed.
      {
        service: plan.service,
        decision: 'failover',
        epoch: 5,
        index: 1,
        action: plan.actions.failover[1]!,
        deadline: iso(T0),
      },
    ],
    busy: null,
    standbyWriter: false,
    primaryFenced: false,
    traffic: 'primary',
    ran: [],
  };
  /** The result of an action run on the executor's side of the cut, at once. */
  const succeeded = (c: { epoch: number; index: number }) =>
    apply(
      advance(w.run, {
        type: 'result',
        result: {
          service: plan.service,
          epoch: c.epoch,
          index: c.index,
          outcome: 'succeeded',
          time: iso(w.now),
        },
      }),
    );
  const apply = (a: Advance): void => {
    w.run = a.run;
    for (const e of a.effects) {
      if (e.type !== 'start-action') continue;
      if (e.via === 'relay') {
        w.toGoogle.push(e.command);
        w.sent.push(e.command);
      } else if (e.command.action.type === 'fence-writer') {
        // On the executor's side of the cut (AWS's drCommanded, outside the primary's region): the
        // old writer's writes revoked.
        w.primaryFenced = true;
        succeeded(e.command);
      } else {
        // The executor's own flip: ARC's one transaction, all the controls or none.
        check(w.standbyWriter, 'the flip runs only once the standby is the writer');
        w.traffic = 'standby';
        succeeded(e.command);
      }
    }
  };
  const google = (command: ActionCommand) => {
    const { admission, next } = admitStored(w.stored, command, iso(w.now));
    if (next) w.stored = next;
    if (admission.verdict === 'in-progress') {
      // Retried later (the push is answered 503 and Pub/Sub delivers it again).
      w.toGoogle.push(command);
      return;
    }
    if (admission.verdict !== 'run') {
      // The answer names the copy it answers.
      w.toAws.push({ ...admission.result, deadline: command.deadline });
      return;
    }
    check(!w.busy, 'Google runs one action at a time');
    if (command.action.type === 'promote-replica')
      check(w.primaryFenced, 'Google promotes only once the old writer is fenced');
    check(
      !w.ran.some((r) => r.command.epoch === command.epoch && r.command.index === command.index),
      "Google runs an epoch's action at most once, however often it was sent",
    );
    w.ran.push({ command, at: w.now, fenceBefore: w.stored.fence.epoch });
    w.busy = { command, doneAt: w.now + actionSeconds * 1000 };
  };
  apply(startRun(plan, decision));
  const checkAll = () => {
    check(
      w.traffic === 'primary' || w.standbyWriter,
      'traffic never points at a side that is not the writer',
    );
    for (const r of w.ran) {
      check(r.at < Date.parse(r.command.deadline), 'Google never runs a command after its deadline');
      check(r.command.epoch >= 7, 'Google never runs a command of a superseded epoch');
    }
    if (w.run.status === 'stalled' || w.run.status === 'failed')
      check(w.run.pages.length > 0, 'a run that stops has paged');
  };
  for (const step of steps) {
    if (step.kind === 'partition') w.partitioned = step.on;
    else if (step.kind === 'to-google' && !w.partitioned && w.toGoogle.length) google(w.toGoogle.shift()!);
    else if (step.kind === 'redeliver-old' && !w.partitioned)
      google(w.sent[Math.floor(w.ran.length / 2) % w.sent.length]!);
    else if (step.kind === 'to-aws' && !w.partitioned && w.toAws.length)
      apply(advance(w.run, { type: 'result', result: w.toAws.shift()!, receivedAt: iso(w.now) }));
    else if (step.kind === 'wait') {
      w.now += step.seconds * 1000;
      if (w.busy && w.now >= w.busy.doneAt) {
        const { command } = w.busy;
        if (command.action.type === 'promote-replica') w.standbyWriter = true;
        const result: ActionResult = {
          service: command.service,
          epoch: command.epoch,
          index: command.index,
          outcome: 'succeeded',
          time: iso(w.busy.doneAt),
        };
        w.stored = recordStored(w.stored, result);
        w.toAws.push({ ...result, deadline: command.deadline });
        w.busy = null;
      }
      apply(advance(w.run, { type: 'tick', time: iso(w.now) }));
    }
    checkAll();
  }
  return w;
}

function check(ok: boolean, what: string): void {
  if (!ok) throw new Error(`violated: ${what}`);
}

describe('a partition between the clouds during a failover', () => {
  it('stalls and pages, and never sends traffic to a database that is not the writer', () => {
    let stalled = 0;
    let succeeded = 0;
    let resumed = 0;
    let resent = 0;
    fc.assert(
      fc.property(
        fc.array(stepArb, { minLength: 1, maxLength: 60 }),
        fc.integer({ min: 1, max: 400 }),
        fc.integer({ min: 0, max: 45 }),
        (steps, secs, cutMinutes) => {
          const w = simulate([...steps, ...drain(cutMinutes)], secs);
          expect(['succeeded', 'stalled', 'failed']).toContain(w.run.status);
          // A run that failed says the action failed: never one that promoted the standby.
          if (w.run.status === 'failed') expect(w.standbyWriter).toBe(false);
          if (w.standbyWriter && w.traffic === 'primary')
            // Promoted with no traffic (the result came too late): the pages say so.
            expect(w.run.pages.length).toBeGreaterThan(0);
          if (w.run.history.some((h) => h.note.includes('taken, the run goes on'))) resumed += 1;
          if (w.run.steps.some((s) => s.resent)) resent += 1;
          if (w.run.status === 'stalled') {
            stalled += 1;
            expect(w.traffic).toBe('primary');
            expect(w.run.pages.map((p) => p.reason)).toContain('action-timed-out');
          }
          if (w.run.status === 'succeeded') {
            succeeded += 1;
            expect(w.traffic).toBe('standby');
            expect(w.run.steps.every((s) => s.epoch === 7)).toBe(true);
          }
          expect(w.stored.fence.refused.every((r) => r.epoch < 7 || r.reason.includes('deadline'))).toBe(
            true,
          );
        },
      ),
      { numRuns: 400, seed: 26 },
    );
    // The generated schedules do reach both ends, runs send commands again, and a late result within
    // its window resumes runs.
    expect(stalled).toBeGreaterThan(5);
    expect(succeeded).toBeGreaterThan(10);
    expect(resent).toBeGreaterThan(10);
    expect(resumed).toBeGreaterThan(5);
    console.info(
      `partition schedules: ${stalled} stalled, ${succeeded} succeeded, ${resent} sent a command again, ${resumed} went on from a late result`,
    );
  });

  it('a partition through the promotion timeout: the command is sent again; the held copy is refused when it arrives, the new copy runs once and the run flips', () => {
    // Act: cut past the promotion's 10 minutes (its command sent again at them), then healed: the
    // held copy and the new one delivered, and each answer.
    const w = simulate(
      [
        { kind: 'partition', on: true },
        { kind: 'wait', seconds: 300 },
        { kind: 'wait', seconds: 300 },
        { kind: 'wait', seconds: 100 },
        { kind: 'partition', on: false },
        { kind: 'to-google' },
        { kind: 'to-google' },
        { kind: 'to-aws' },
        { kind: 'wait', seconds: 20 },
        { kind: 'to-aws' },
        { kind: 'to-google' },
        { kind: 'wait', seconds: 20 },
        { kind: 'to-aws' },
      ],
      10,
    );

    // Assess
    const promote = w.run.steps[1]!;
    expect(promote.resent).toBe(1);
    expect(w.ran.map((r) => `${r.command.epoch}#${r.command.index}`)).toEqual(['7#1', '7#2']);
    expect(w.ran[0]?.command.deadline).toBe(promote.deadline);
    expect(w.stored.fence.refused).toEqual([
      expect.objectContaining({ epoch: 7, index: 1, reason: expect.stringContaining('after its deadline') }),
    ]);
    expect(w.run.history.map((h) => h.note)).toContainEqual(
      expect.stringMatching(/^refusal of action 1's copy with deadline .* recorded, not taken/),
    );
    expect(w.run.status).toBe('succeeded');
    expect(w.traffic).toBe('standby');
  });

  it('a partition through every copy of the promotion: stalled, paged, no flip, nothing run', () => {
    // Act: cut through the promotion's 10 minutes, three times (36 minutes).
    const w = simulate(
      [
        { kind: 'partition', on: true },
        ...Array.from({ length: 9 }, (): Step => ({ kind: 'wait', seconds: 240 })),
      ],
      10,
    );

    // Assess
    expect(w.run.steps[1]?.resent).toBe(2);
    expect(w.run.status).toBe('stalled');
    expect(w.run.pages.at(-1)?.message).toContain('(sent 3 times)');
    expect(w.primaryFenced).toBe(true);
    expect(w.traffic).toBe('primary');
    expect(w.standbyWriter).toBe(false);
    expect(w.ran).toEqual([]);
  });

  it('a stale command of a superseded run is refused and recorded', () => {
    // Act
    const w = simulate([{ kind: 'to-google' }, { kind: 'redeliver-old' }], 10);

    // Assess
    expect(w.ran.map((r) => r.command.epoch)).toEqual([7]);
    expect(w.stored.fence.refused).toEqual([
      expect.objectContaining({ epoch: 5, reason: expect.stringContaining('below the current epoch 7') }),
    ]);
  });
});
