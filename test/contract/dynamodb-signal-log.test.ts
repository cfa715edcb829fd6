/**
 * The AWS side's signal log (functions/aws/signal-log.ts) against dynalite, the engine
 * behind the local AWS edge's DynamoDB: both copies' contract (test/support/signal-log-contract.ts),
 * and a read past a page of Query results.
 */
import { describe, expect, it } from 'vitest';
import { DynamoDbSignalLog } from '#aws/signal-log.ts';
import { useDynalite } from '../support/dynalite.ts';
import { observationAt, signalLogContract } from '../support/signal-log-contract.ts';

const db = useDynalite();

async function freshLog(): Promise<DynamoDbSignalLog> {
  return new DynamoDbSignalLog(db.client, await db.linksTable());
}

const at = observationAt;

describe('the DynamoDB signal log', () => {
  signalLogContract(freshLog);

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
