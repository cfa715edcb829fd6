/**
 * The DR executor's Firestore store (functions/gcp/dr-executor-store.ts) on the Firestore emulator,
 * held to the same contract as the in-memory store the workflow tests use: claims fenced by the
 * epoch in a transaction, saves over the version read, refusals recorded, the first relayed result
 * kept. And two claims of one decision racing: exactly one wins.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRun } from '#core/dr/executor.ts';
import { FirestoreDrExecutorStore } from '#gcp/dr-executor-store.ts';
import { ledgerPlan, moveOf } from '../support/dr-ledger.ts';
import { drRunStoreContract } from '../support/dr-run-store-contract.ts';
import { startTestFirestore, type TestFirestore } from '../support/firestore.ts';
import { MemoryDrRuns } from '../support/memory-dr-runs.ts';

let firestore: TestFirestore;
beforeAll(async () => {
  firestore = await startTestFirestore();
}, 120_000);
afterAll(async () => {
  await firestore?.stop();
});

drRunStoreContract('memory', async () => {
  const store = new MemoryDrRuns();
  return { store, refusals: async () => store.refused };
});

drRunStoreContract('Firestore', async () => {
  const store = new FirestoreDrExecutorStore(firestore.db());
  return { store, refusals: (service) => store.refusals(service) };
});

describe('Firestore DR executor store', () => {
  it('lets exactly one of two racing claims of the same decision start the run, and records the other’s refusal', async () => {
    // Arrange
    const store = new FirestoreDrExecutorStore(firestore.db());
    const plan = ledgerPlan();
    const run = startRun(plan, moveOf(plan, 7, '2026-03-02T10:00:00.000Z')).run;
    // Act
    const claims = await Promise.all([
      store.claim(run, '2026-03-02T10:00:00.000Z', 'exec-a'),
      store.claim(run, '2026-03-02T10:00:00.000Z', 'exec-b'),
    ]);
    // Assess
    expect(claims.filter((c) => c.claimed)).toHaveLength(1);
    expect(await store.refusals(plan.service)).toHaveLength(1);
  });
});
