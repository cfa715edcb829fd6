/**
 * What both clouds' copies of the signal log promise (functions/core/dr/vantage.ts `SignalLogStore`
 * and `ProbeStreakStore`): each observation kept once, read back in time order since a time whatever
 * the time's format, a vantage point's probe streaks kept apart from the observations. Run against
 * DynamoDB (dynalite) and Firestore (the emulator).
 */
import { expect, it } from 'vitest';
import type { Observation } from '#core/dr/observations.ts';
import { parseSignalLog } from '#core/dr/signal-log.ts';
import type { ProbeStreakStore, SignalLogStore } from '#core/dr/vantage.ts';

export const observationAt = (
  time: string,
  vantage: string,
  status: Observation['status'],
  service = 'payments-api',
): Observation => ({ time, service, vantage, signal: 'api-availability', status });

export function signalLogContract(fresh: () => Promise<SignalLogStore & ProbeStreakStore>): void {
  it('keeps each observation once, and reads them back in time order whatever the time format', async () => {
    // Prepare
    const log = await fresh();
    const a = observationAt('2026-03-02T10:00:00.500Z', 'gcp-us-west1', 'healthy');
    const b = observationAt('2026-03-02T10:00:00Z', 'aws-us-west-2', 'healthy');
    const c = observationAt('2026-03-02T10:01:00Z', 'aws-us-west-2', 'unhealthy');

    // Act
    const first = await log.record([a, b]);
    const again = await log.record([
      a,
      c,
      observationAt('2026-03-02T10:00:30Z', 'aws-us-west-2', 'healthy', 'ledger'),
    ]);
    const all = await log.since('payments-api');
    const later = await log.since('payments-api', Date.parse('2026-03-02T10:00:00.200Z'));

    // Assess
    expect([first, again]).toEqual([2, 2]);
    expect(all).toEqual([b, a, c]);
    expect(later).toEqual([a, c]);
    expect(parseSignalLog(all.map((o) => JSON.stringify(o)).join('\n'))).toEqual(all);
  });

  it("keeps a vantage point's probe streaks between runs, apart from the observations", async () => {
    // Prepare
    const log = await fresh();
    const before = await log.streaks('payments-api', 'aws-us-west-2');

    // Act
    await log.keepStreaks('payments-api', 'aws-us-west-2', {
      'api-availability': { failures: 2, reported: 'healthy' },
    });
    await log.keepStreaks('payments-api', 'gcp-us-west1', {
      'api-availability': { failures: 0, reported: 'healthy' },
    });
    await log.keepStreaks('payments-api', 'aws-us-west-2', {
      'api-availability': { failures: 3, reported: 'unhealthy' },
    });

    // Assess
    expect(before).toEqual({});
    expect(await log.streaks('payments-api', 'aws-us-west-2')).toEqual({
      'api-availability': { failures: 3, reported: 'unhealthy' },
    });
    expect(await log.streaks('payments-api', 'gcp-us-west1')).toEqual({
      'api-availability': { failures: 0, reported: 'healthy' },
    });
    expect(await log.since('payments-api')).toEqual([]);
  });
}
