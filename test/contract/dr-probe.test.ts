/**
 * The vantage points' probe run (functions/core/dr/probe-run.ts with its fetch adapter) against the
 * protected service's health endpoints on loopback HTTP, on the world's manual clock: an outage of
 * the primary's region, and a vantage point's own network failing. The recorded observations are
 * replayed through the decider as `dr evaluate` does.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { replay } from '#core/dr/failover-decider.ts';
import type { Observation, ProbeStreak } from '#core/dr/observations.ts';
import type { DrPlan } from '#core/dr/plan.ts';
import { fetchGet, runProbes } from '#core/dr/probe-run.ts';
import { parseSignalLog } from '#core/dr/signal-log.ts';
import { VirtualClock } from '#local/clock.ts';
import { ServiceHealthServer } from '#local/world/health-server.ts';
import { serviceWorldOf } from '#local/world/protected-service.ts';
import { regionOutagesOf } from '#local/world/region-outages.ts';
import { addPaymentsService, probedPlan, PROBE_VANTAGES as VANTAGES } from '../support/dr-world.ts';

let clock: VirtualClock;
let server: ServiceHealthServer;
let base: string;
let plan: DrPlan;

beforeEach(async () => {
  clock = new VirtualClock({ mode: 'manual', start: Date.parse('2026-06-01T10:00:00Z') });
  addPaymentsService(clock);
  server = new ServiceHealthServer(clock);
  base = await server.start();
  plan = probedPlan(base);
});
afterEach(async () => {
  await server.stop();
  clock.stop();
});

/** Every vantage point's probe run once a minute for `minutes`, `during` changing the world before each minute. */
async function probeFor(
  minutes: number,
  during: (minute: number) => void = () => {},
): Promise<Observation[]> {
  const log: Observation[] = [];
  const streaks = new Map<string, Record<string, ProbeStreak>>();
  for (let minute = 0; minute < minutes; minute++) {
    during(minute);
    for (const vantage of VANTAGES) {
      const run = await runProbes(
        { get: fetchGet(vantage, 2_000), clock },
        { plan, vantage, controlUrl: `${base}/connectivity`, streaks: streaks.get(vantage) ?? {} },
      );
      streaks.set(vantage, run.streaks);
      log.push(...run.observations);
    }
    await clock.advance(60_000);
  }
  return log;
}

const statuses = (log: Observation[], vantage: string, signal: string) =>
  log.filter((o) => o.vantage === vantage && o.signal === signal).map((o) => o.reason ?? o.status);

/** The log through its JSON lines, as `dr evaluate` reads it, then the decider. */
const decide = (log: Observation[]) =>
  replay(plan, parseSignalLog(log.map((o) => JSON.stringify(o)).join('\n')));

describe('probe runs against the service world', () => {
  it("an outage of the primary's region: unhealthy at the third failure in a row from both vantage points, the standby ready; one failover", async () => {
    // Act
    const log = await probeFor(8, (m) => m === 2 && regionOutagesOf(clock).set('aws', 'us-east-1', true));
    const { decisions } = decide(log);

    // Assess
    for (const v of VANTAGES) {
      expect(statuses(log, v, 'api-availability')).toEqual([
        'healthy',
        'healthy',
        'healthy',
        'healthy',
        'unhealthy',
        'unhealthy',
        'unhealthy',
        'unhealthy',
      ]);
      expect(statuses(log, v, 'standby-readiness')).toEqual(Array(8).fill('healthy'));
    }
    expect(log.find((o) => o.status === 'unhealthy')?.detail).toMatch(
      /healthz: .* \(3 of 3 failures in a row\)$/,
    );
    expect(decisions.filter((d) => d.decision !== 'hold').map((d) => [d.decision, d.time])).toEqual([
      ['failover', '2026-06-01T10:05:00Z'],
    ]);
  });

  it("a vantage point's own network failing is recorded as vantage-down, not as the primary down, and decides nothing", async () => {
    // Act
    const log = await probeFor(8, (m) => {
      if (m === 2) serviceWorldOf(clock).vantageDown.add('aws-us-west-2');
    });
    const { decisions } = decide(log);

    // Assess
    expect(statuses(log, 'aws-us-west-2', 'api-availability')).toEqual([
      'healthy',
      'healthy',
      ...Array(6).fill('vantage-down'),
    ]);
    expect(statuses(log, 'gcp-us-west1', 'api-availability')).toEqual(Array(8).fill('healthy'));
    expect(log.filter((o) => o.reason === 'vantage-down').every((o) => o.status === 'unknown')).toBe(true);
    expect(decisions.map((d) => d.decision)).toEqual(['hold']);
  });
});
