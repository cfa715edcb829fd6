/**
 * The commanded side's fence on AWS (functions/aws/dr-fence.ts) against dynalite, the engine behind
 * the local AWS edge's DynamoDB: a command admitted once (two deliveries at the same time: one runs,
 * the other is told it is in progress), a redelivery after its result gets that result, a lower epoch
 * and a late command are refused and recorded, and a command whose hook never answered is refused
 * past its deadline. The same cases as Google's fence in Firestore (dr-fence-firestore.test.ts).
 */
import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { describe, expect, it } from 'vitest';
import { DynamoDbDrFence } from '#aws/dr-fence.ts';
import type { FenceAdmission } from '#core/dr/commanded.ts';
import type { ActionCommand } from '#core/dr/executor.ts';
import { ledgerPlan } from '../support/dr-ledger.ts';
import { useDynalite } from '../support/dynalite.ts';

const db = useDynalite();
const plan = ledgerPlan();
const T0 = Date.parse('2026-03-02T10:06:03Z');
const at = (s: number) => new Date(T0 + s * 1000).toISOString();

const freshFence = async () => new DynamoDbDrFence(db.client, await db.linksTable());

function command(epoch: number, index: number, deadlineS = 300): ActionCommand {
  return {
    service: plan.service,
    decision: 'failover',
    epoch,
    index,
    action: plan.actions.failover[index] as ActionCommand['action'],
    deadline: at(deadlineS),
  };
}

describe('the DR fence in DynamoDB', () => {
  it('admits a command once: of two deliveries at once one runs; after its result a redelivery gets it', async () => {
    // Prepare
    const fence = await freshFence();
    // Act
    const both: FenceAdmission[] = await Promise.all([
      fence.admit(command(4, 0), at(1)),
      fence.admit(command(4, 0), at(1)),
    ]);
    await fence.record({
      service: plan.service,
      epoch: 4,
      index: 0,
      outcome: 'succeeded',
      time: at(5),
      detail: 'promoted',
    });
    const redelivered = await fence.admit(command(4, 0), at(6));
    // Assess
    expect(both.map((a) => a.verdict).sort()).toEqual(['in-progress', 'run']);
    expect(redelivered).toMatchObject({
      verdict: 'duplicate',
      result: { epoch: 4, index: 0, outcome: 'succeeded', detail: 'promoted' },
    });
    expect((await fence.read(plan.service)).epoch).toBe(4);
  });

  it('refuses and records a lower epoch and a command past its deadline', async () => {
    // Prepare
    const fence = await freshFence();
    await fence.admit(command(6, 0), at(1));
    // Act
    const stale = await fence.admit(command(5, 1), at(2));
    const late = await fence.admit(command(6, 1, 10), at(11));
    // Assess
    expect(stale).toMatchObject({ verdict: 'refused', result: { outcome: 'refused', epoch: 5 } });
    expect(late).toMatchObject({ verdict: 'refused', result: { outcome: 'refused', epoch: 6, index: 1 } });
    const stored = await fence.read(plan.service);
    expect(stored.refused.map((r) => [r.epoch, r.index, r.reason.split(', not run')[0]])).toEqual([
      [5, 1, 'epoch 5 is below the current epoch 6: a stale command'],
      [6, 1, `arrived at ${at(11)}, after its deadline ${at(10)}: the executor no longer waits for it`],
    ]);
    expect(stored.epoch).toBe(6);
  });

  it('refuses a command admitted whose hook never answered, once past its deadline, and records it', async () => {
    // Prepare
    const fence = await freshFence();
    await fence.admit(command(8, 0, 60), at(1));
    // Act
    const meanwhile = await fence.admit(command(8, 0, 60), at(30));
    const after = await fence.admit(command(8, 0, 60), at(61));
    const again = await fence.admit(command(8, 0, 60), at(62));
    // Assess
    expect(meanwhile.verdict).toBe('in-progress');
    expect(after).toMatchObject({ verdict: 'refused', result: { outcome: 'refused' } });
    expect(again).toMatchObject({ verdict: 'duplicate', result: { outcome: 'refused' } });
    expect((await fence.read(plan.service)).refused).toHaveLength(1);
  });

  it('keeps each service in its own item, DRFENCE#<service> / FENCE, its version moved by each write', async () => {
    // Prepare
    const table = await db.linksTable();
    const fence = new DynamoDbDrFence(db.client, table);
    // Act
    await fence.admit(command(3, 0), at(1));
    await fence.record({ service: plan.service, epoch: 3, index: 0, outcome: 'succeeded', time: at(2) });
    // Assess
    const out = await db.client.send(
      new GetItemCommand({ TableName: table, Key: { pk: { S: 'DRFENCE#ledger' }, sk: { S: 'FENCE' } } }),
    );
    expect(out.Item?.version).toEqual({ N: '2' });
    expect(JSON.parse(out.Item?.running?.S ?? '')).toEqual({});
    expect((await fence.read('payments-api')).epoch).toBe(0);
    expect((await fence.read(plan.service)).results['3#0']?.outcome).toBe('succeeded');
  });
});
