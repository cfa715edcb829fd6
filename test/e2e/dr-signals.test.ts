/**
 * The Google vantage point as deployed (docs/dr-signals.md): the root gcp.yml's DR pieces (the
 * `dr-signals` function in us-west1 as its service account, through its IAM front of the Firestore
 * and Pub/Sub emulators; the scheduler job calling it every minute with an OIDC token of
 * crosslink-dr-scheduler; its topics) in a local cloud on a manual clock, probing the payments
 * service world's health endpoints. A primary-region outage (`sim region outage aws us-east-1`) is
 * seen by the Google probe at the plan's third failure, each line recorded in Firestore once and
 * published on crosslink-events as `DrSignalObserved`; the probe's own network failing
 * (`sim vantage`) is recorded as `vantage-down` and moves nothing; each run logs the line the
 * staleness alert's log-based metric counts.
 */
import { generateKeyPairSync } from 'node:crypto';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { Firestore } from '@google-cloud/firestore';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml, stringify } from 'yaml';
import type { Observation } from '#core/dr/observations.ts';
import { buildEvent } from '#core/envelope.ts';
import { loadGcpConfig } from '#deployment/gcp-config.ts';
import { toPubSubMessage } from '#gcp/envelope.ts';
import { FirestoreSignalLog } from '#gcp/signal-log.ts';
import { matchesLogFilter, parseLogFilter } from '#local/gcp/log-filter.ts';
import type { LocalCloud } from '#local/index.ts';
import { serviceWorldOf } from '#local/world/protected-service.ts';
import { regionOutagesOf } from '#local/world/region-outages.ts';
import { cliAgainst } from '../support/cli.ts';
import { addPaymentsService, probesAtWorld } from '../support/dr-world.ts';
import { startTestCloud } from '../support/local-cloud.ts';
import { eventually } from '../support/timers.ts';
import { exampleDoc } from '../unit/dr/helpers.ts';

const ROOT = resolve(import.meta.dirname, '../..');
const TAP = 'dr-test-tap';
const SERVICE = 'payments-api';
const PLAN = join(ROOT, 'config', 'dr-plans', 'example-payments.yaml');

let cloud: LocalCloud;
let dir: string;
let log: FirestoreSignalLog;
let firestore: Firestore;
/** What the deploy's environment gives gcp.yml's `${env:NAME}` (the plan once the world's URL is known). */
const variables: Record<string, string> = {};

/**
 * The root gcp.yml's DR pieces alone, their sources relative to a directory of their own: the
 * function, its accounts, its job, its topics and subscriptions, its metric and alert; a pull
 * subscription on crosslink-events to see what it publishes.
 */
function drConfig(at: string): string {
  const full = parseYaml(readFileSync(join(ROOT, 'gcp.yml'), 'utf8'));
  const fn = full.functions.find((f: { name: string }) => f.name === 'dr-signals');
  const subs = full.subscriptions.filter((s: { name: string }) => s.name.startsWith('crosslink-dr-signals'));
  const topics = new Set(subs.map((s: { topic: string }) => s.topic));
  const accounts = new Set([
    fn.serviceAccount,
    ...fn.trigger.http.invokers.map((m: string) => m.replace('serviceAccount:', '')),
  ]);
  return stringify({
    version: 1,
    region: full.region,
    serviceAccounts: full.serviceAccounts.filter((a: { id: string }) => accounts.has(a.id)),
    functions: [{ ...fn, source: relative(at, join(ROOT, fn.source)) }],
    topics: full.topics
      .filter((t: { name: string }) => topics.has(t.name))
      .map(({ awsPublishers: _, publishers, ...t }: Record<string, unknown>) => ({
        ...t,
        ...(publishers
          ? {
              publishers: (publishers as string[]).filter((m) => m === `serviceAccount:${fn.serviceAccount}`),
            }
          : {}),
      })),
    subscriptions: [...subs, { name: TAP, topic: 'crosslink-events' }],
    schedulerJobs: full.schedulerJobs.filter((j: { name: string }) => j.name === 'crosslink-dr-probe'),
    logMetrics: full.logMetrics.filter((m: { name: string }) => m.name === 'crosslink_dr_signals_recorded'),
    alertPolicies: full.alertPolicies.filter((a: { name: string }) => a.name === 'crosslink-dr-probe-silent'),
  });
}

/** Messages on the tap so far, acknowledged, as their CloudEvents. */
async function tapped(): Promise<{ type: string; data: Observation; crosslinkorigin: string }[]> {
  const base = `http://${cloud.emulators?.pubsubHost}/v1/projects/${cloud.gcp.project}/subscriptions/${TAP}`;
  const res = await fetch(`${base}:pull`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ maxMessages: 100, returnImmediately: true }),
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
  return got.map((m) => JSON.parse(Buffer.from(m.message.data, 'base64').toString('utf8')));
}

/** Advances the clock a minute at a time, `minutes` times, each scheduled run done before the next. */
async function minutes(n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    await cloud.clock.advance(60_000);
    await cloud.plumbing?.idle();
  }
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'crosslink-dr-signals-'));
  // What a function package embeds from beside gcp.yml, and the repository's packages.
  mkdirSync(join(dir, 'config'));
  for (const f of ['policy.yaml', 'pricing.yaml']) cpSync(join(ROOT, 'config', f), join(dir, 'config', f));
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'), 'dir');
  writeFileSync(join(dir, 'gcp.yml'), drConfig(dir));
  Object.assign(variables, {
    CROSSLINK_PEER_PUBLIC_KEY_PEM: generateKeyPairSync('rsa', { modulusLength: 2048 })
      .publicKey.export({ type: 'spki', format: 'pem' })
      .toString(),
    CROSSLINK_PEER_KEY_ID: 'arn:aws:kms:us-east-1:000000000000:key/3b5f0c6e-1d2a-4e5f-8a9b-0c1d2e3f4a5b',
  });
  cloud = await startTestCloud({
    clock: { mode: 'manual', start: '2026-06-01T10:00:00Z' },
    emulators: true,
    gcpConfig: join(dir, 'gcp.yml'),
    gcpVariables: variables,
  });
  addPaymentsService(cloud.clock);
  // The plan, its probes at the world's health endpoints, deployed now that their URL is known:
  // the function restarts with it and its schedule appears.
  Object.assign(variables, {
    CROSSLINK_DR_PLAN: JSON.stringify(probesAtWorld(exampleDoc(), cloud.serviceHealth)),
    CROSSLINK_DR_CONTROL_URL: `${cloud.serviceHealth}/connectivity`,
  });
  await cloud.plumbing?.reload();
  process.env.METADATA_SERVER_DETECTION = 'none';
  process.env.FIRESTORE_EMULATOR_HOST = cloud.emulators?.firestoreHost as string;
  firestore = new Firestore({ projectId: cloud.gcp.project });
  log = new FirestoreSignalLog(firestore);
}, 180_000);

afterAll(async () => {
  await firestore?.terminate();
  await cloud?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('the Google vantage point deployed', () => {
  it("runs in the plan's Google vantage point's region, on its schedule only once a plan is deployed", () => {
    const hosted = cloud.plumbing?.functions.get('dr-signals');
    expect(hosted?.url).toBe(
      `${cloud.gcp.endpoint}/us-west1-${cloud.gcp.project}.cloudfunctions.net/dr-signals`,
    );
    expect(cloud.plumbing?.config.schedulerJobs.map((j) => j.name)).toEqual(['crosslink-dr-probe']);
    expect(loadGcpConfig(join(dir, 'gcp.yml')).schedulerJobs.map((j) => j.name)).toEqual([
      'crosslink-dr-probe',
    ]);
  });

  it('sees an outage of the primary region at the third failure, each line recorded once and published', async () => {
    // Prepare
    await tapped();
    const from = cloud.clock.now();
    // Act: two healthy runs, then us-east-1 out for four
    await minutes(2);
    regionOutagesOf(cloud.clock).set('aws', 'us-east-1', true);
    await minutes(4);
    regionOutagesOf(cloud.clock).set('aws', 'us-east-1', false);
    // Assess
    const lines = (await log.since(SERVICE, from)).filter((o) => o.signal === 'api-availability');
    expect(lines.map((o) => [o.vantage, o.status])).toEqual([
      ['gcp-us-west1', 'healthy'],
      ['gcp-us-west1', 'healthy'],
      ['gcp-us-west1', 'healthy'],
      ['gcp-us-west1', 'healthy'],
      ['gcp-us-west1', 'unhealthy'],
      ['gcp-us-west1', 'unhealthy'],
    ]);
    const published = (await tapped()).filter((e) => e.type === 'crosslink.DrSignalObserved.v1');
    expect(published.every((e) => e.crosslinkorigin === 'gcp')).toBe(true);
    expect(published.map((e) => e.data)).toEqual(await log.since(SERVICE, from));
  }, 120_000);

  it("records its own network's failure as vantage-down, which counts no failure", async () => {
    // Prepare
    const from = cloud.clock.now() + 1;
    serviceWorldOf(cloud.clock).vantageDown.add('gcp-us-west1');
    regionOutagesOf(cloud.clock).set('aws', 'us-east-1', true);
    // Act
    await minutes(2);
    serviceWorldOf(cloud.clock).vantageDown.delete('gcp-us-west1');
    regionOutagesOf(cloud.clock).set('aws', 'us-east-1', false);
    // Assess
    const lines = await log.since(SERVICE, from);
    expect(lines.length).toBeGreaterThan(0);
    expect(lines.every((o) => o.status === 'unknown' && o.reason === 'vantage-down')).toBe(true);
  }, 120_000);

  it("records AWS's line once as the relay's publications on crosslink-peer-events are pushed to it, twice over", async () => {
    // Prepare: the AWS vantage point's line, published as the relay publishes it, and again (a redelivery)
    const at = new Date(cloud.clock.now()).toISOString();
    const line = {
      time: at,
      service: SERVICE,
      vantage: 'aws-us-west-2',
      signal: 'api-availability',
      status: 'unhealthy',
    };
    const event = buildEvent({
      name: 'DrSignalObserved',
      origin: { cloud: 'aws', accountId: cloud.aws.accountId, region: 'us-west-2' },
      subject: `${SERVICE}/aws-us-west-2/api-availability`,
      data: line,
      clock: cloud.clock,
    });
    const message = toPubSubMessage(event);
    const publish = () =>
      fetch(
        `http://${cloud.emulators?.pubsubHost}/v1/projects/${cloud.gcp.project}/topics/crosslink-peer-events:publish`,
        {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({
            messages: [
              { data: Buffer.from(message.data).toString('base64'), attributes: message.attributes },
            ],
          }),
        },
      );
    // Act
    expect((await publish()).status).toBe(200);
    expect((await publish()).status).toBe(200);
    // Assess
    const fromAws = await eventually(async () => {
      const lines = (await log.since(SERVICE, Date.parse(at))).filter((o) => o.vantage === 'aws-us-west-2');
      if (lines.length === 0) throw new Error('not recorded yet');
      return lines;
    }, 30_000);
    // Both deliveries handled: one recorded it, the other found it there.
    const outcomes = await eventually(() => {
      const seen = (cloud.plumbing?.functions.get('dr-signals')?.output ?? [])
        .filter((l) => l.includes('"function":"drSignals"') && l.includes('"side":"aws"'))
        .map((l) => (JSON.parse(l) as { result: { outcome: { outcome: string } } }).result.outcome.outcome);
      return seen.length >= 2 ? seen : undefined;
    }, 30_000);
    // The two pushes are handled at once, so either may finish (and log) first.
    expect([...outcomes].sort()).toEqual(['ignored', 'recorded']);
    expect(fromAws).toEqual([line]);
    expect((await log.since(SERVICE, Date.parse(at))).filter((o) => o.vantage === 'aws-us-west-2')).toEqual([
      line,
    ]);
  }, 60_000);

  it("exports Google's copy with dr export --side gcp, which dr evaluate replays: one vantage point alone moves nothing", async () => {
    // Prepare
    const home = cliAgainst(cloud, 'crosslink-dr-export-gcp-');
    try {
      // Act
      const exported = await home.cli('dr', 'export', PLAN, '--side', 'gcp');
      const file = join(home.home, 'google.jsonl');
      writeFileSync(file, `${exported.out}\n`);
      const replayed = await home.cli('dr', 'evaluate', '--json', '--plan', PLAN, '--signals', file);
      // Assess
      expect([exported.code, exported.err]).toEqual([0, '']);
      expect(exported.out.split('\n').map((l) => JSON.parse(l))).toEqual(await log.since(SERVICE));
      expect(replayed.code).toBe(0);
      const decisions = JSON.parse(replayed.out) as { decision: string; active: string }[];
      // The Google probe saw the outage, but it is one of the three independent vantage points.
      expect(decisions.length).toBeGreaterThan(0);
      expect(decisions.every((d) => d.active === 'primary' && d.decision !== 'failover')).toBe(true);
    } finally {
      home.remove();
    }
  }, 60_000);

  it('logs each run as the entry the staleness alert counts', () => {
    const hosted = cloud.plumbing?.functions.get('dr-signals');
    const config = loadGcpConfig(join(ROOT, 'gcp.yml'));
    const metric = config.logMetrics.find((m) => m.name === 'crosslink_dr_signals_recorded');
    const entries = (hosted?.output ?? [])
      .filter((l) => l.startsWith('{'))
      .map((l) => {
        const { severity, ...jsonPayload } = JSON.parse(l) as Record<string, unknown>;
        return { severity, jsonPayload, resource: { type: 'cloud_run_revision' } };
      });
    const counted = entries.filter((e) => matchesLogFilter(parseLogFilter(metric?.filter ?? ''), e));
    // One per scheduled run with the plan deployed (8 so far), each naming the service.
    expect(counted).toHaveLength(8);
    expect(counted.every((e) => e.jsonPayload.drService === SERVICE)).toBe(true);
  });
});
