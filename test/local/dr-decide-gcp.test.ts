/**
 * Google's decision hook deployed (local cloud, Google IAM enforced, a manual clock stepped a minute
 * at a time): gcp.yml's `dr-signals` function, its accounts, schedule, pushes and the `dr-failover`
 * workflow, deployed with the ledger plan (Cloud DNS, so Google executes it; no approval) whose
 * probes point at the service world's health endpoints. The function runs in europe-west4, the
 * plan's Google vantage point's region, outside the primary's. AWS's vantage point's lines arrive as
 * the relay delivers them (DrSignalObserved on crosslink-peer-events). An outage of europe-west1
 * seen by both leads the function, under its own account (roles/workflows.invoker), to start
 * exactly one dr-failover execution, with the failover's decision; its claim runs the move.
 */
import { join } from 'node:path';
import { Firestore } from '@google-cloud/firestore';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DR_EPOCH_LABEL } from '#gcp/dr-decide.ts';
import { FirestoreDrExecutorStore } from '#gcp/dr-executor-store.ts';
import type { LocalCloud } from '#local/index.ts';
import { settle } from '../support/dr-deployed.ts';
import { deployLedgerGoogleHalf, drFailoverExecutions, relayLedgerLines } from '../support/dr-google-half.ts';
import { admin } from '../support/local-cloud.ts';

const ROOT = join(import.meta.dirname, '..', '..');
let cloud: LocalCloud;

const awsLines = (at: number, primary: 'healthy' | 'unhealthy') => relayLedgerLines(cloud, at, primary);
const executions = () => drFailoverExecutions(cloud);

beforeAll(async () => {
  ({ cloud } = await deployLedgerGoogleHalf(ROOT, 'crosslink-dr-decide-gcp-', { approval: 'none' }));
}, 180_000);

afterAll(async () => {
  await cloud?.stop();
});

describe("Google's decision hook, deployed", () => {
  it('starts exactly one dr-failover execution for an outage of the primary region, with the failover', async () => {
    // Prepare: three healthy minutes
    for (let i = 0; i < 3; i++) {
      await awsLines(cloud.clock.now(), 'healthy');
      await cloud.clock.advance(60_000);
      await settle(cloud, 300);
    }
    expect(executions()).toEqual([]);

    // Act: europe-west1 out, ten minutes of probes and relayed lines
    await admin(cloud, 'POST', '/world/region-outage', { cloud: 'gcp', region: 'europe-west1', on: true });
    for (let i = 0; i < 10; i++) {
      await awsLines(cloud.clock.now(), 'unhealthy');
      await cloud.clock.advance(60_000);
      await settle(cloud, 300);
    }

    // Assess: one execution, started with the failover, its claim taken (not refused)
    const started = executions();
    expect(started).toHaveLength(1);
    const [execution] = started;
    const argument = JSON.parse(String(execution?.argument)) as {
      decision: { decision: string; epoch: number };
    };
    expect(argument.decision.decision).toBe('failover');
    expect(execution?.labels?.[DR_EPOCH_LABEL]).toBe(String(argument.decision.epoch));
    // The execution's claim opened the run under the decision's epoch (the store, as the function keeps it)
    process.env.METADATA_SERVER_DETECTION = 'none';
    process.env.FIRESTORE_EMULATOR_HOST = cloud.emulators?.firestoreHost as string;
    const db = new Firestore({ projectId: cloud.gcp.project });
    try {
      const head = await db.collection('drExecutors').doc('ledger').get();
      expect(head.get('epoch')).toBe(argument.decision.epoch);
      expect(execution?.name).toBe(
        `${execution?.name.split('/executions/')[0]}/executions/${head.get('owner')}`,
      );
      expect(await new FirestoreDrExecutorStore(db).refusals('ledger')).toEqual([]);
    } finally {
      await db.terminate();
    }
  });
});
