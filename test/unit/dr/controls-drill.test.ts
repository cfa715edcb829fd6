/**
 * A drill's start and end as operator controls (functions/core/dr/controls.ts): the request's
 * `phase`, the checks offline (the log replayed) and deployed (the run as stored, the recorded
 * controls), and the line recorded (`side`: standby at the start, primary at the end).
 */
import { describe, expect, it } from 'vitest';
import {
  type ControlRequest,
  controlIssues,
  controlRecord,
  parseControlRequest,
  storedControlIssues,
} from '#core/dr/controls.ts';
import type { Run } from '#core/dr/executor.ts';
import { runFromDecisions } from '#core/dr/executor-supervision.ts';
import { replay } from '#core/dr/failover-decider.ts';
import type { ControlRecord, DrRecord } from '#core/dr/signal-log.ts';
import { issuesOf, PRIMARY, planWith, STANDBY } from './helpers.ts';

const plan = planWith();
const AT = '2026-03-02T10:05:00Z';
const START: ControlRequest = { control: 'drill', phase: 'start' };
const END: ControlRequest = { control: 'drill', phase: 'end' };
const healthy: DrRecord[] = [...PRIMARY, ...STANDBY].map(([vantage, signal]) => ({
  time: '2026-03-02T10:00:00Z',
  service: 'payments-api',
  vantage,
  signal,
  status: 'healthy',
}));
const control = (time: string, c: Partial<ControlRecord>): ControlRecord => ({
  time,
  control: 'drill',
  service: 'payments-api',
  by: 'arn:bob',
  ...c,
});
const offline = (records: DrRecord[], request: ControlRequest) => {
  const { decisions, state } = replay(plan, records);
  return controlIssues(plan, decisions, state, request, AT);
};

describe('a drill control', () => {
  it('takes a start or an end, and names a missing or wrong phase', () => {
    expect(parseControlRequest({ control: 'drill', phase: 'start' })).toEqual(START);
    expect(parseControlRequest({ control: 'drill', phase: 'end' })).toEqual(END);
    expect(issuesOf(() => parseControlRequest({ control: 'drill' }))).toEqual([
      { path: 'phase', reason: "must be start or end (the drill's), got undefined" },
    ]);
    expect(issuesOf(() => parseControlRequest({ control: 'pause', phase: 'start' }))).toEqual([
      { path: 'phase', reason: 'is for drill only' },
    ]);
  });

  it('offline: starts from the primary, once; ends only the drill under way; never while paused', () => {
    const started = [...healthy, control('2026-03-02T10:01:00Z', { side: 'standby' })];
    const paused = [
      ...healthy,
      { time: '2026-03-02T10:01:00Z', control: 'pause', service: 'payments-api', by: 'ops' } as DrRecord,
    ];
    expect(offline(healthy, START)).toEqual([]);
    expect(offline(healthy, END)).toEqual([{ path: 'phase', reason: 'no drill is under way to end' }]);
    expect(offline(started, START)).toEqual([
      { path: 'phase', reason: 'a drill is under way (started by arn:bob at 2026-03-02T10:01:00.000Z)' },
    ]);
    expect(offline(started, END)).toEqual([]);
    expect(offline(paused, START)).toEqual([
      { path: 'control', reason: 'paused: resume the plan before a drill moves it' },
    ]);
  });

  it('deployed: refused while a run is under way, while a drill is on, or with the service already on the standby', () => {
    const { decisions } = replay(plan, [...healthy, control('2026-03-02T10:01:00Z', { side: 'standby' })]);
    // Read within the first action's timeout (the fence's 2m), while the run is still running.
    const open = runFromDecisions(plan, decisions, '2026-03-02T10:02:00Z') as Run;
    const done: Run = { ...open, status: 'succeeded' };
    const drillOn = [control('2026-03-02T10:01:00Z', { side: 'standby' })];
    const drillOff = [...drillOn, control('2026-03-02T10:04:00Z', { side: 'primary' })];
    const check = (run: Run | null, controls: ControlRecord[], request: ControlRequest) =>
      storedControlIssues(run, controls, plan, request, AT);

    expect(check(null, [], START)).toEqual([]);
    expect(check(open, drillOn, START).map((i) => i.reason)).toEqual([
      `the failover of epoch ${open.epoch} is under way (running)`,
      'a drill is under way (started by arn:bob at 2026-03-02T10:01:00.000Z)',
    ]);
    expect(check(done, drillOn, END)).toEqual([]);
    expect(check(done, drillOff, END)).toEqual([{ path: 'phase', reason: 'no drill is under way to end' }]);
    expect(check(done, drillOff, START)).toEqual([
      { path: 'phase', reason: 'the service is on the standby: a drill starts from the primary' },
    ]);
  });

  it('deployed: no drill starts after a failover that failed or stalled; one withdrawn or never approved moved nothing; a failback after the start ended the drill', () => {
    const { decisions } = replay(plan, [...healthy, control('2026-03-02T10:01:00Z', { side: 'standby' })]);
    const failover = runFromDecisions(plan, decisions, AT) as Run;
    const ended = (status: Run['status']): Run => ({ ...failover, status });
    const check = (run: Run | null, controls: ControlRecord[], request: ControlRequest) =>
      storedControlIssues(run, controls, plan, request, AT);
    const onStandby = [
      { path: 'phase', reason: 'the service is on the standby: a drill starts from the primary' },
    ];

    for (const status of ['failed', 'stalled'] as const)
      expect(check(ended(status), [], START)).toEqual(onStandby);
    for (const status of ['withdrawn', 'approval-timed-out'] as const)
      expect(check(ended(status), [], START)).toEqual([]);
    // The standby failed during the hold: the executor's failback, started after the drill's start, ended it
    const drillOn = [control('2026-03-02T10:01:00Z', { side: 'standby' })];
    const failback: Run = {
      ...failover,
      decision: 'failback',
      epoch: failover.epoch + 1,
      status: 'succeeded',
      startedAt: '2026-03-02T10:03:00Z',
    };
    expect(check(failback, drillOn, START)).toEqual([]);
    expect(check(failback, drillOn, END)).toEqual([
      { path: 'phase', reason: 'no drill is under way to end' },
    ]);
  });

  it('records the side the drill moves to: the standby at its start, the primary at its end', () => {
    expect(controlRecord(plan, [], START, 'arn:bob', AT)).toEqual(control(AT, { side: 'standby' }));
    expect(controlRecord(plan, [], END, 'arn:bob', AT)).toEqual(control(AT, { side: 'primary' }));
  });
});
