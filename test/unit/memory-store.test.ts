import { ManualClock } from '#core/clock.ts';
import { linkStoreContract } from '../support/link-store-contract.ts';
import { MemoryLinkStore } from '../support/memory-store.ts';

linkStoreContract('in memory', async () => {
  const clock = new ManualClock(Date.parse('2026-06-01T00:00:00Z'));
  return { store: new MemoryLinkStore(clock), clock };
});
