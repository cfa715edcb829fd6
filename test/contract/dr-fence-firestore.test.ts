/**
 * The commanded side's fence on Google (functions/gcp/dr-fence.ts) against the Firestore emulator,
 * held to the contract both clouds' fences keep (test/support/dr-fence-contract.ts): a command
 * admitted once (two deliveries at the same time: one runs, the other is told it is in progress), a
 * redelivery after its result gets that result, a lower epoch and a late command are refused and
 * recorded, and a command whose hook never answered is refused past its deadline.
 */
import { afterAll, beforeAll } from 'vitest';
import { FirestoreDrFence } from '#gcp/dr-fence.ts';
import { drFenceContract } from '../support/dr-fence-contract.ts';
import { startTestFirestore, type TestFirestore } from '../support/firestore.ts';
import { planWith } from '../unit/dr/helpers.ts';

let firestore: TestFirestore;
beforeAll(async () => {
  firestore = await startTestFirestore();
}, 120_000);
afterAll(async () => {
  await firestore?.stop();
});

let services = 0;
// One document per service: each test its own service.
drFenceContract('Firestore', planWith(), async () => ({
  fence: new FirestoreDrFence(firestore.db()),
  service: `payments-${++services}`,
}));
