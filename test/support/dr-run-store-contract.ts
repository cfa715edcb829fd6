/**
 * The behaviour every DR executor store must have (functions/core/dr/executor-store.ts
 * `DrExecutorStore`), run against AWS's DynamoDB store, Google's Firestore store and the in-memory
 * store the workflow tests use, so that they cannot drift apart: the claim only above the stored
 * epoch and only once the run before has finished (the refusal recorded), the same owner's claim
 * found again, each save over the version it read. And Google's `DrRunStore` beside it (Firestore,
 * memory): the first relayed result kept.
 */
import { describe, expect, it } from 'vitest';
import { advance, startRun } from '#core/dr/executor.ts';
import type { DrRunStore } from '#core/dr/executor-steps.ts';
import type { DrExecutorStore, Refusal } from '#core/dr/executor-store.ts';
import { ConflictError } from '#core/errors.ts';
import { ledgerPlan, moveOf } from './dr-ledger.ts';

export interface DrExecutorStoreFixture<S extends DrExecutorStore = DrExecutorStore> {
  store: S;
  refusals: (service: string) => Promise<Refusal[]>;
}

const T0 = '2026-03-02T10:00:00.000Z';

export function drExecutorStoreContract(name: string, setup: () => Promise<DrExecutorStoreFixture>): void {
  const plan = ledgerPlan();
  describe(`DR executor store contract: ${name}`, () => {
    it('claims an epoch once: a duplicate, a lower epoch and a claim while the run is open are refused and recorded', async () => {
      // Arrange
      const { store, refusals } = await setup();
      const run3 = startRun(plan, moveOf(plan, 3, T0)).run;
      // Act
      const first = await store.claim(run3, T0, 'exec-a');
      const duplicate = await store.claim(run3, T0, 'exec-b');
      const lower = await store.claim(startRun(plan, moveOf(plan, 2, T0)).run, T0, 'exec-c');
      const whileOpen = await store.claim(startRun(plan, moveOf(plan, 5, T0)).run, T0, 'exec-d');
      // Assess
      expect(first).toEqual({ claimed: true, stored: { run: run3, version: 1 } });
      expect(duplicate).toMatchObject({ claimed: false, refusal: { epoch: 3 } });
      expect(JSON.stringify(duplicate)).toContain('not above the claimed epoch 3');
      expect(JSON.stringify(lower)).toContain('epoch 2 is not above the claimed epoch 3');
      expect(JSON.stringify(whileOpen)).toContain('the run of epoch 3 is running: one run at a time');
      expect((await refusals(plan.service)).map((r) => r.epoch).sort()).toEqual([2, 3, 5]);
      expect((await store.current(plan.service))?.run.epoch).toBe(3);
    });

    it("finds the same execution's claim again, and claims a higher epoch once the run has finished", async () => {
      // Arrange
      const { store } = await setup();
      const run = startRun(plan, moveOf(plan, 3, T0)).run;
      await store.claim(run, T0, 'exec-a');
      // Act
      const again = await store.claim(run, T0, 'exec-a');
      const stalled = advance(run, { type: 'tick', time: '2026-03-02T11:00:00.000Z' }).run;
      await store.save(stalled, 1);
      const next = await store.claim(startRun(plan, moveOf(plan, 4, T0)).run, T0, 'exec-b');
      // Assess
      expect(again).toEqual({ claimed: true, stored: { run, version: 1 }, again: true });
      expect(stalled.status).toBe('stalled');
      expect(next).toMatchObject({ claimed: true, stored: { version: 1 } });
      expect((await store.current(plan.service))?.run.epoch).toBe(4);
    });

    it('gives a retried claim its run as it now is, and refuses it once a later epoch was claimed', async () => {
      // Arrange
      const { store } = await setup();
      const run = startRun(plan, moveOf(plan, 3, T0)).run;
      await store.claim(run, T0, 'exec-a');
      const paused = advance(run, { type: 'pause', by: 'ops@example.com', time: T0 }).run;
      await store.save(paused, 1);
      // Act
      const retried = await store.claim(run, T0, 'exec-a');
      const stalled = advance(paused, { type: 'tick', time: '2026-03-02T11:00:00.000Z' }).run;
      await store.save(stalled, 2);
      await store.claim(startRun(plan, moveOf(plan, 4, T0)).run, T0, 'exec-b');
      const late = await store.claim(run, T0, 'exec-a');
      // Assess
      expect(retried).toEqual({ claimed: true, stored: { run: paused, version: 2 }, again: true });
      expect(late).toMatchObject({ claimed: false, refusal: { epoch: 3 } });
      expect(JSON.stringify(late)).toContain('epoch 3 is not above the claimed epoch 4');
      expect((await store.current(plan.service))?.run.epoch).toBe(4);
    });

    it('saves an advance only over the version it read', async () => {
      // Arrange
      const { store } = await setup();
      const run = startRun(plan, moveOf(plan, 3, T0)).run;
      await store.claim(run, T0, 'exec-a');
      const paused = advance(run, { type: 'pause', by: 'ops@example.com', time: T0 }).run;
      // Act
      const saved = await store.save(paused, 1);
      const stale = store.save(run, 1);
      // Assess
      expect(saved).toEqual({ run: paused, version: 2 });
      await expect(stale).rejects.toBeInstanceOf(ConflictError);
      expect(await store.current(plan.service)).toEqual({ run: paused, version: 2 });
    });
  });
}

/** Google's store: the shared contract, and the results the other cloud relays back. */
export function drRunStoreContract(
  name: string,
  setup: () => Promise<DrExecutorStoreFixture<DrRunStore>>,
): void {
  const plan = ledgerPlan();
  drExecutorStoreContract(name, setup);
  describe(`DR run store contract: ${name}`, () => {
    it('keeps the first relayed result of an action; a redelivery changes nothing', async () => {
      // Arrange
      const { store } = await setup();
      const result = { service: plan.service, epoch: 3, index: 0, outcome: 'succeeded' as const, time: T0 };
      // Act
      await store.putResult(result, '2026-03-02T10:00:01.000Z');
      await store.putResult({ ...result, outcome: 'failed' }, '2026-03-02T10:00:09.000Z');
      // Assess
      expect(await store.result(plan.service, 3, 0)).toEqual({
        result,
        receivedAt: '2026-03-02T10:00:01.000Z',
      });
      expect(await store.result(plan.service, 3, 1)).toBeUndefined();
    });
  });
}
