/**
 * The DynamoDB store against dynalite (the engine #3b puts behind the local AWS edge), run through
 * the same contract as the in-memory store. Each test gets its own table.
 */
import { DynamoDbLinkStore } from '#aws/dynamodb-link-store.ts';
import { ManualClock } from '#core/clock.ts';
import { useDynalite } from '../support/dynalite.ts';
import { linkStoreContract } from '../support/link-store-contract.ts';

const db = useDynalite();

linkStoreContract('DynamoDB (dynalite)', async () => {
  const clock = new ManualClock(Date.parse('2026-06-01T00:00:00Z'));
  return { store: new DynamoDbLinkStore(db.client, await db.linksTable(), clock), clock };
});
