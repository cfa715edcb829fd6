/**
 * An operator's control checked before it is recorded (functions/core/dr/controls.ts): the request's
 * fields, the approval against the move awaiting it, pause and resume against the plan's pause, and
 * the pause or resume a run under way takes from the recorded controls.
 */
import { describe, expect, it } from 'vitest';
import {
  controlIssues,
  controlRecord,
  parseControlRequest,
  pauseInputs,
  recordedPause,
  storedControlIssues,
} from '#core/dr/controls.ts';
import { advance, startRun } from '#core/dr/executor.ts';
import { runFromDecisions } from '#core/dr/executor-supervision.ts';
import { replay } from '#core/dr/failover-decider.ts';
import type { ControlRecord, DrRecord } from '#core/dr/signal-log.ts';
import { failoverDecision, issuesOf, planWith } from './helpers.ts';

const plan = planWith((doc) => {
  doc.decider = { ...doc.decider, approval: 'required' };
});

const signal = (time: string, vantage: string, name: string, status: string): DrRecord => ({
  time,
  service: 'payments-api',
  vantage,
  signal: name,
  status: status as 'healthy' | 'unhealthy',
});

/** A log in which a failover waits for approval at epoch 3 (2026-03-02T10:01:00Z). */
const OUTAGE: DrRecord[] = [
  signal('2026-03-02T10:00:00Z', 'aws-us-west-2', 'standby-readiness', 'healthy'),
  signal('2026-03-02T10:00:00Z', 'gcp-us-west1', 'standby-readiness', 'healthy'),
  signal('2026-03-02T10:00:00Z', 'aws-us-west-2', 'api-availability', 'unhealthy'),
  signal('2026-03-02T10:00:00Z', 'gcp-us-west1', 'api-availability', 'unhealthy'),
  signal('2026-03-02T10:01:30Z', 'gcp-us-west1', 'api-availability', 'unhealthy'),
];

const checkAt = (records: DrRecord[], request: Parameters<typeof controlIssues>[3], time: string) => {
  const { decisions, state } = replay(plan, records);
  return controlIssues(plan, decisions, state, request, time);
};

describe('parseControlRequest', () => {
  it('takes a pause, a resume and an approval of an epoch', () => {
    expect(parseControlRequest({ control: 'pause' })).toEqual({ control: 'pause' });
    expect(parseControlRequest({ control: 'resume' })).toEqual({ control: 'resume' });
    expect(parseControlRequest({ control: 'approve', epoch: 3 })).toEqual({ control: 'approve', epoch: 3 });
  });

  it('names each wrong field', () => {
    expect(issuesOf(() => parseControlRequest({ control: 'override' }))).toEqual([
      { path: 'control', reason: 'must be pause, resume, approve or drill, got "override"' },
    ]);
    expect(issuesOf(() => parseControlRequest({ control: 'approve', epoch: 0 })).map((i) => i.path)).toEqual([
      'epoch',
    ]);
    expect(issuesOf(() => parseControlRequest({ control: 'approve', epoch: 2.5 }))[0]?.reason).toMatch(
      /^must be an integer of at least 1 .*got 2.5$/,
    );
    expect(issuesOf(() => parseControlRequest({ control: 'approve', epoch: '3' }))[0]?.path).toBe('epoch');
    expect(issuesOf(() => parseControlRequest({ control: 'approve' }))[0]?.path).toBe('epoch');
    expect(issuesOf(() => parseControlRequest({ control: 'pause', epoch: 3 }))).toEqual([
      { path: 'epoch', reason: 'is for approve only: a pause or a resume names no epoch' },
    ]);
    expect(issuesOf(() => parseControlRequest({ control: 'pause', by: 'mallory' }))).toEqual([
      { path: 'by', reason: 'is not a field of a DR control' },
    ]);
    expect(issuesOf(() => parseControlRequest(['pause']))[0]?.path).toBe('(body)');
  });
});

describe('controlIssues', () => {
  it('takes an approval of the epoch awaiting it, before its deadline, and records the move it approves', () => {
    const time = '2026-03-02T10:02:00Z';
    const { decisions } = replay(plan, OUTAGE);

    expect(checkAt(OUTAGE, { control: 'approve', epoch: 3 }, time)).toEqual([]);
    expect(controlRecord(plan, decisions, { control: 'approve', epoch: 3 }, 'arn:bob', time)).toEqual({
      time,
      control: 'approve',
      service: 'payments-api',
      by: 'arn:bob',
      decision: 'failover',
      epoch: 3,
    });
  });

  it('refuses another epoch, an approval past its timeout, and one with no move waiting, naming the epoch', () => {
    expect(checkAt(OUTAGE, { control: 'approve', epoch: 2 }, '2026-03-02T10:02:00Z')).toEqual([
      { path: 'epoch', reason: 'epoch 2 is not the one awaiting approval (the failover of epoch 3 is)' },
    ]);
    expect(checkAt(OUTAGE, { control: 'approve', epoch: 3 }, '2026-03-02T11:01:00Z')).toEqual([
      {
        path: 'epoch',
        reason: 'no payments-api move is awaiting approval (the run of epoch 3 is approval-timed-out)',
      },
    ]);
    expect(checkAt(OUTAGE.slice(0, 2), { control: 'approve', epoch: 1 }, '2026-03-02T10:02:00Z')).toEqual([
      { path: 'epoch', reason: 'no payments-api move is awaiting approval' },
    ]);
  });

  it('refuses a pause of a paused plan and a resume of one not paused; a global pause is not the plan’s', () => {
    const pause: ControlRecord = {
      time: '2026-03-02T10:00:30Z',
      control: 'pause',
      service: 'payments-api',
      by: 'arn:bob',
    };
    const globalPause: ControlRecord = { time: '2026-03-02T10:00:30Z', control: 'pause', by: 'arn:ops' };
    const at = '2026-03-02T10:01:00Z';

    expect(checkAt(OUTAGE.slice(0, 2), { control: 'pause' }, at)).toEqual([]);
    expect(checkAt(OUTAGE.slice(0, 2), { control: 'resume' }, at)).toEqual([
      { path: 'control', reason: 'running (not paused)' },
    ]);
    expect(checkAt([...OUTAGE.slice(0, 2), pause], { control: 'pause' }, at)).toEqual([
      { path: 'control', reason: 'already paused' },
    ]);
    expect(checkAt([...OUTAGE.slice(0, 2), pause], { control: 'resume' }, at)).toEqual([]);
    expect(checkAt([...OUTAGE.slice(0, 2), globalPause], { control: 'pause' }, at)).toEqual([]);
  });
});

describe('storedControlIssues (the deployed route: the run as stored, the recorded controls)', () => {
  const storedAt = (records: DrRecord[], time: string) =>
    runFromDecisions(plan, replay(plan, records).decisions, time);
  const pause: ControlRecord = {
    time: '2026-03-02T10:00:30Z',
    control: 'pause',
    service: 'payments-api',
    by: 'arn:bob',
  };
  const resume: ControlRecord = { ...pause, time: '2026-03-02T10:00:40Z', control: 'resume' };

  it('answers as the log replayed does: the approval against the run awaiting it, pause and resume', () => {
    const cases: [DrRecord[], Parameters<typeof controlIssues>[3], string][] = [
      [OUTAGE, { control: 'approve', epoch: 3 }, '2026-03-02T10:02:00Z'],
      [OUTAGE, { control: 'approve', epoch: 2 }, '2026-03-02T10:02:00Z'],
      [OUTAGE, { control: 'approve', epoch: 3 }, '2026-03-02T11:01:00Z'],
      [OUTAGE.slice(0, 2), { control: 'approve', epoch: 1 }, '2026-03-02T10:02:00Z'],
    ];
    for (const [records, request, time] of cases)
      expect(storedControlIssues(storedAt(records, time), [], plan, request, time)).toEqual(
        checkAt(records, request, time),
      );
  });

  it('refuses a pause of a paused plan and a resume of one not paused, by the last control recorded', () => {
    const at = '2026-03-02T10:01:00Z';
    const check = (controls: ControlRecord[], control: 'pause' | 'resume') =>
      storedControlIssues(null, controls, plan, { control }, at);

    expect(check([], 'pause')).toEqual([]);
    expect(check([], 'resume')).toEqual([{ path: 'control', reason: 'running (not paused)' }]);
    expect(check([pause], 'pause')).toEqual([{ path: 'control', reason: 'already paused' }]);
    expect(check([pause], 'resume')).toEqual([]);
    expect(check([pause, resume], 'pause')).toEqual([]);
    expect(check([{ ...pause, service: 'ledger' }], 'resume')).toEqual([
      { path: 'control', reason: 'running (not paused)' },
    ]);
  });
});

describe('pauseInputs', () => {
  const running = startRun(planWith(), failoverDecision(planWith())).run;
  const ctl = (control: 'pause' | 'resume', time: string, service = 'payments-api'): ControlRecord => ({
    time,
    control,
    service,
    by: 'arn:bob',
  });
  const now = '2026-03-02T10:09:00Z';

  it('pauses a running run at the last pause recorded, with its time and principal', () => {
    expect(pauseInputs(running, [ctl('pause', '2026-03-02T10:07:00Z')], now)).toEqual([
      { type: 'pause', by: 'arn:bob', time: '2026-03-02T10:07:00Z' },
    ]);
  });

  it('resumes a paused run at now, and does nothing when the run already follows the log', () => {
    const paused = advance(running, { type: 'pause', by: 'arn:bob', time: '2026-03-02T10:07:00Z' }).run;
    const log = [ctl('pause', '2026-03-02T10:07:00Z'), ctl('resume', '2026-03-02T10:08:00Z')];

    expect(pauseInputs(paused, log, now)).toEqual([{ type: 'resume', by: 'arn:bob', time: now }]);
    expect(pauseInputs(running, log, now)).toEqual([]);
    expect(pauseInputs(paused, log.slice(0, 1), now)).toEqual([]);
    expect(pauseInputs(running, [], now)).toEqual([]);
  });

  it("ignores another service's controls and a finished run", () => {
    const finished = { ...running, status: 'stalled' as const };

    expect(pauseInputs(running, [ctl('pause', '2026-03-02T10:07:00Z', 'ledger')], now)).toEqual([]);
    expect(pauseInputs(finished, [ctl('pause', '2026-03-02T10:07:00Z')], now)).toEqual([]);
  });

  it('opens a run paused when the plan was paused before its decision was taken, and starts it on resume', () => {
    const p = planWith();
    const log = [ctl('pause', '2026-03-02T10:05:00Z')];

    const opened = startRun(p, failoverDecision(p), recordedPause(log, 'payments-api'));
    const resumed = advance(opened.run, { type: 'resume', by: 'arn:bob', time: now });

    expect(recordedPause(log, 'payments-api')).toEqual({ by: 'arn:bob', since: '2026-03-02T10:05:00Z' });
    expect(recordedPause([...log, ctl('resume', '2026-03-02T10:06:00Z')], 'payments-api')).toBeNull();
    expect(recordedPause(log, 'ledger')).toBeNull();
    expect(opened.effects).toEqual([]);
    expect(opened.run.steps.map((s) => s.status)).toEqual(['pending', 'pending', 'pending', 'pending']);
    expect(resumed.run.steps.map((s) => s.status)).toEqual(['started', 'pending', 'pending', 'pending']);
    expect(resumed.run.steps[0]?.startedAt).toBe(now);
    expect(resumed.effects.map((e) => e.type)).toEqual(['event', 'start-action']);
  });
});
