/**
 * What the whole-system DR files (test/e2e/dr-signals.test.ts, test/e2e/dr-failover.test.ts) share:
 * the AWS half's checkout of its own and its deployment with the plan, the wait for a quiet cloud after a step of the manual clock,
 * gcp.yml's DR function and what it needs, and pull subscriptions that show what a topic carried.
 */
import { cpSync, lstatSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { stringify } from 'yaml';
import type { DrPlanDocument } from '#core/dr/plan.ts';
import { AWS_HALF_INPUTS, type AwsHalfDeployment, deployAwsHalf, relayRoleArn } from '#local/aws-half.ts';
import type { LocalCloud, LocalCloudOptions } from '#local/index.ts';
import type { PaymentsWorld } from './dr-world.ts';
import { startTestCloud } from './local-cloud.ts';

/** A gcp.yml entry as these files read it. */
// biome-ignore lint/suspicious/noExplicitAny: gcp.yml parsed as YAML, its entries read ad hoc.
type Entry = Record<string, any>;

/**
 * gcp.yml's `dr-signals` function and what it needs: the subscriptions `keep` selects (its pushes),
 * their topics and dead-letter topics (the function's account their only publisher of the file's,
 * AWS's publishers kept when `awsPublishers`), its account and its invokers' accounts.
 */
export function drSignalsPieces(
  full: Entry,
  keep: (subscription: string) => boolean,
  o: { awsPublishers: boolean },
): { fn: Entry; subs: Entry[]; topics: Entry[]; accounts: Set<string> } {
  const fn = full.functions.find((f: Entry) => f.name === 'dr-signals');
  const subs = full.subscriptions.filter((s: Entry) => keep(s.name));
  const names = new Set<string>([
    ...subs.map((s: Entry) => s.topic),
    ...subs.flatMap((s: Entry) => (s.deadLetter ? [s.deadLetter.topic] : [])),
  ]);
  const topics = full.topics
    .filter((t: Entry) => names.has(t.name))
    .map(({ awsPublishers, publishers, ...t }: Entry) => ({
      ...t,
      ...(publishers
        ? { publishers: (publishers as string[]).filter((m) => m === `serviceAccount:${fn.serviceAccount}`) }
        : {}),
      ...(awsPublishers && o.awsPublishers ? { awsPublishers } : {}),
    }));
  const accounts = new Set<string>([
    fn.serviceAccount,
    ...fn.trigger.http.invokers.map((m: string) => m.replace('serviceAccount:', '')),
  ]);
  return { fn, subs, topics, accounts };
}

/**
 * The AWS half's inputs in a checkout of its own (`at`), with the repository's packages. A checkout
 * already there gets its inputs afresh and keeps its package (`.serverless/`, packaged again only
 * when the inputs or the packaging's variables changed).
 */
export function awsCheckout(root: string, at: string): void {
  for (const input of AWS_HALF_INPUTS) {
    rmSync(join(at, input), { recursive: true, force: true });
    cpSync(join(root, input), join(at, input), { recursive: true });
  }
  if (!lstatSync(join(at, 'node_modules'), { throwIfNoEntry: false }))
    symlinkSync(join(root, 'node_modules'), join(at, 'node_modules'), 'dir');
}

/** Messages on the pull subscription `name` so far, acknowledged, as their CloudEvents. */
export async function pulled<T = { type: string; data: unknown; crosslinkorigin: string }>(
  cloud: LocalCloud,
  name: string,
): Promise<T[]> {
  const base = `http://${cloud.emulators?.pubsubHost}/v1/projects/${cloud.gcp.project}/subscriptions/${name}`;
  const res = await fetch(`${base}:pull`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ maxMessages: 1000, returnImmediately: true }),
  });
  const got =
    ((await res.json()) as { receivedMessages?: { ackId: string; message: { data: string } }[] })
      .receivedMessages ?? [];
  if (got.length > 0)
    await fetch(`${base}:acknowledge`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ ackIds: got.map((m) => m.ackId) }),
    });
  return got.map((m) => JSON.parse(Buffer.from(m.message.data, 'base64').toString('utf8')) as T);
}

/**
 * Waits until nothing the clock tracks (a function, a push, a request at an edge) has run for
 * `quietMs` wall ms and Google's scheduler and sinks are idle: a step's runs and the relaying of
 * what they published are done. A publish waiting for the push proxy's pull is not tracked; the
 * quiet window covers that hop.
 */
export async function settle(cloud: LocalCloud, quietMs: number): Promise<void> {
  for (;;) {
    await cloud.plumbing?.idle();
    const { inFlight, lastActive } = cloud.clock.activity;
    if (inFlight === 0 && Date.now() - lastActive >= quietMs) return;
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Wall ms the AWS half's packaging may take: its own checkout packaged cold (about 10 s quiet, minutes at a load of 20). */
export const PACKAGING_BUDGET_MS = 300_000;

/**
 * The AWS half packaged from its checkout `awsDir` with the plan `doc` (written to
 * config/dr-plans/payments-local.yaml there), the world's control endpoint and (the payments world
 * given) its Route 53 health check, and `packaging` beyond those, deployed as its deployer would once the service's URLs are
 * known. Returns it with the variables Google's half is then deployed with (the relay both ways,
 * the sealing key, the same plan).
 */
export async function deployDrAwsHalf(
  cloud: LocalCloud,
  awsDir: string,
  doc: DrPlanDocument,
  world: PaymentsWorld | null,
  packaging: Record<string, string> = {},
): Promise<{ half: AwsHalfDeployment; planFile: string; googleVariables: Record<string, string> }> {
  const planFile = join(awsDir, 'config', 'dr-plans', 'payments-local.yaml');
  writeFileSync(planFile, stringify(doc));
  const control = `${cloud.serviceHealth}/connectivity`;
  const half = await deployAwsHalf(cloud, awsDir, {
    pubsubHost: cloud.pubsubFront?.host ?? null,
    signal: AbortSignal.timeout(PACKAGING_BUDGET_MS),
    packaging: {
      CROSSLINK_DR_PLAN_FILE: relative(awsDir, planFile),
      CROSSLINK_DR_CONTROL_URL: control,
      ...(world && {
        CROSSLINK_DR_HEALTH_CHECKS: JSON.stringify({
          vantage: 'route53-checkers',
          healthChecks: { 'api-health-check': world.out.PrimaryApiHealthCheckId },
        }),
      }),
      ...packaging,
    },
  });
  return {
    half,
    planFile,
    googleVariables: {
      CROSSLINK_PEER_PUBLIC_KEY_PEM: half.keys.aws.publicKeyPem,
      CROSSLINK_PEER_KEY_ID: half.keys.aws.keyId,
      CROSSLINK_AWS_RELAY_URL: half.relayUrl,
      CROSSLINK_AWS_RELAY_ROLE_ARN: relayRoleArn(cloud) as string,
      CROSSLINK_DR_PLAN: JSON.stringify(doc),
      CROSSLINK_DR_CONTROL_URL: control,
    },
  };
}

/**
 * A temporary directory holding a gcp.yml with nothing yet (Google's half is deployed after the AWS
 * half, whose relay route and sealing key it names), what a Google function package embeds from
 * beside it and the repository's packages, and the AWS half's checkout under `aws/`; the local
 * cloud on a manual clock with the emulators, its AWS region `region`, gcp.yml's variables from
 * `variables` (filled in later). `options` replace the cloud's (running emulators and a project of its
 * own, where no vitest run leases them, and the ports of the AWS edge and the health endpoints: the
 * seeded chaos); with
 * `awsDir`, the AWS half's checkout is that directory, kept across clouds, so a cloud whose
 * packaging is the same as the one before (the same plan, the same endpoints) is not packaged again.
 */
export async function startDrCloud(
  root: string,
  prefix: string,
  region: string,
  variables: Record<string, string>,
  options: Pick<LocalCloudOptions, 'emulators' | 'gcp' | 'ports' | 'serviceHealthPort'> & {
    awsDir?: string;
  } = {},
): Promise<{ dir: string; awsDir: string; cloud: LocalCloud }> {
  const { awsDir: keptAwsDir, ...cloudOptions } = options;
  const dir = mkdtempSync(join(tmpdir(), prefix));
  mkdirSync(join(dir, 'config'));
  for (const f of ['policy.yaml', 'pricing.yaml']) cpSync(join(root, 'config', f), join(dir, 'config', f));
  symlinkSync(join(root, 'node_modules'), join(dir, 'node_modules'), 'dir');
  writeFileSync(join(dir, 'gcp.yml'), stringify({ version: 1, region: 'us-east4' }));
  const awsDir = keptAwsDir ?? join(dir, 'aws');
  awsCheckout(root, awsDir);
  const cloud = await startTestCloud({
    clock: { mode: 'manual', start: '2026-06-01T10:00:00Z' },
    region,
    emulators: true,
    gcpConfig: join(dir, 'gcp.yml'),
    gcpVariables: variables,
    ...cloudOptions,
  }).catch((e) => {
    // A cloud that did not start (a port taken) leaves nothing behind.
    rmSync(dir, { recursive: true, force: true });
    throw e;
  });
  return { dir, awsDir, cloud };
}
