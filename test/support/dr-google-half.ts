/**
 * Google's half of a Cloud-DNS-switched plan deployed on a local cloud with Google IAM enforced and a
 * manual clock (test/local/dr-decide-gcp.test.ts, test/local/dr-controls-gcp.test.ts): gcp.yml's
 * `dr-signals` (and the other DR functions asked for) in europe-west4, the ledger plan's Google
 * vantage point's region, their accounts, the probe's schedule, the pushes and the `dr-failover`
 * workflow, with the ledger plan whose probes point at the service world's health endpoints, and the
 * failover's fence of Cloud SQL (`ledger-fence-cloudsql`, test/fixtures/gcp/functions/dr-hooks.ts
 * calling the world's `service-fence`) beside dr-signals, invoked by the workflow's account. AWS's
 * vantage point's lines arrive as the relay delivers them (`relayLedgerLines`).
 */
import { generateKeyPairSync } from 'node:crypto';
import { cpSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { expect } from 'vitest';
import { parse as parseYaml, stringify } from 'yaml';
import type { Observation } from '#core/dr/observations.ts';
import type { DrPlanDocument } from '#core/dr/plan.ts';
import { buildEvent } from '#core/envelope.ts';
import { toPubSubMessage } from '#gcp/envelope.ts';
import type { LocalCloud } from '#local/index.ts';
import { drSignalsPieces, startDrCloud } from './dr-deployed.ts';
import { ledgerDoc, ledgerProbesAt } from './dr-ledger.ts';
import { admin } from './local-cloud.ts';

export const FUNCTION_REGION = 'europe-west4';

// biome-ignore lint/suspicious/noExplicitAny: gcp.yml's entries, untyped as parsed
type Entry = Record<string, any>;

/**
 * gcp.yml's DR pieces: dr-signals and the functions named in `more` (in the vantage point's region),
 * their accounts (publishing on crosslink-events), the job, topics, pushes, the workflow.
 */
function drConfig(root: string, at: string, more: readonly string[], admin: string): string {
  const full = parseYaml(readFileSync(join(root, 'gcp.yml'), 'utf8'));
  const { fn, subs, topics, accounts } = drSignalsPieces(
    full,
    (name) => name.startsWith('crosslink-dr-signals'),
    { awsPublishers: false },
  );
  const others: Entry[] = full.functions.filter((f: Entry) => more.includes(f.name));
  const own = new Set<string>([...accounts, ...others.map((f) => f.serviceAccount)]);
  const workflow = full.workflows.find((w: Entry) => w.name === 'dr-failover');
  const placed = (f: Entry) => ({
    ...f,
    region: FUNCTION_REGION,
    source: relative(at, join(root, f.source)),
  });
  const fence = {
    name: 'ledger-fence-cloudsql',
    source: 'functions/dr-hooks.ts',
    entryPoint: 'worldAction',
    region: FUNCTION_REGION,
    runtime: 'nodejs24',
    serviceAccount: 'ledger-hooks',
    environment: { CROSSLINK_WORLD_ACTION: 'service-fence', CROSSLINK_WORLD_ADMIN: admin },
    trigger: { http: { invokers: ['serviceAccount:crosslink-workflows'] } },
  };
  return stringify({
    version: 1,
    region: full.region,
    serviceAccounts: [
      ...full.serviceAccounts.filter((a: Entry) => own.has(a.id)),
      { id: 'ledger-hooks', displayName: "the service's DR hooks", roles: [] },
    ],
    functions: [...[fn, ...others].map(placed), fence],
    topics: topics.map((t: Entry) =>
      t.name === 'crosslink-events'
        ? {
            ...t,
            publishers: [...(t.publishers ?? []), ...others.map((f) => `serviceAccount:${f.serviceAccount}`)],
          }
        : t,
    ),
    subscriptions: subs,
    schedulerJobs: full.schedulerJobs.filter((j: Entry) => j.name === 'crosslink-dr-probe'),
    workflows: [
      {
        ...workflow,
        source: relative(at, join(root, workflow.source)),
        env: { CROSSLINK_DR_EXECUTOR_REGION: FUNCTION_REGION },
      },
    ],
  });
}

/**
 * The local cloud (its temporary directory named by `prefix`) with the ledger service's world and
 * Google's DR pieces deployed with the ledger plan, its approval as `approval` says.
 */
export async function deployLedgerGoogleHalf(
  root: string,
  prefix: string,
  o: { approval: 'none' | 'required'; functions?: readonly string[] },
): Promise<{ cloud: LocalCloud; dir: string; plan: DrPlanDocument }> {
  const variables: Record<string, string> = {};
  const { dir, cloud } = await startDrCloud(root, prefix, 'eu-central-1', variables);
  await admin(cloud, 'POST', '/world/service-create', {
    name: 'ledger',
    primary: 'gcp',
    gcp: { region: 'europe-west1', ip: '192.0.2.30' },
    aws: { region: 'eu-west-1', ip: '192.0.2.40' },
    rpo: '5m',
  });
  const plan = ledgerProbesAt(ledgerDoc(), cloud.serviceHealth);
  plan.decider = { approval: o.approval };
  variables.CROSSLINK_DR_PLAN = JSON.stringify(plan);
  // The relay's sealing key the functions require at start (no activation key is sealed here).
  variables.CROSSLINK_PEER_PUBLIC_KEY_PEM = generateKeyPairSync('rsa', { modulusLength: 2048 })
    .publicKey.export({ type: 'spki', format: 'pem' })
    .toString();
  variables.CROSSLINK_PEER_KEY_ID = 'aws-relay-test';
  variables.CROSSLINK_DR_CONTROL_URL = `${cloud.serviceHealth}/connectivity`;
  mkdirSync(join(dir, 'functions'), { recursive: true });
  cpSync(join(root, 'test/fixtures/gcp/functions/dr-hooks.ts'), join(dir, 'functions', 'dr-hooks.ts'));
  writeFileSync(join(dir, 'gcp.yml'), drConfig(root, dir, o.functions ?? [], cloud.admin));
  await cloud.plumbing?.reload();
  return { cloud, dir, plan };
}

/** AWS's vantage point's lines for a minute, delivered by the relay on crosslink-peer-events. */
export async function relayLedgerLines(
  cloud: LocalCloud,
  at: number,
  primary: 'healthy' | 'unhealthy',
): Promise<void> {
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

/** The dr-failover workflow's executions so far. */
export function drFailoverExecutions(cloud: LocalCloud) {
  const name = `projects/${cloud.gcp.project}/locations/${cloud.plumbing?.config.region}/workflows/dr-failover`;
  return cloud.plumbing?.workflow('dr-failover')?.list(name) ?? [];
}
