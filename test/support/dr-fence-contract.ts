/**
 * The contract both clouds' commanded-side fences keep (functions/core/dr/commanded.ts
 * `CommandedFence`: Firestore's functions/gcp/dr-fence.ts, DynamoDB's functions/aws/dr-fence.ts):
 * a command admitted once (two deliveries at the same time: one runs, the other is told it is in
 * progress), a redelivery after its result gets that result, a lower epoch and a late command are
 * refused and recorded, a command whose hook never answered is refused past its deadline, and one
 * whose hook was never called is kept among the refusals, its action free for a copy sent again.
 */
import { describe, expect, it } from 'vitest';
import type { CommandedFence, FenceAdmission } from '#core/dr/commanded.ts';
import type { ActionCommand } from '#core/dr/executor.ts';
import type { DrPlan } from '#core/dr/plan.ts';

const T0 = Date.parse('2026-03-02T10:06:03Z');
const at = (s: number) => new Date(T0 + s * 1000).toISOString();

/** `fresh` gives a fence with no command admitted for `service`. */
export function drFenceContract(
  name: string,
  plan: DrPlan,
  fresh: () => Promise<{ fence: CommandedFence; service: string }>,
): void {
  const command = (service: string, epoch: number, index: number, deadlineS = 300): ActionCommand => ({
    service,
    decision: 'failover',
    epoch,
    index,
    action: plan.actions.failover[index] as ActionCommand['action'],
    deadline: at(deadlineS),
  });

  describe(`the DR fence in ${name}`, () => {
    it('admits a command once: of two deliveries at once one runs; after its result a redelivery gets it', async () => {
      // Prepare
      const { fence, service } = await fresh();
      // Act
      const both: FenceAdmission[] = await Promise.all([
        fence.admit(command(service, 4, 0), at(1)),
        fence.admit(command(service, 4, 0), at(1)),
      ]);
      await fence.record({
        service,
        epoch: 4,
        index: 0,
        outcome: 'succeeded',
        time: at(5),
        detail: 'promoted',
      });
      const redelivered = await fence.admit(command(service, 4, 0), at(6));
      // Assess
      expect(both.map((a) => a.verdict).sort()).toEqual(['in-progress', 'run']);
      expect(redelivered).toMatchObject({
        verdict: 'duplicate',
        result: { epoch: 4, index: 0, outcome: 'succeeded', detail: 'promoted' },
      });
      expect((await fence.read(service)).epoch).toBe(4);
    });

    it('refuses and records a lower epoch and a command past its deadline', async () => {
      // Prepare
      const { fence, service } = await fresh();
      await fence.admit(command(service, 6, 0), at(1));
      // Act
      const stale = await fence.admit(command(service, 5, 1), at(2));
      const late = await fence.admit(command(service, 6, 1, 10), at(11));
      // Assess
      expect(stale).toMatchObject({ verdict: 'refused', result: { outcome: 'refused', epoch: 5 } });
      expect(late).toMatchObject({ verdict: 'refused', result: { outcome: 'refused', epoch: 6, index: 1 } });
      const stored = await fence.read(service);
      expect(stored.refused.map((r) => [r.epoch, r.index, r.reason.split(', not run')[0]])).toEqual([
        [5, 1, 'epoch 5 is below the current epoch 6: a stale command'],
        [6, 1, `arrived at ${at(11)}, after its deadline ${at(10)}: the executor no longer waits for it`],
      ]);
      expect(stored.epoch).toBe(6);
    });

    it('refuses a command admitted whose hook never answered, once past its deadline, and records it', async () => {
      // Prepare
      const { fence, service } = await fresh();
      await fence.admit(command(service, 8, 0, 60), at(1));
      // Act
      const meanwhile = await fence.admit(command(service, 8, 0, 60), at(30));
      const after = await fence.admit(command(service, 8, 0, 60), at(61));
      const again = await fence.admit(command(service, 8, 0, 60), at(62));
      // Assess
      expect(meanwhile.verdict).toBe('in-progress');
      expect(after).toMatchObject({ verdict: 'refused', result: { outcome: 'refused' } });
      expect(again).toMatchObject({ verdict: 'duplicate', result: { outcome: 'refused' } });
      expect((await fence.read(service)).refused).toHaveLength(1);
    });

    it('keeps a command whose hook was never called among its refusals, so a copy with a new deadline runs once', async () => {
      // Prepare: admitted before its deadline; its hook not called (the deadline passed first)
      const { fence, service } = await fresh();
      await fence.admit(command(service, 9, 0, 60), at(59));
      await fence.record({
        service,
        epoch: 9,
        index: 0,
        outcome: 'refused',
        time: at(61),
        detail: 'HookNotCalled: the deadline passed',
      });
      // Act
      const late = await fence.admit(command(service, 9, 0, 60), at(62));
      const copy = await fence.admit(command(service, 9, 0, 400), at(63));
      const copyAgain = await fence.admit(command(service, 9, 0, 400), at(64));
      // Assess
      expect(late).toMatchObject({ verdict: 'refused', result: { outcome: 'refused' } });
      expect(copy.verdict).toBe('run');
      expect(copyAgain.verdict).toBe('in-progress');
      const stored = await fence.read(service);
      expect(stored.results).toEqual({});
      expect(stored.refused.map((r) => r.reason)).toEqual([
        'HookNotCalled: the deadline passed',
        expect.stringContaining('after its deadline'),
      ]);
    });
  });
}
