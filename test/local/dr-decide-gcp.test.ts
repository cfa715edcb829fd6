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
import { generateKeyPairSync } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { Firestore } from '@google-cloud/firestore';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml, stringify } from 'yaml';
import type { Observation } from '#core/dr/observations.ts';
import { buildEvent } from '#core/envelope.ts';
import { DR_EPOCH_LABEL } from '#gcp/dr-decide.ts';
import { FirestoreDrExecutorStore } from '#gcp/dr-executor-store.ts';
import { toPubSubMessage } from '#gcp/envelope.ts';
import type { LocalCloud } from '#local/index.ts';
import { drSignalsPieces, settle, startDrCloud } from '../support/dr-deployed.ts';
import { ledgerDoc, ledgerProbesAt } from '../support/dr-ledger.ts';
import { admin } from '../support/local-cloud.ts';

const ROOT = join(import.meta.dirname, '..', '..');
const FUNCTION_REGION = 'europe-west4';
let cloud: LocalCloud;
let dir: string;
const variables: Record<string, string> = {};

/** gcp.yml's DR pieces: the function (in the vantage point's region), its accounts, job, topics, pushes, the workflow. */
function drConfig(at: string): string {
  const full = parseYaml(readFileSync(join(ROOT, 'gcp.yml'), 'utf8'));
  const { fn, subs, topics, accounts } = drSignalsPieces(
    full,
    (name) => name.startsWith('crosslink-dr-signals'),
    { awsPublishers: false },
  );
  const workflow = full.workflows.find((w: { name: string }) => w.name === 'dr-failover');
  return stringify({
    version: 1,
    region: full.region,
    serviceAccounts: full.serviceAccounts.filter((a: { id: string }) => accounts.has(a.id)),
    functions: [{ ...fn, region: FUNCTION_REGION, source: relative(at, join(ROOT, fn.source)) }],
    topics,
    subscriptions: subs,
    schedulerJobs: full.schedulerJobs.filter((j: { name: string }) => j.name === 'crosslink-dr-probe'),
    workflows: [
      {
        ...workflow,
        source: relative(at, join(ROOT, workflow.source)),
        env: { CROSSLINK_DR_EXECUTOR_REGION: FUNCTION_REGION },
      },
    ],
  });
}

/** AWS's vantage point's lines for a minute, delivered by the relay on crosslink-peer-events. */
async function awsLines(at: number, primary: 'healthy' | 'unhealthy'): Promise<void> {
  const time = new Date(at).toISOString();
  const lines: Observation[] = [
    { time, service: 'ledger', vantage: 'aws-eu-central-1', signal: 'ledger-api', status: primary },
    { time, service: 'ledger', vantage: 'aws-eu-central-1', signal: 'standby-ready', status: 'healthy' },
  ];
  const messages = lines.map((o) => {
    const m = toPubSubMessage(
      buildEvent({
        name: 'DrSignalObserved',
        origin: { cloud: 'aws', accountId: cloud.aws.accountId, region: 'eu-central-1' },
        subject: `${o.service}/${o.vantage}/${o.signal}`,
        data: o,
        clock: cloud.clock,
      }),
    );
    return { data: m.data.toString('base64'), attributes: m.attributes };
  });
  const res = await fetch(
    `http://${cloud.emulators?.pubsubHost}/v1/projects/${cloud.gcp.project}/topics/crosslink-peer-events:publish`,
    { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ messages }) },
  );
  expect(res.status).toBe(200);
}

const executions = () => {
  const name = `projects/${cloud.gcp.project}/locations/${cloud.plumbing?.config.region}/workflows/dr-failover`;
  return cloud.plumbing?.workflow('dr-failover')?.list(name) ?? [];
};

beforeAll(async () => {
  let awsDir: string;
  ({ dir, awsDir, cloud } = await startDrCloud(ROOT, 'crosslink-dr-decide-gcp-', 'eu-central-1', variables));
  void awsDir;
  await admin(cloud, 'POST', '/world/service-create', {
    name: 'ledger',
    primary: 'gcp',
    gcp: { region: 'europe-west1', ip: '192.0.2.30' },
    aws: { region: 'eu-west-1', ip: '192.0.2.40' },
    rpo: '5m',
  });
  const plan = ledgerProbesAt(ledgerDoc(), cloud.serviceHealth);
  plan.decider = { approval: 'none' };
  variables.CROSSLINK_DR_PLAN = JSON.stringify(plan);
  // The relay's sealing key the function requires at start (no activation key is sealed here).
  variables.CROSSLINK_PEER_PUBLIC_KEY_PEM = generateKeyPairSync('rsa', { modulusLength: 2048 })
    .publicKey.export({ type: 'spki', format: 'pem' })
    .toString();
  variables.CROSSLINK_PEER_KEY_ID = 'aws-relay-test';
  variables.CROSSLINK_DR_CONTROL_URL = `${cloud.serviceHealth}/connectivity`;
  writeFileSync(join(dir, 'gcp.yml'), drConfig(dir));
  await cloud.plumbing?.reload();
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
