/**
 * The DynamoDB store against dynalite (the engine behind the local AWS edge), run through
 * the same contract as the in-memory store. Each test gets its own table.
 */
import { afterAll, beforeAll } from 'vitest';
import { DynamoDbLinkStore } from '#aws/link-store.ts';
import { ManualClock } from '#core/clock.ts';
import { type Dynalite, startDynalite } from '../support/dynalite.ts';
import { linkStoreContract } from '../support/link-store-contract.ts';

let db: Dynalite;

beforeAll(async () => {
  db = await startDynalite();
});
afterAll(async () => {
  await db?.stop();
});

linkStoreContract('DynamoDB (dynalite)', async () => {
  const clock = new ManualClock(Date.parse('2026-06-01T00:00:00Z'));
  return { store: new DynamoDbLinkStore(db.client, await db.table(), clock), clock };
});
