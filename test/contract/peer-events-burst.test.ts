/**
 * A burst of the peer's state changes (a watcher run after an outage), with duplicates and in a
 * shuffled order, through the AWS peer-event consumer and its DynamoDB store on the local cloud
 * (test/support/burst.ts): nothing lost, no sequence applied twice, nothing dead-lettered. 200 of
 * them here, well within a test's wall bound on a loaded machine; `npm run bench -- burst` sends
 * 1,000 and prints the same outcome beside its CPU and drain time, never asserted here.
 */
import { describe, expect, it } from 'vitest';
import { BURST_OF_1000, runBurst } from '../support/burst.ts';

describe('a burst of peer state changes', () => {
  it('200 changes over 20 links, 10% twice, shuffled: each link at its last sequence, none applied twice, none dead-lettered', async () => {
    const b = await runBurst({ ...BURST_OF_1000, links: 20 });
    expect(b.changes).toBe(200);
    expect(b.deliveries).toBeGreaterThan(200);
    expect(b.lost).toEqual([]);
    expect(b.appliedTwice).toEqual([]);
    expect(b.deadLettered).toBe(0);
    // Every delivery was answered: applied, or ignored as stale or already seen.
    expect(b.applied + b.ignored).toBe(b.deliveries);
    expect(b.applied).toBeGreaterThanOrEqual(20);
  });
});
