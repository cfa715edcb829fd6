/**
 * What `npm run bench -- dr-failover` measures (test/support/dr-failover-cost.ts), checked as counts
 * and virtual times: one failover per executor from a primary-region outage, the AWS one through the
 * real dr-failover ASL on the local Step Functions, the Google one through the dr-failover workflow on
 * the interpreter. The AWS count follows from the state machine's shape (3 fixed transitions and 3
 * per look); the Google count is held to the world test's bound (a fixed part, a few steps per action
 * and per poll). No wall time is asserted.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { awsFailoverCost, googleFailoverCost } from '../support/dr-failover-cost.ts';
import { LEDGER } from '../support/dr-ledger-world.ts';
import { startTestFirestore, type TestFirestore } from '../support/firestore.ts';

const ROUTE53_TTL_MS = 60_000;
const RELAY_CROSSING_MS = 1_000;

describe('the dr-failover bench', () => {
  it('AWS: one look of the state machine after the flip, 6 transitions; the clients on the standby a TTL after the flip', async () => {
    // Act
    const c = await awsFailoverCost();

    // Assess: Decide, Finished?, WaitForDeadline, Tick, Finished?, Done (the run ended before the first look)
    expect(c.status).toBe('SUCCEEDED');
    expect(c.count).toBe(6);
    // The fence answered by AWS's drCommanded, the promotion and scaling by Google: a crossing each
    expect(c.decisionToFlipMs).toBe(3 * RELAY_CROSSING_MS);
    expect(c.decisionToServedMs).toBeGreaterThan(c.decisionToFlipMs);
    expect(c.decisionToServedMs).toBeLessThanOrEqual(c.decisionToFlipMs + ROUTE53_TTL_MS + 1_000);
    expect(c.decisionToServedMs).toBeLessThanOrEqual(c.rtoMs);
    expect(c.rtoMs).toBe(15 * 60_000);
  }, 120_000);

  describe('Google', () => {
    let firestore: TestFirestore;
    beforeAll(async () => {
      firestore = await startTestFirestore();
    }, 60_000);
    afterAll(async () => {
      await firestore?.stop();
    });

    it('the workflow steps within a fixed part and a few per action and poll; the clients served before the RTO', async () => {
      // Act
      const c = await googleFailoverCost(firestore);

      // Assess
      expect(c.status).toBe('SUCCEEDED');
      expect(c.polls).toBeGreaterThan(0);
      expect(c.count).toBeLessThanOrEqual(20 + 10 * 4 + 5 * (c.polls ?? 0));
      expect(c.decisionToFlipMs).toBeGreaterThan(0);
      expect(c.decisionToServedMs).toBeLessThanOrEqual(c.decisionToFlipMs + LEDGER.ttlS * 1000 + 30_000);
      expect(c.decisionToServedMs).toBeLessThanOrEqual(c.rtoMs);
      expect(c.rtoMs).toBe(30 * 60_000);
    }, 240_000);
  });
});
