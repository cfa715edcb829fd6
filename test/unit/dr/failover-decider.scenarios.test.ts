import { describe, expect, it } from 'vitest';
import { replay, step } from '#core/dr/failover-decider.ts';
import { type Decision, initialState } from '#core/dr/failover-state.ts';
import type { DrRecord, SignalStatus } from '#core/dr/signal-log.ts';
import { fixture, PRIMARY, planWith, STANDBY } from './helpers.ts';

const plan = planWith();
const moves = (ds: Decision[]) => ds.filter((d) => d.decision !== 'hold');
const codes = (d: Decision | undefined) => d?.reasons.map((r) => r.code);

const T0 = Date.parse('2026-03-02T10:00:00Z');
const at = (s: number) => new Date(T0 + s * 1000).toISOString().replace('.000Z', 'Z');
const sig = (s: number, vantage: string, signal: string, status: SignalStatus): DrRecord => ({
  time: at(s),
  service: 'payments-api',
  vantage,
  signal,
  status,
});
/** Every `every` seconds in [from, to): each pair reports the status `status(vantage, signal)`. */
function reports(
  from: number,
  to: number,
  pairs: [string, string][],
  status: (vantage: string, signal: string, t: number) => SignalStatus,
  every = 10,
): DrRecord[] {
  const out: DrRecord[] = [];
  for (let t = from; t < to; t += every) for (const [v, s] of pairs) out.push(sig(t, v, s, status(v, s, t)));
  return out;
}
const byTime = (rs: DrRecord[]) => rs.sort((a, b) => Date.parse(a.time) - Date.parse(b.time));

describe('failover decider: scenario fixtures', () => {
  it('fails over after the hysteresis when a regional outage is seen by all three vantage points', () => {
    // Prepare
    const records = fixture('regional-outage.jsonl');

    // Act
    const { decisions, ignored } = replay(plan, records);

    // Assess: quorum at 10:05:03 (second observer), failover exactly 60 s later, nothing before
    expect(ignored).toEqual([]);
    const quorumSeen = decisions.find((d) => d.reasons[0]?.code === 'hysteresis');
    expect(quorumSeen?.time).toBe('2026-03-02T10:05:03Z');
    expect(moves(decisions)).toHaveLength(1);
    const failover = moves(decisions)[0]!;
    expect(failover).toMatchObject({
      time: '2026-03-02T10:06:03Z',
      decision: 'failover',
      approval: 'not-required',
      active: 'standby',
      trigger: 'tick',
    });
    expect(codes(failover)).toEqual([
      'quorum',
      'hysteresis-elapsed',
      'not-dampened',
      'standby-healthy',
      'replication-degraded',
    ]);
    expect(failover.actions?.map((a) => a.type)).toEqual([
      'fence-writer',
      'promote-replica',
      'scale-standby',
      'arc-routing-control',
    ]);
  });

  it('holds when one noisy observer reports the primary unhealthy', () => {
    // Prepare
    const records = fixture('noisy-observer.jsonl');

    // Act
    const { decisions } = replay(plan, records);

    // Assess
    expect(moves(decisions)).toEqual([]);
    expect(decisions.every((d) => d.reasons[0]?.code === 'no-quorum')).toBe(true);
    expect(records.filter((r) => 'status' in r && r.status === 'unhealthy').length).toBeGreaterThan(30);
  });

  it('does not fail over on a replication link flapping every 10 s for 10 minutes', () => {
    // Prepare
    const records = fixture('link-flapping.jsonl');

    // Act
    const { decisions } = replay(plan, records);

    // Assess: the link was unhealthy half the time; no move, no churn of decisions
    const linkDown = records.filter(
      (r) => 'signal' in r && r.signal.startsWith('replication-') && r.status === 'unhealthy',
    );
    expect(linkDown.length).toBeGreaterThanOrEqual(60);
    expect(moves(decisions)).toEqual([]);
    expect(decisions.map((d) => d.reasons[0]?.code)).toEqual(['no-quorum']);
  });

  it('fails back only after the stable period and the approval', () => {
    // Prepare
    const records = fixture('recovery.jsonl');

    // Act
    const { decisions, ignored, state } = replay(plan, records);

    // Assess
    const [failover, pending, failback, ...rest] = decisions.filter((d) => d.decision !== 'hold');
    expect(rest).toEqual([]);
    expect(failover).toMatchObject({ decision: 'failover', time: '2026-03-02T10:06:03Z' });
    // the blip at 10:30 restarted the stable period: healthy by quorum again from 10:30:33
    const blip = decisions.find((d) => d.time === '2026-03-02T10:30:00Z');
    expect(blip?.reasons[0]?.code).toBe('primary-not-recovered');
    expect(pending).toMatchObject({
      decision: 'failback',
      approval: 'pending',
      time: '2026-03-02T11:00:33Z',
      active: 'standby',
    });
    expect(pending?.actions).toBeUndefined();
    // the approval at 10:45 came before anything was pending and did nothing
    expect(ignored).toEqual([
      { index: expect.any(Number), reason: expect.stringMatching(/no failback is pending/) },
    ]);
    expect(records[ignored[0]!.index]?.time).toBe('2026-03-02T10:45:00Z');
    expect(failback).toMatchObject({
      decision: 'failback',
      approval: 'approved',
      by: 'carol@example.com',
      time: '2026-03-02T11:10:00Z',
      active: 'primary',
      trigger: 'control',
    });
    expect(failback?.actions?.[0]).toMatchObject({ type: 'fence-writer', cloud: 'gcp' });
    expect(failback?.actions?.[1]).toMatchObject({ type: 'promote-replica', cloud: 'aws' });
    expect(state.active).toBe('primary');
  });
});

describe('failover decider: guardrails', () => {
  const healthyStandby = (from: number, to: number) => reports(from, to, STANDBY, () => 'healthy');

  it('never counts unknown as unhealthy', () => {
    // Prepare: two observers cannot tell, the third sees the primary down
    const records = byTime([
      ...reports(0, 600, PRIMARY, (v) => (v === 'route53-checkers' ? 'unhealthy' : 'unknown')),
      ...healthyStandby(0, 600),
    ]);

    // Act
    const { decisions } = replay(plan, records);

    // Assess
    expect(moves(decisions)).toEqual([]);
  });

  it('does not count a vantage point inside the primary region towards the quorum', () => {
    // Prepare: a canary in us-east-1 plus one independent observer see the primary down
    const local = planWith((d) => {
      d.vantagePoints.push({ id: 'aws-us-east-1', cloud: 'aws', region: 'us-east-1' });
      d.signals[0]!.vantagePoints.push('aws-us-east-1');
    });
    const records = byTime([
      ...reports(0, 600, [...PRIMARY, ['aws-us-east-1', 'api-availability']], (v) =>
        v === 'aws-us-east-1' || v === 'aws-us-west-2' ? 'unhealthy' : 'healthy',
      ),
      ...healthyStandby(0, 600),
    ]);

    // Act
    const { decisions } = replay(local, records);

    // Assess
    expect(moves(decisions)).toEqual([]);
    expect(decisions.at(-1)?.reasons[0]?.message).toMatch(
      /1 of 3 independent vantage points \(aws:us-west-2\)/,
    );
  });

  it('resets the hysteresis when the quorum breaks before it elapses', () => {
    // Prepare: primary down for 50 s, up for 10 s, down for 50 s...
    const records = byTime([
      ...reports(0, 600, PRIMARY, (_v, _s, t) => (t % 60 < 50 ? 'unhealthy' : 'healthy')),
      ...healthyStandby(0, 600),
    ]);

    // Act
    const { decisions } = replay(plan, records);

    // Assess
    expect(moves(decisions)).toEqual([]);
    expect(decisions.some((d) => d.reasons[0]?.code === 'hysteresis')).toBe(true);
  });

  it('refuses to fail over to an unhealthy standby, and says so when no side is serving', () => {
    // Prepare
    const standbyDown = byTime([
      ...reports(0, 300, PRIMARY, () => 'unhealthy'),
      ...reports(0, 300, STANDBY, (v) => (v === 'gcp-us-west1' ? 'unhealthy' : 'healthy')),
    ]);
    const bothDown = byTime([
      ...reports(0, 300, PRIMARY, () => 'unhealthy'),
      ...reports(0, 300, STANDBY, () => 'unhealthy'),
    ]);

    // Act
    const one = replay(plan, standbyDown).decisions;
    const both = replay(plan, bothDown).decisions;

    // Assess
    expect(moves(one)).toEqual([]);
    expect(one.at(-1)?.reasons[0]?.code).toBe('standby-not-healthy');
    expect(moves(both)).toEqual([]);
    expect(both.at(-1)?.reasons[0]?.code).toBe('no-side-serving');
  });

  it('fails over at most once per dampening window even when the primary fails again after a failback', () => {
    // Prepare: stable period 2m and no approval, so a failback comes quickly
    const quick = planWith((d) => {
      d.failback = { stablePeriod: '2m', approval: 'none' };
    });
    const down = (t: number) => t < 300 || (t >= 600 && t < 1500);
    const records = byTime([
      ...reports(0, 2400, PRIMARY, (_v, _s, t) => (down(t) ? 'unhealthy' : 'healthy')),
      ...healthyStandby(0, 2400),
    ]);

    // Act
    const { decisions } = replay(quick, records);

    // Assess: failover at 1m, failback after 2m stable, second failure at 10m is dampened until 31m
    const m = moves(decisions);
    expect(m.map((d) => [d.decision, d.time])).toEqual([
      ['failover', at(60)],
      ['failback', at(420)],
    ]);
    expect(decisions.some((d) => d.reasons[0]?.code === 'dampened')).toBe(true);
  });

  it('fails back only once the replication path is healthy again', () => {
    // Prepare: failed over at 1m; the primary is back from 5m but the link stays down until 15m
    const quick = planWith((d) => {
      d.failback = { stablePeriod: '2m', approval: 'none' };
    });
    const LINK: [string, string][] = [
      ['aws-us-west-2', 'replication-dx'],
      ['gcp-us-west1', 'replication-link'],
    ];
    const records = byTime([
      ...reports(0, 1200, PRIMARY, (_v, _s, t) => (t < 300 ? 'unhealthy' : 'healthy')),
      ...healthyStandby(0, 1200),
      ...reports(0, 1200, LINK, (_v, _s, t) => (t < 900 ? 'unhealthy' : 'healthy')),
    ]);

    // Act
    const { decisions } = replay(quick, records);

    // Assess
    expect(moves(decisions).map((d) => [d.decision, d.time])).toEqual([
      ['failover', at(60)],
      ['failback', at(900)],
    ]);
    expect(decisions.find((d) => d.reasons[0]?.code === 'replication-unhealthy')?.time).toBe(at(420));
  });

  it('asks for approval when the plan requires it, and fails over only once approved', () => {
    // Prepare
    const gated = planWith((d) => {
      d.decider = { ...d.decider, approval: 'required' };
    });
    const records = byTime([...reports(0, 300, PRIMARY, () => 'unhealthy'), ...healthyStandby(0, 300)]);
    records.push({
      time: at(200),
      control: 'approve',
      service: 'payments-api',
      decision: 'failover',
      by: 'bob',
    });
    const ordered = byTime(records);

    // Act
    const { decisions } = replay(gated, ordered);

    // Assess
    expect(moves(decisions).map((d) => [d.decision, d.approval, d.time, d.by])).toEqual([
      ['failover', 'pending', at(60), undefined],
      ['failover', 'approved', at(200), 'bob'],
    ]);
  });

  it('withdraws a pending failover when the primary recovers before the approval', () => {
    // Prepare
    const gated = planWith((d) => {
      d.decider = { approval: 'required' };
    });
    const records = byTime([
      ...reports(0, 300, PRIMARY, (_v, _s, t) => (t < 120 ? 'unhealthy' : 'healthy')),
      ...healthyStandby(0, 300),
    ]);
    records.push({
      time: at(250),
      control: 'approve',
      service: 'payments-api',
      decision: 'failover',
      by: 'bob',
    });

    // Act
    const { decisions, ignored } = replay(gated, byTime(records));

    // Assess
    expect(moves(decisions).map((d) => d.approval)).toEqual(['pending']);
    expect(decisions.some((d) => codes(d)?.includes('approval-withdrawn'))).toBe(true);
    expect(ignored.map((i) => i.reason)).toEqual([expect.stringMatching(/no failover is pending/)]);
  });

  it('takes an approval only for the epoch of the move pending, so one that lands after that move was withdrawn and another raised approves nothing', () => {
    // Prepare: the primary down, back, down again: two pending failovers, each its own epoch
    const gated = planWith((d) => {
      d.decider = { approval: 'required' };
    });
    const signals = byTime([
      ...reports(0, 600, PRIMARY, (_v, _s, t) => (t < 120 || t >= 300 ? 'unhealthy' : 'healthy')),
      ...healthyStandby(0, 600),
    ]);
    const pendings = moves(replay(gated, signals).decisions).filter((d) => d.approval === 'pending');
    const [first, second] = pendings;
    const approve = (time: number, epoch: number): DrRecord => ({
      time: at(time),
      control: 'approve',
      service: 'payments-api',
      decision: 'failover',
      epoch,
      by: 'bob',
    });

    // Act: the first move's approval lands after the second is pending, then the second's own
    const late = replay(gated, byTime([...signals, approve(550, first?.epoch ?? 0)]));
    const right = replay(
      gated,
      byTime([...signals, approve(550, first?.epoch ?? 0), approve(560, second?.epoch ?? 0)]),
    );

    // Assess
    expect(pendings).toHaveLength(2);
    expect(Date.parse(second?.time ?? '')).toBeLessThan(Date.parse(at(550)));
    expect(moves(late.decisions).map((d) => d.approval)).toEqual(['pending', 'pending']);
    expect(late.ignored.map((i) => i.reason)).toEqual([
      `approval of epoch ${first?.epoch} by bob not taken: the failover pending is epoch ${second?.epoch}`,
    ]);
    expect(moves(right.decisions).map((d) => [d.approval, d.time, d.by])).toEqual([
      ['pending', first?.time, undefined],
      ['pending', second?.time, undefined],
      ['approved', at(560), 'bob'],
    ]);
  });

  it('moves on a manual override without quorum, but never to a side that is not serving', () => {
    // Prepare
    const healthy = byTime([...reports(0, 120, PRIMARY, () => 'healthy'), ...healthyStandby(0, 120)]);
    const override: DrRecord = {
      time: at(60),
      control: 'override',
      service: 'payments-api',
      side: 'standby',
      by: 'alice',
    };
    const deadStandby = byTime([
      ...reports(0, 120, PRIMARY, () => 'healthy'),
      ...reports(0, 120, STANDBY, () => 'unhealthy'),
    ]);

    // Act
    const moved = replay(plan, byTime([...healthy, override])).decisions;
    const refused = replay(plan, byTime([...deadStandby, override])).decisions;

    // Assess
    expect(moves(moved)).toMatchObject([
      { decision: 'failover', approval: 'approved', by: 'alice', time: at(60) },
    ]);
    expect(codes(moves(moved)[0])?.[0]).toBe('manual-override');
    expect(moves(refused)).toEqual([]);
    expect(refused.at(-1)?.reasons[0]?.code).toBe('no-side-serving');
  });

  it('moves nothing while the global pause switch is on, and resumes after', () => {
    // Prepare
    const records = byTime([...reports(0, 600, PRIMARY, () => 'unhealthy'), ...healthyStandby(0, 600)]);
    records.push(
      { time: at(5), control: 'pause', by: 'admin' },
      { time: at(300), control: 'resume', by: 'admin' },
    );

    // Act
    const { decisions } = replay(plan, byTime(records));

    // Assess
    expect(moves(decisions).map((d) => d.time)).toEqual([at(300)]);
    expect(decisions.some((d) => d.reasons[0]?.code === 'paused')).toBe(true);
  });

  it('treats a report older than staleAfter as unknown', () => {
    // Prepare: all three report the primary down once, then fall silent
    const records = byTime([
      ...reports(0, 10, PRIMARY, () => 'unhealthy'),
      ...healthyStandby(0, 10),
      ...healthyStandby(400, 410),
    ]);

    // Act
    const { decisions } = replay(plan, records);

    // Assess: the hysteresis elapsed at 60 s while the reports were fresh -> failover; the plan with a
    // staleAfter shorter than the hysteresis never fails over on the same stream
    expect(moves(decisions)).toHaveLength(1);
    const strict = planWith((d) => {
      d.decider = { staleAfter: '30s' };
    });
    expect(moves(replay(strict, records).decisions)).toEqual([]);
  });

  it('refuses inputs that go back in time', () => {
    // Prepare
    const first = step(
      plan,
      initialState(plan),
      sig(10, 'aws-us-west-2', 'api-availability', 'healthy'),
    ).state;

    // Act / Assess
    expect(() => step(plan, first, sig(5, 'aws-us-west-2', 'api-availability', 'healthy'))).toThrow(
      /earlier than the last input/,
    );
  });

  it('ignores signals the plan does not list, and says why', () => {
    // Prepare
    const records: DrRecord[] = [
      sig(0, 'route53-checkers', 'api-availability', 'unhealthy'),
      sig(1, 'aws-us-west-2', 'disk-space', 'unhealthy'),
    ];

    // Act
    const { ignored } = replay(plan, records);

    // Assess
    expect(ignored).toEqual([
      {
        index: 0,
        reason: '"route53-checkers" is not a vantage point of signal "api-availability" in the plan',
      },
      { index: 1, reason: 'signal "disk-space" is not in the plan' },
    ]);
  });
});

describe('failover decider: purity', () => {
  it('leaves the state it is given untouched, so a stored state can be replayed again', () => {
    // Prepare
    const records = fixture('recovery.jsonl');
    const mid = replay(plan, records.slice(0, 600)).state;
    const before = JSON.stringify(mid);

    // Act
    const a = replay(plan, records.slice(600), mid);
    const b = replay(plan, records.slice(600), mid);

    // Assess
    expect(JSON.stringify(mid)).toBe(before);
    expect(b.decisions).toEqual(a.decisions);
  });
});
