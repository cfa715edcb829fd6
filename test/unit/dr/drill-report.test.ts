/**
 * The drill's report (functions/core/dr/drill-report.ts): each move's RTO from the command to the
 * first request the moved-to side answered (the TTL inside it), the RPO at the promotion, the client
 * errors by kind, and the problems that make the drill fail: a move not ended or not succeeded, a
 * side never serving, an objective missed, a failback never commanded.
 */
import { describe, expect, it } from 'vitest';
import { drill } from '#core/dr/drill.ts';
import {
  type ClientSample,
  type DrillObserved,
  drillReport,
  drillReportLines,
  type ObservedMove,
} from '#core/dr/drill-report.ts';
import { planWith } from './helpers.ts';

const MIN = 60_000;
const T0 = Date.parse('2026-03-02T10:00:00Z');
const plan = planWith();
const schedule = drill(plan, { holdMs: 2 * MIN });

const move = (
  m: 'failover' | 'failback',
  commandedAt: number,
  over: Partial<ObservedMove> = {},
): ObservedMove => ({
  move: m,
  commandedAt,
  epoch: m === 'failover' ? 4 : 5,
  outcome: 'succeeded',
  actions: [
    {
      index: 0,
      type: 'promote-replica',
      cloud: 'gcp',
      startedAt: commandedAt + 1000,
      finishedAt: commandedAt + 3000,
      outcome: 'succeeded',
    },
  ],
  finishedAt: commandedAt + 5000,
  ...over,
});

/** One request a second from `from` to `to` (exclusive), answered as `answer` says. */
function samples(from: number, to: number, answer: (at: number) => Omit<ClientSample, 'at'>): ClientSample[] {
  const out: ClientSample[] = [];
  for (let at = from; at < to; at += 1000) out.push({ at, ...answer(at) });
  return out;
}

/** A drill: failover commanded at T0, served by Google from +70 s; failback at +4m, AWS from +5m10s. */
function observed(over: Partial<DrillObserved> = {}): DrillObserved {
  return {
    drill: schedule,
    rpo: plan.objectives.rpo,
    ttlMs: MIN,
    moves: { failover: move('failover', T0), failback: move('failback', T0 + 4 * MIN) },
    samples: [
      ...samples(T0 - 10_000, T0 + 10_000, () => ({ ok: true, cloud: 'aws' })),
      ...samples(T0 + 10_000, T0 + 70_000, () => ({ ok: false, error: 'region-down' })),
      ...samples(T0 + 70_000, T0 + 4 * MIN + 30_000, () => ({ ok: true, cloud: 'gcp' })),
      ...samples(T0 + 4 * MIN + 30_000, T0 + 5 * MIN + 10_000, () => ({ ok: false, error: 'http-503' })),
      ...samples(T0 + 5 * MIN + 10_000, T0 + 6 * MIN, () => ({ ok: true, cloud: 'aws' })),
    ],
    lossWindowMs: 1000,
    endedAt: T0 + 6 * MIN,
    ...over,
  };
}

describe('the drill report', () => {
  it('measures each move from its command to the first request the moved-to side answered, the RPO and the client errors', () => {
    // Act
    const r = drillReport(observed());
    // Assess
    expect(r.failover.rtoMs).toBe(70_000);
    expect(r.failback?.rtoMs).toBe(70_000);
    expect(r.failover.to).toEqual(plan.standby);
    expect(r.failback?.to).toEqual(plan.primary);
    expect(r.failover.epoch).toBe(4);
    expect(r.failback?.epoch).toBe(5);
    expect(r.rpo.lossWindowMs).toBe(1000);
    expect(r.objectives).toEqual({ rtoMs: 15 * MIN, rpoMs: MIN });
    // from the failover's command (T0) to the end: 360 requests, 60 + 40 of them errors
    expect(r.client).toEqual({ requests: 360, errors: 100, byKind: { 'region-down': 60, 'http-503': 40 } });
    expect(r.problems).toEqual([]);
    expect(r.passed).toBe(true);
  });

  it("counts the TTL in the budget of a commanded move: its actions' timeouts and the record's TTL", () => {
    // Act
    const r = drillReport(observed({ ttlMs: 300_000 }));
    // Assess
    const actions = schedule.failover.actions.reduce((sum, a) => sum + a.timeoutMs, 0);
    expect(r.failover.budgetMs).toBe(actions + 300_000);
    expect(r.ttlMs).toBe(300_000);
  });

  it('fails a drill whose RTO or RPO is over the objective, naming each', () => {
    // Act
    const late = drillReport(
      observed({
        samples: [
          ...samples(T0, T0 + 16 * MIN, () => ({ ok: false, error: 'dns' })),
          ...samples(T0 + 16 * MIN, T0 + 17 * MIN, () => ({ ok: true, cloud: 'gcp' })),
          ...samples(T0 + 17 * MIN, T0 + 18 * MIN, () => ({ ok: true, cloud: 'aws' })),
        ],
        moves: { failover: move('failover', T0), failback: move('failback', T0 + 17 * MIN) },
        lossWindowMs: 90_000,
        endedAt: T0 + 18 * MIN,
      }),
    );
    // Assess
    expect(late.failover.rtoMs).toBe(16 * MIN);
    expect(late.problems).toEqual([
      "failover: RTO 16m is over the plan's 15m",
      "RPO: 1m30s of writes lost is over the plan's 1m",
    ]);
    expect(late.passed).toBe(false);
  });

  it('fails a drill whose move stalled, was never decided, or was never served, and one stopped before the failback', () => {
    // Act
    const stalled = drillReport(
      observed({
        moves: { failover: move('failover', T0, { outcome: 'stalled' }) },
        samples: samples(T0, T0 + MIN, () => ({ ok: false, error: 'region-down' })),
        lossWindowMs: undefined,
      }),
    );
    const undecided = drillReport(
      observed({
        moves: { failover: move('failover', T0, { epoch: undefined, outcome: undefined, actions: [] }) },
      }),
    );
    // Assess
    expect(stalled.problems).toEqual([
      'failover (epoch 4): its run ended stalled',
      'failover: the client was never served by gcp after the command',
      'failback: not commanded (the drill stopped before it)',
      'RPO: the promotion reported no data loss to measure',
    ]);
    expect(undecided.problems[0]).toBe('failover: no move was decided after the command');
    expect(undecided.passed).toBe(false);
  });

  it('prints each move with its epoch, actions and RTO against the plan and the budget, then the RPO and the client', () => {
    // Act
    const lines = drillReportLines(drillReport(observed()));
    // Assess
    expect(lines[0]).toBe('payments-api: drill report (executor aws, hold 2m)');
    expect(lines[1]).toMatch(
      /^failover to gcp us-central1: epoch 4, succeeded, commanded \+0ms, RTO 1m10s \(plan 15m, budget \S+ incl\. TTL 1m\)$/,
    );
    expect(lines[2]).toBe('   1. gcp promote-replica  started +1s  succeeded +3s');
    expect(lines[3]).toMatch(/^failback to aws us-east-1: epoch 5, succeeded, commanded \+4m, RTO 1m10s/);
    expect(lines.slice(-3)).toEqual([
      'RPO at promotion: 1s of writes lost (plan 1m)',
      'client errors: 100 of 360 requests (region-down 60, http-503 40)',
      'drill passed',
    ]);
  });
});
