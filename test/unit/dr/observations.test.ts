import { describe, expect, it } from 'vitest';
import { replay } from '#core/dr/failover-decider.ts';
import {
  healthCheckObservation,
  linkObservation,
  linkSignals,
  NEW_STREAK,
  observeProbe,
  type ProbeOutcome,
  type ProbeStreak,
  probesOf,
  probeTarget,
} from '#core/dr/observations.ts';
import { issuesOf, planWith } from './helpers.ts';

const target = { method: 'GET' as const, url: 'http://127.0.0.1:9/healthz', failuresInARow: 3 };
const ok: ProbeOutcome = { answered: true, status: 200 };
const refused: ProbeOutcome = { answered: false, error: 'connection refused' };

/** Runs the outcomes in turn; returns each run's status and reason. */
function run(outcomes: [ProbeOutcome, boolean][], start: ProbeStreak = NEW_STREAK) {
  let streak = start;
  return outcomes.map(([o, reachable]) => {
    const r = observeProbe(streak, target, o, reachable);
    streak = r.streak;
    return r.reason ? `${r.status}:${r.reason}` : r.status;
  });
}

describe('probe targets from the plan', () => {
  it('reads GET, the URL and the failures in a row from each probe signal of a vantage point', () => {
    // Prepare
    const plan = planWith();

    // Act
    const probes = probesOf(plan, 'gcp-us-west1');

    // Assess
    expect(probes.map((p) => [p.spec.name, p.target])).toEqual([
      [
        'api-availability',
        { method: 'GET', url: 'https://payments.us-east-1.example.com/healthz', failuresInARow: 3 },
      ],
      [
        'standby-readiness',
        { method: 'GET', url: 'https://payments.us-central1.example.com/readyz', failuresInARow: 1 },
      ],
    ]);
  });

  it('refuses a probe detail without a GET URL, or with a count out of range, naming the field', () => {
    // Act
    const none = issuesOf(() =>
      probeTarget({ name: 'x', observes: 'primary', source: 'probe', vantagePoints: [] }, 'signals[0]'),
    );
    const zero = issuesOf(() =>
      probeTarget(
        {
          name: 'x',
          observes: 'primary',
          source: 'probe',
          detail: 'GET http://a/healthz, 0 failures in a row',
          vantagePoints: [],
        },
        'signals[2]',
      ),
    );

    // Assess
    expect(none).toEqual([
      { path: 'signals[0].detail', reason: expect.stringMatching(/must start with "GET/) },
    ]);
    expect(zero).toEqual([{ path: 'signals[2].detail', reason: 'failures in a row must be 1 to 10; got 0' }]);
  });

  it('refuses a vantage point the plan does not have', () => {
    expect(issuesOf(() => probesOf(planWith(), 'aws-eu-west-1'))).toEqual([
      { path: 'vantage', reason: 'aws-eu-west-1 is not a vantage point of plan payments-api' },
    ]);
  });
});

describe('a probe run', () => {
  it('turns unhealthy only at the third failure in a row and healthy at the first success', () => {
    // Act
    const statuses = run([
      [ok, true],
      [refused, true],
      [{ answered: true, status: 503 }, true],
      [refused, true],
      [refused, true],
      [ok, true],
    ]);

    // Assess
    expect(statuses).toEqual(['healthy', 'healthy', 'healthy', 'unhealthy', 'unhealthy', 'healthy']);
  });

  it('a success between failures restarts the count', () => {
    expect(
      run([
        [refused, true],
        [refused, true],
        [ok, true],
        [refused, true],
        [refused, true],
      ]),
    ).toEqual(['unknown', 'unknown', 'healthy', 'healthy', 'healthy']);
  });

  it("records the vantage point's own network failure as such and never counts it against the service", () => {
    // Act: two real failures, then the vantage point loses its network for many runs, then one more failure
    const statuses = run([
      [ok, true],
      [refused, true],
      [refused, true],
      [refused, false],
      [refused, false],
      [refused, false],
      [refused, false],
      [ok, true],
    ]);
    const blind = observeProbe(NEW_STREAK, target, refused, false);

    // Assess
    expect(statuses).toEqual([
      'healthy',
      'healthy',
      'healthy',
      'unknown:vantage-down',
      'unknown:vantage-down',
      'unknown:vantage-down',
      'unknown:vantage-down',
      'healthy',
    ]);
    expect(blind.detail).toMatch(/vantage point's network down: .*connection refused.*control endpoint/);
  });

  it('a 2xx answer is a success even when the control endpoint failed', () => {
    expect(observeProbe(NEW_STREAK, target, ok, false).status).toBe('healthy');
  });
});

describe("the external checker's HealthCheckStatus", () => {
  const now = Date.parse('2026-03-02T10:05:00Z');

  it('the newest datapoint in the window decides: 1 healthy, 0 unhealthy', () => {
    // Act
    const down = healthCheckObservation(
      [
        { time: now - 120_000, value: 1 },
        { time: now - 60_000, value: 0 },
      ],
      now,
      300_000,
      'hc-1',
    );
    const up = healthCheckObservation([{ time: now - 60_000, value: 1 }], now, 300_000, 'hc-1');

    // Assess
    expect(down).toEqual({
      status: 'unhealthy',
      detail: 'HealthCheckStatus of hc-1: 0 at 2026-03-02T10:04:00.000Z',
    });
    expect(up.status).toBe('healthy');
  });

  it('no datapoint in the window (or only future ones) is unknown, reason no-data', () => {
    const r = healthCheckObservation(
      [
        { time: now - 600_000, value: 0 },
        { time: now + 60_000, value: 0 },
      ],
      now,
      300_000,
      'hc-1',
    );
    expect(r).toEqual({
      status: 'unknown',
      reason: 'no-data',
      detail: 'HealthCheckStatus of hc-1: no datapoint in the last 300s',
    });
  });
});

describe("the replication link's state", () => {
  it('ACTIVE and DEGRADED carry replication, DOWN and FAILED do not, the rest say nothing', () => {
    expect(
      ['ACTIVE', 'DEGRADED', 'DOWN', 'FAILED', 'PROVISIONING', 'DECOMMISSIONED'].map(
        (s) => linkObservation(s, 'why').status,
      ),
    ).toEqual(['healthy', 'healthy', 'unhealthy', 'unhealthy', 'unknown', 'unknown']);
    expect(linkObservation('DOWN', 'both BGP sessions down').detail).toBe(
      'link DOWN: both BGP sessions down',
    );
  });
});

describe('link signals from LinkStateChanged', () => {
  it('gives each vantage point its own replication signals, and none to one without', () => {
    // Prepare
    const plan = planWith();
    const change = { time: '2026-03-02T10:05:00Z', to: 'DOWN', reason: 'every BGP session down' };

    // Act
    const google = linkSignals(plan, 'gcp-us-west1', change);
    const aws = linkSignals(plan, 'aws-us-west-2', change);
    const checker = linkSignals(plan, 'route53-checkers', change);

    // Assess
    expect(google).toEqual([
      {
        time: '2026-03-02T10:05:00Z',
        service: 'payments-api',
        vantage: 'gcp-us-west1',
        signal: 'replication-link',
        status: 'unhealthy',
        detail: 'link DOWN: every BGP session down',
      },
    ]);
    expect(aws.map((o) => [o.signal, o.status])).toEqual([['replication-dx', 'unhealthy']]);
    expect(checker).toEqual([]);
  });

  it('a link signal never moves traffic: the link down alone decides no failover', () => {
    // Prepare
    const plan = planWith();
    const log = ['gcp-us-west1', 'aws-us-west-2'].flatMap((v) =>
      linkSignals(plan, v, { time: '2026-03-02T10:05:00Z', to: 'DOWN', reason: 'all sessions down' }),
    );
    log.push({ ...log[0]!, time: '2026-03-02T11:00:00Z' });

    // Act
    const { decisions } = replay(plan, log);

    // Assess
    expect(decisions.every((d) => d.decision === 'hold')).toBe(true);
    expect(decisions[0]?.reasons.map((r) => r.code)).toContain('replication-degraded');
  });
});
