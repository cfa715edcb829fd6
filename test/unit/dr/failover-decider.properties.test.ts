/**
 * Properties of the failover decider over generated signal streams (fast-check). The oracles below
 * recompute what the decider may rely on straight from the stream, without the decider's code.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { replay } from '#core/dr/failover-decider.ts';
import type { Decision } from '#core/dr/failover-state.ts';
import type { DrPlan } from '#core/dr/plan.ts';
import type { DrRecord, SignalRecord, SignalStatus } from '#core/dr/signal-log.ts';
import { planWith } from './helpers.ts';

/**
 * The example plan plus two observers that must not count: a canary inside the primary's region
 * (aws us-east-1, watching both sides) and one inside the standby's region (gcp us-central1,
 * watching the standby). Failback after 2 minutes
 * so that a stream sees several failovers and failbacks.
 */
function propertyPlan(failoverApproval: 'required' | 'none', failbackApproval: 'required' | 'none'): DrPlan {
  return planWith((d) => {
    d.vantagePoints.push(
      { id: 'aws-us-east-1', cloud: 'aws', region: 'us-east-1' },
      { id: 'gcp-us-central1', cloud: 'gcp', region: 'us-central1' },
    );
    d.signals[0]!.vantagePoints.push('aws-us-east-1');
    d.signals[2]!.vantagePoints.push('aws-us-east-1', 'gcp-us-central1');
    d.failback = { stablePeriod: '2m', approval: failbackApproval };
    d.decider = {
      quorum: 2,
      hysteresis: '60s',
      dampening: '30m',
      staleAfter: '5m',
      approval: failoverApproval,
    };
  });
}

type ValueOf<A> = A extends fc.Arbitrary<infer T> ? T : never;
type Pair = { vantage: string; signal: string; observes: 'primary' | 'standby' | 'replication' };
const PAIRS: Pair[] = [
  { vantage: 'aws-us-west-2', signal: 'api-availability', observes: 'primary' },
  { vantage: 'gcp-us-west1', signal: 'api-availability', observes: 'primary' },
  { vantage: 'aws-us-east-1', signal: 'api-availability', observes: 'primary' },
  { vantage: 'route53-checkers', signal: 'api-health-check', observes: 'primary' },
  { vantage: 'aws-us-west-2', signal: 'standby-readiness', observes: 'standby' },
  { vantage: 'gcp-us-west1', signal: 'standby-readiness', observes: 'standby' },
  { vantage: 'route53-checkers', signal: 'standby-readiness', observes: 'standby' },
  { vantage: 'aws-us-east-1', signal: 'standby-readiness', observes: 'standby' },
  { vantage: 'gcp-us-central1', signal: 'standby-readiness', observes: 'standby' },
  { vantage: 'aws-us-west-2', signal: 'replication-dx', observes: 'replication' },
  { vantage: 'gcp-us-west1', signal: 'replication-link', observes: 'replication' },
];
/** Independent observer of each vantage point for the side it watches; null inside that side's region. */
const OBSERVER: Record<string, Record<'primary' | 'standby', string | null>> = {
  'aws-us-west-2': { primary: 'aws:us-west-2', standby: 'aws:us-west-2' },
  'gcp-us-west1': { primary: 'gcp:us-west1', standby: 'gcp:us-west1' },
  'route53-checkers': { primary: 'external', standby: 'external' },
  'aws-us-east-1': { primary: null, standby: 'aws:us-east-1' },
  'gcp-us-central1': { primary: 'gcp:us-central1', standby: null },
};
const QUORUM = 2;
const STALE_MS = 5 * 60_000;
const DAMPENING_MS = 30 * 60_000;
const T0 = Date.parse('2026-03-02T10:00:00Z');

/** A stretch of time in which every pair keeps one behaviour. */
const status = fc.constantFrom<SignalStatus | 'silent'>(
  'healthy',
  'healthy',
  'unhealthy',
  'unhealthy',
  'unknown',
  'silent',
);
const mode = fc.constantFrom<'up' | 'down' | 'mixed'>('up', 'down', 'mixed');
const phase = fc.record({
  seconds: fc.integer({ min: 10, max: 600 }),
  every: fc.integer({ min: 10, max: 60 }),
  primary: mode,
  standby: mode,
  link: fc.constantFrom<'up' | 'down' | 'mixed'>('up', 'up', 'up', 'down', 'mixed'),
  mixed: fc.array(status, { minLength: PAIRS.length, maxLength: PAIRS.length }),
});
const approval = fc.record({
  offset: fc.integer({ min: 0, max: 80 * 60 }),
  decision: fc.constantFrom<'failover' | 'failback'>('failover', 'failback'),
});

/**
 * Streams with strictly increasing times (1 ms apart within a tick), so that the oracle knows which
 * records the decider had seen at a decision: those up to its time, or (for a tick) before it.
 */
function buildStream(phases: ValueOf<typeof phase>[], approvals: ValueOf<typeof approval>[]): DrRecord[] {
  const out: { at: number; record: DrRecord }[] = [];
  let t = 0;
  for (const p of phases) {
    for (let s = 0; s < p.seconds; s += p.every) {
      PAIRS.forEach((pair, i) => {
        const m = pair.observes === 'primary' ? p.primary : pair.observes === 'standby' ? p.standby : p.link;
        const st = m === 'up' ? 'healthy' : m === 'down' ? 'unhealthy' : p.mixed[i]!;
        if (st === 'silent') return;
        const at = T0 + (t + s) * 1000 + i;
        out.push({
          at,
          record: {
            time: new Date(at).toISOString(),
            service: 'payments-api',
            vantage: pair.vantage,
            signal: pair.signal,
            status: st,
          },
        });
      });
    }
    t += p.seconds;
  }
  approvals.forEach((a, i) => {
    const at = T0 + a.offset * 1000 + 500 + i; // never on a signal's millisecond
    out.push({
      at,
      record: {
        time: new Date(at).toISOString(),
        control: 'approve',
        service: 'payments-api',
        decision: a.decision,
        by: `approver-${i}`,
      },
    });
  });
  return out.sort((a, b) => a.at - b.at).map((o) => o.record);
}

const streams = fc.record({
  phases: fc.array(phase, { minLength: 1, maxLength: 10 }),
  approvals: fc.array(approval, { maxLength: 8 }),
  failoverApproval: fc.constantFrom<'required' | 'none'>('none', 'required'),
  failbackApproval: fc.constantFrom<'required' | 'none'>('none', 'required'),
});

/** Outages that come and go while the standby stays healthy: the pattern dampening is there for. */
const flapping = fc
  .record({
    phases: fc.array(
      fc.record({ seconds: fc.integer({ min: 60, max: 600 }), every: fc.integer({ min: 10, max: 30 }) }),
      { minLength: 2, maxLength: 14 },
    ),
    approvals: fc.array(approval, { maxLength: 8 }),
    failoverApproval: fc.constantFrom<'required' | 'none'>('none', 'required'),
    failbackApproval: fc.constant<'required' | 'none'>('none'),
  })
  .map((s) => ({
    ...s,
    phases: s.phases.map((p, i) => ({
      ...p,
      primary: i % 2 === 0 ? ('up' as const) : ('down' as const),
      standby: 'up' as const,
      link: 'up' as const,
      mixed: PAIRS.map(() => 'healthy' as const),
    })),
  }));
const anyStream = fc.oneof(streams, flapping);

/** What each independent observer says about a side at `time`, from the records the decider had seen. */
function oracleView(records: DrRecord[], d: Decision, side: 'primary' | 'standby') {
  const now = Date.parse(d.time);
  const seen = records.filter((r) =>
    d.trigger === 'tick' ? Date.parse(r.time) < now : Date.parse(r.time) <= now,
  );
  const latest = new Map<string, SignalRecord>();
  for (const r of seen) if ('signal' in r) latest.set(`${r.vantage}/${r.signal}`, r);
  const unhealthy = new Set<string>();
  const healthy = new Set<string>();
  for (const pair of PAIRS.filter((p) => p.observes === side)) {
    const observer = OBSERVER[pair.vantage]![side];
    const r = latest.get(`${pair.vantage}/${pair.signal}`);
    if (observer === null || !r || now - Date.parse(r.time) >= STALE_MS) continue;
    if (r.status === 'unhealthy') unhealthy.add(observer);
    if (r.status === 'healthy') healthy.add(observer);
  }
  for (const o of unhealthy) healthy.delete(o);
  return { unhealthy, healthy };
}

const executed = (ds: Decision[], kind: 'failover' | 'failback') =>
  ds.filter((d) => d.decision === kind && d.approval !== 'pending');

function run(input: ValueOf<typeof streams>) {
  const plan = propertyPlan(input.failoverApproval, input.failbackApproval);
  const records = buildStream(input.phases, input.approvals);
  return { plan, records, decisions: replay(plan, records).decisions };
}

const RUNS = { numRuns: 100 };

describe('failover decider properties', () => {
  it('the generated streams do exercise failovers and failbacks (the properties are not vacuous)', () => {
    // Prepare
    const samples = fc.sample(streams, { numRuns: 100, seed: 12 });
    const flapSamples = fc.sample(flapping, { numRuns: 100, seed: 12 });

    // Act
    const results = samples.map((x) => run(x).decisions);
    const flaps = flapSamples.map((x) => run(x).decisions);

    // Assess: out of 100 streams of each kind, some fail over, some fail back, some get dampened
    const count = (all: Decision[][], p: (ds: Decision[]) => boolean) => all.filter(p).length;
    expect(count(results, (ds) => executed(ds, 'failover').length > 0)).toBeGreaterThan(20);
    expect(count(results, (ds) => executed(ds, 'failback').length > 0)).toBeGreaterThan(5);
    expect(count(flaps, (ds) => ds.some((d) => d.reasons[0]?.code === 'dampened'))).toBeGreaterThan(20);
  });

  it('never fails over without a quorum of independent vantage points reporting the primary unhealthy', () => {
    fc.assert(
      fc.property(anyStream, (input) => {
        // Prepare / Act
        const { records, decisions } = run(input);

        // Assess
        for (const d of decisions.filter((x) => x.decision === 'failover')) {
          const { unhealthy } = oracleView(records, d, 'primary');
          expect(unhealthy.size, `failover at ${d.time} epoch ${d.epoch}`).toBeGreaterThanOrEqual(QUORUM);
        }
      }),
      RUNS,
    );
  });

  it('never fails over when at most one independent observer (plus in-region ones) sees the primary down', () => {
    const independent = ['aws-us-west-2', 'gcp-us-west1', 'route53-checkers'];
    fc.assert(
      fc.property(anyStream, fc.constantFrom(...independent), (input, noisy) => {
        // Prepare: only `noisy` and the us-east-1 canary may ever report the primary unhealthy
        const { plan, records: raw } = run(input);
        const records = raw.map((r) =>
          'signal' in r &&
          r.status === 'unhealthy' &&
          PAIRS.find((p) => p.vantage === r.vantage && p.signal === r.signal)?.observes === 'primary' &&
          r.vantage !== noisy &&
          r.vantage !== 'aws-us-east-1'
            ? { ...r, status: 'healthy' as const }
            : r,
        );

        // Act
        const { decisions } = replay(plan, records);

        // Assess
        expect(decisions.filter((d) => d.decision === 'failover')).toEqual([]);
      }),
      RUNS,
    );
  });

  it('fails over at most once per dampening window, whatever the signals', () => {
    fc.assert(
      fc.property(anyStream, (input) => {
        // Prepare / Act
        const { decisions } = run(input);

        // Assess
        const times = executed(decisions, 'failover').map((d) => Date.parse(d.time));
        for (let i = 1; i < times.length; i++)
          expect(times[i]! - times[i - 1]!).toBeGreaterThanOrEqual(DAMPENING_MS);
      }),
      RUNS,
    );
  });

  it('never fails over to a standby that is not seen healthy', () => {
    fc.assert(
      fc.property(anyStream, (input) => {
        // Prepare / Act
        const { records, decisions } = run(input);

        // Assess
        for (const d of decisions.filter((x) => x.decision === 'failover')) {
          const { unhealthy, healthy } = oracleView(records, d, 'standby');
          expect(unhealthy.size, `failover at ${d.time}: standby unhealthy per ${[...unhealthy]}`).toBe(0);
          expect(healthy.size).toBeGreaterThanOrEqual(QUORUM);
        }
      }),
      RUNS,
    );
  });

  it('gives every decision a strictly greater epoch than the one before', () => {
    fc.assert(
      fc.property(anyStream, (input) => {
        // Prepare / Act
        const { decisions } = run(input);

        // Assess
        for (let i = 1; i < decisions.length; i++)
          expect(decisions[i]!.epoch).toBeGreaterThan(decisions[i - 1]!.epoch);
      }),
      RUNS,
    );
  });

  it('gives the same decisions for the same stream, also when the replay stops and resumes from stored state', () => {
    fc.assert(
      fc.property(anyStream, fc.double({ min: 0, max: 1, noNaN: true }), (input, cut) => {
        // Prepare
        const { plan, records, decisions } = run(input);
        const at = Math.floor(records.length * cut);

        // Act
        const again = replay(plan, records).decisions;
        const first = replay(plan, records.slice(0, at));
        const stored = JSON.parse(JSON.stringify(first.state));
        const second = replay(plan, records.slice(at), stored);

        // Assess
        expect(again).toEqual(decisions);
        expect([...first.decisions, ...second.decisions]).toEqual(decisions);
      }),
      RUNS,
    );
  });

  it('moves traffic only in turn: failover from the primary, failback from the standby', () => {
    fc.assert(
      fc.property(anyStream, (input) => {
        // Prepare / Act
        const { decisions } = run(input);

        // Assess
        let active = 'primary';
        for (const d of decisions) {
          if (d.decision !== 'hold' && d.approval !== 'pending') {
            expect(d.decision).toBe(active === 'primary' ? 'failover' : 'failback');
            active = d.active;
          }
          expect(d.active).toBe(active);
        }
      }),
      RUNS,
    );
  });
});
