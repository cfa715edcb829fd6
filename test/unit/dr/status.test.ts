import { describe, expect, it } from 'vitest';
import { replay } from '#core/dr/failover-decider.ts';
import {
  healthCheckObservation,
  NEW_STREAK,
  type Observation,
  observeProbe,
  type ProbeStreak,
  probesOf,
} from '#core/dr/observations.ts';
import { planWarnings } from '#core/dr/plan.ts';
import { signalGaps } from '#core/dr/serving.ts';
import { parseSignalLog } from '#core/dr/signal-log.ts';
import { drStatus, vantageFreshness } from '#core/dr/status.ts';
import { exampleDoc, planWith } from './helpers.ts';

const plan = planWith();
const T0 = Date.parse('2026-03-02T10:00:00Z');
const iso = (ms: number) => new Date(ms).toISOString().replace('.000Z', 'Z');

/**
 * An incident as the vantage points see it, one run a minute for 20 minutes: the primary's region is
 * out from minute `outageAt`; `blind` says when a vantage point's own network is down.
 */
function incident(opts: { outageAt?: number; blind?: (vantage: string, minute: number) => boolean }) {
  const log: Observation[] = [];
  const streaks = new Map<string, ProbeStreak>();
  const healthPoints: { time: number; value: number }[] = [];
  for (let minute = 0; minute < 20; minute++) {
    const at = T0 + minute * 60_000;
    const primaryDown = opts.outageAt !== undefined && minute >= opts.outageAt;
    for (const vantage of ['aws-us-west-2', 'gcp-us-west1']) {
      const reachable = !opts.blind?.(vantage, minute);
      for (const { spec, target } of probesOf(plan, vantage)) {
        const up = reachable && (spec.observes === 'standby' || !primaryDown);
        const key = `${vantage}/${spec.name}`;
        const r = observeProbe(
          streaks.get(key) ?? NEW_STREAK,
          target,
          up ? { answered: true, status: 200 } : { answered: false, error: 'connection reset' },
          reachable,
        );
        streaks.set(key, r.streak);
        log.push({
          time: iso(at),
          service: plan.service,
          vantage,
          signal: spec.name,
          status: r.status,
          detail: r.detail,
          ...(r.reason && { reason: r.reason }),
        });
      }
    }
    healthPoints.push({ time: at, value: primaryDown ? 0 : 1 });
    const hc = healthCheckObservation(healthPoints, at, 300_000, 'primary-api');
    for (const signal of ['api-health-check', 'standby-readiness'])
      log.push({
        time: iso(at),
        service: plan.service,
        vantage: 'route53-checkers',
        signal,
        status: signal === 'standby-readiness' ? 'healthy' : hc.status,
        detail: hc.detail,
      });
  }
  // Through the log's text, as `dr evaluate` reads it.
  return parseSignalLog(log.map((l) => JSON.stringify(l)).join('\n'));
}

describe('an incident recorded by the three vantage points', () => {
  it("a primary-region outage seen by all three decides exactly one failover once the probes' count and the hysteresis hold", () => {
    // Act
    const { decisions } = replay(plan, incident({ outageAt: 5 }));

    // Assess: probes fail at 10:05, 10:06, 10:07 (3 in a row): quorum at 10:05 (route53) + 10:07; hysteresis 1m
    const moves = decisions.filter((d) => d.decision !== 'hold');
    expect(moves.map((d) => [d.decision, d.time])).toEqual([['failover', '2026-03-02T10:08:00Z']]);
  });

  it("a vantage point's own network failure is recorded as vantage-down and decides nothing", () => {
    // Act
    const log = incident({ blind: (v, m) => v === 'aws-us-west-2' && m >= 3 });
    const { decisions } = replay(plan, log);
    const status = drStatus(plan, log, T0 + 19 * 60_000);

    // Assess
    expect(decisions.map((d) => d.decision)).toEqual(['hold']);
    expect(log.filter((r) => 'reason' in r && r.reason === 'vantage-down')).toHaveLength(17 * 2);
    expect(status.vantagePoints.find((v) => v.vantage === 'aws-us-west-2')?.freshness).toBe('blind');
    expect(status.active).toBe('primary');
  });
});

describe('dr status', () => {
  it('shows a vantage point whose reports stopped arriving (a relay partition) as stale, and the others fresh', () => {
    // Prepare: the AWS side's copy of the log; Google's reports stop arriving at 10:04
    const log = incident({}).filter(
      (r) => !('vantage' in r && r.vantage === 'gcp-us-west1' && Date.parse(r.time) >= T0 + 4 * 60_000),
    );

    // Act
    const at = T0 + 19 * 60_000;
    const fresh = vantageFreshness(plan, log, at);

    // Assess
    const last = { signal: 'standby-readiness', status: 'healthy' };
    expect(fresh).toEqual([
      { vantage: 'aws-us-west-2', freshness: 'fresh', lastReport: '2026-03-02T10:19:00Z', ageMs: 0, last },
      {
        vantage: 'gcp-us-west1',
        freshness: 'stale',
        lastReport: '2026-03-02T10:03:00Z',
        ageMs: 16 * 60_000,
        last,
      },
      { vantage: 'route53-checkers', freshness: 'fresh', lastReport: '2026-03-02T10:19:00Z', ageMs: 0, last },
    ]);
    // and Google's side is silent since its last line
    expect(signalGaps(plan, log, at)).toEqual([
      { side: 'gcp', from: '2026-03-02T10:03:00Z', ms: 16 * 60_000 },
    ]);
  });

  it('a vantage point with no report at all is silent; records after the time asked are left out', () => {
    const log = incident({}).filter((r) => 'vantage' in r && r.vantage === 'route53-checkers');
    const status = drStatus(plan, log, T0 + 30_000);
    expect(status.vantagePoints.map((v) => v.freshness)).toEqual(['silent', 'silent', 'fresh']);
    expect(status.now).toBe('2026-03-02T10:00:30Z');
  });

  it("runs the decider's deadlines up to the time asked: the failover's hysteresis ends without a new record", () => {
    // Prepare: the outage's records up to 10:07, when the quorum forms; nothing after
    const log = incident({ outageAt: 5 }).filter((r) => Date.parse(r.time) <= T0 + 7 * 60_000);

    // Act
    const before = drStatus(plan, log, T0 + 7 * 60_000 + 59_000);
    const after = drStatus(plan, log, T0 + 8 * 60_000);

    // Assess
    expect(before.active).toBe('primary');
    expect(after.active).toBe('standby');
    expect(after.decisions.filter((d) => d.decision !== 'hold')).toMatchObject([
      { decision: 'failover', time: '2026-03-02T10:08:00Z', trigger: 'tick' },
    ]);
    expect(before.decisions.filter((d) => d.decision !== 'hold')).toEqual([]);
  });
});

describe('dr validate warnings', () => {
  it("warns when the external checker's status is read in the primary's region (Route 53, us-east-1)", () => {
    expect(planWarnings(plan)).toEqual([
      {
        path: 'vantagePoints[2]',
        reason: expect.stringMatching(
          /^external checker route53-checkers \(route53-health-checks\) is read from aws us-east-1, the primary's region/,
        ),
      },
    ]);
  });

  it('says nothing when the primary is elsewhere, and warns for an external checker placed in the primary region', () => {
    // Prepare
    const west = exampleDoc();
    west.primary = { cloud: 'aws', region: 'us-west-1' };
    const placed = exampleDoc();
    placed.primary = { cloud: 'aws', region: 'eu-west-1' };
    placed.vantagePoints.push({
      id: 'pingdom',
      cloud: 'external',
      provider: 'third-party',
      region: 'eu-west-1',
    });

    // Act / Assess
    expect(planWarnings(west)).toEqual([]);
    expect(planWarnings(placed)).toEqual([
      {
        path: 'vantagePoints[3].region',
        reason:
          "external checker pingdom runs in eu-west-1, the primary's region: it can fail with the region it watches",
      },
    ]);
  });
});
