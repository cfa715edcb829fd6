/**
 * Google's copy of the signal log (functions/gcp/signal-log.ts) against the Firestore emulator: both
 * copies' contract (test/support/signal-log-contract.ts), and many observations read back in order.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FirestoreSignalLog } from '#gcp/signal-log.ts';
import { startTestFirestore, type TestFirestore } from '../support/firestore.ts';
import { observationAt, signalLogContract } from '../support/signal-log-contract.ts';

let firestore: TestFirestore;
beforeAll(async () => {
  firestore = await startTestFirestore();
});
afterAll(async () => {
  await firestore?.stop();
});

describe('the Firestore signal log', () => {
  signalLogContract(async () => new FirestoreSignalLog(firestore.db()));

  it('reads many observations back in time order, vantage points and signals apart at the same time', async () => {
    // Prepare: two vantage points a second apart for five minutes, recorded out of order
    const log = new FirestoreSignalLog(firestore.db());
    const start = Date.parse('2026-03-02T10:00:00Z');
    const lines = Array.from({ length: 600 }, (_, i) =>
      observationAt(
        new Date(start + Math.floor(i / 2) * 1000).toISOString(),
        i % 2 ? 'gcp-us-west1' : 'aws-us-west-2',
        'healthy',
      ),
    );

    // Act
    const added = await log.record([...lines].reverse());
    const all = await log.since('payments-api');

    // Assess
    expect(added).toBe(600);
    expect(all).toEqual(lines);
  });
});
