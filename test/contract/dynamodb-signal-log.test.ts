/**
 * The AWS side's signal log (functions/aws/signal-log.ts) against dynalite, the engine
 * behind the local AWS edge's DynamoDB: each observation kept once, read back in time order since a
 * time, and the export replayed by the decider as `dr evaluate` reads it.
 */
import { describe, expect, it } from 'vitest';
import { DynamoDbSignalLog } from '#aws/signal-log.ts';
import type { Observation } from '#core/dr/observations.ts';
import { parseSignalLog } from '#core/dr/signal-log.ts';
import { useDynalite } from '../support/dynalite.ts';

const db = useDynalite();

async function freshLog(): Promise<DynamoDbSignalLog> {
  return new DynamoDbSignalLog(db.client, await db.linksTable());
}

const at = (
  time: string,
  vantage: string,
  status: Observation['status'],
  service = 'payments-api',
): Observation => ({
  time,
  service,
  vantage,
  signal: 'api-availability',
  status,
});

describe('the DynamoDB signal log', () => {
  it('keeps each observation once, and reads them back in time order whatever the time format', async () => {
    // Prepare
    const log = await freshLog();
    const a = at('2026-03-02T10:00:00.500Z', 'gcp-us-west1', 'healthy');
    const b = at('2026-03-02T10:00:00Z', 'aws-us-west-2', 'healthy');
    const c = at('2026-03-02T10:01:00Z', 'aws-us-west-2', 'unhealthy');

    // Act
    const first = await log.record([a, b]);
    const again = await log.record([a, c, at('2026-03-02T10:00:30Z', 'aws-us-west-2', 'healthy', 'ledger')]);
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
    const log = await freshLog();
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

  it('reads past a page of results', async () => {
    // Prepare: items big enough that a Query returns more than one page (a page holds at most 1 MB)
    const log = await freshLog();
    const big = 'x'.repeat(990);
    const many = Array.from({ length: 900 }, (_, i) => ({
      ...at(
        new Date(Date.parse('2026-03-02T10:00:00Z') + i * 1000).toISOString(),
        'aws-us-west-2',
        'healthy',
      ),
      detail: big,
    }));
    await log.record(many);

    // Act
    const all = await log.since('payments-api');

    // Assess
    expect(all).toHaveLength(900);
    expect(all.at(-1)).toEqual(many.at(-1));
  });
});
