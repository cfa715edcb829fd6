/**
 * The commanded side's fence on AWS (functions/aws/dr-fence.ts) against dynalite, the engine behind
 * the local AWS edge's DynamoDB, held to the contract Google's fence in Firestore keeps too
 * (test/support/dr-fence-contract.ts: a command admitted once, two deliveries at once, a redelivery,
 * a lower epoch, a late command, a hook that never answered); and its item: one per service,
 * `DRFENCE#<service>` / `FENCE`, its version moved by each write.
 */
import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { describe, expect, it } from 'vitest';
import { DynamoDbDrFence } from '#aws/dr-fence.ts';
import type { ActionCommand } from '#core/dr/executor.ts';
import { drFenceContract } from '../support/dr-fence-contract.ts';
import { ledgerPlan } from '../support/dr-ledger.ts';
import { useDynalite } from '../support/dynalite.ts';

const db = useDynalite();
const plan = ledgerPlan();
const T0 = Date.parse('2026-03-02T10:06:03Z');
const at = (s: number) => new Date(T0 + s * 1000).toISOString();

const freshFence = async () => new DynamoDbDrFence(db.client, await db.linksTable());

const command = (epoch: number, index: number): ActionCommand => ({
  service: plan.service,
  decision: 'failover',
  epoch,
  index,
  action: plan.actions.failover[index] as ActionCommand['action'],
  deadline: at(300),
});

// Each test its own table.
drFenceContract('DynamoDB', plan, async () => ({ fence: await freshFence(), service: plan.service }));

describe('the DR fence in DynamoDB', () => {
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
