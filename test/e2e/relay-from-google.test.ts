/**
 * The Google -> AWS relay in the local cloud, as deployed: gcp.yml's relay subscription (taken from
 * the root gcp.yml) on the Pub/Sub emulator, pushed by the local push proxy with an OIDC token the
 * local Google edge signs for crosslink-relay; serverless.yml's `POST /relay/google` with its JWT
 * authorizer (the local Google edge's JWKS) and the bundled relayFromGoogle Lambda, which puts the
 * event on the crosslink bus. A rule -> SQS queue on the bus observes what arrives.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { PubSub } from '@google-cloud/pubsub';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml, stringify } from 'yaml';
import { buildEvent, type CloudEvent, type Origin } from '#core/envelope.ts';
import { lambdaRuntime } from '#local/aws/services/lambda.ts';
import type { Delivery } from '#local/gcp/push-proxy.ts';
import type { LocalCloud } from '#local/index.ts';
import { startTestCloud } from '../support/local-cloud.ts';
import {
  type BusObserver,
  observeBus,
  pushBody as pushBodyOf,
  push as pushTo,
  relayToken,
} from '../support/relay-push.ts';
import { eventually } from '../support/timers.ts';

const ROOT = resolve(import.meta.dirname, '../..');
const REGION = 'us-east-1';

let cloud: LocalCloud;
let dir: string;
let pubsub: PubSub;
let observer: BusObserver;
let relayUrl = '';

/**
 * The root gcp.yml's relay pieces alone: its account, topic, push subscription, dead letters. The
 * topics' publishing grants name accounts left out here, so they are left out too.
 */
function relayConfig(): string {
  const full = parseYaml(readFileSync(join(ROOT, 'gcp.yml'), 'utf8'));
  const sub = full.subscriptions.find((s: { name: string }) => s.name === 'crosslink-events-relay');
  const dead = sub.deadLetter.topic as string;
  return stringify({
    version: 1,
    serviceAccounts: full.serviceAccounts.filter((a: { id: string }) => a.id === sub.push.serviceAccount),
    topics: full.topics
      .filter((t: { name: string }) => [sub.topic, dead].includes(t.name))
      .map(({ publishers: _, awsPublishers: __, ...t }: Record<string, unknown>) => t),
    subscriptions: [sub, ...full.subscriptions.filter((s: { topic: string }) => s.topic === dead)],
  });
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'relay-in-'));
  writeFileSync(join(dir, 'gcp.yml'), relayConfig());
  cloud = await startTestCloud({
    // Virtual time starts at the wall time; the handler's Date follows it (local/virtual-date.ts).
    clock: { mode: 'manual', start: Math.floor(Date.now() / 1000) * 1000 },
    emulators: true,
    gcpConfig: join(dir, 'gcp.yml'),
    awsHalf: { repoDir: ROOT },
  });
  const half = cloud.awsHalf;
  if (!half) throw new Error('no AWS half');
  relayUrl = half.relayUrl;
  observer = await observeBus(cloud, 'relay-observer');
  pubsub = new PubSub({
    projectId: cloud.gcp.project,
    apiEndpoint: cloud.emulators?.pubsubHost as string,
    emulatorMode: true,
  });
}, 120_000);

afterAll(async () => {
  observer?.stop();
  await pubsub?.close();
  await cloud?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** The relay Lambda's output lines. */
const relayLogs = () =>
  lambdaRuntime(cloud.aws.edge.world, cloud.aws.accountId, REGION)
    .logs.filter((l) => l.functionName.endsWith('-relayFromGoogle'))
    .map((l) => l.line)
    .join('\n');

const drain = () => observer.drain();
const arrived = () => observer.arrived;

/** What arrived on the bus with `id`, once it has and a second more has passed (a late copy would show). */
async function arrivals(id: string) {
  await eventually(async () => {
    await drain();
    return arrived().some((a) => a.id === id);
  });
  await new Promise((r) => setTimeout(r, 1000));
  await drain();
  return arrived()
    .filter((a) => a.id === id)
    .map(({ id, detailType, source }) => ({ id, detailType, source }));
}

/**
 * The subscription's acknowledged pushes, once there are `n`. A push that was not acknowledged (the
 * Lambda's first start answering past the 60 s ack deadline on a loaded machine) is tried again by
 * Pub/Sub after the retry policy's backoff, timed on the virtual clock, which stands still in this
 * test: the clock is moved to each retry the proxy has waiting on the subscription.
 */
async function ackedPushes(sub: string, n: number): Promise<Delivery[]> {
  const all = () => cloud.pushProxy?.deliveries(sub) ?? [];
  try {
    return await eventually(async () => {
      const acked = all().filter((d) => d.acked);
      if (acked.length >= n) return acked;
      const retry = cloud.pushProxy?.retries().find((r) => r.key.startsWith(`${sub}/`));
      if (retry) await cloud.clock.advance(Math.max(0, retry.due - cloud.clock.now()));
      return undefined;
    }, 240_000);
  } catch (err) {
    const attempts = JSON.stringify(all());
    throw new Error(`${n} acknowledged pushes on ${sub}: not within 240 s; attempts: ${attempts}`, {
      cause: err,
    });
  }
}

const GCP: Origin = { cloud: 'gcp', project: 'payments-prod', region: 'us-east4' };
const event = (origin: Origin = GCP): CloudEvent =>
  buildEvent({
    name: 'LinkSideStateChanged',
    origin,
    subject: 'lk-01jd0000000000000000000000',
    data: { policyHash: 'not-this-sides-policy' },
    clock: cloud.clock,
  });

const pushBody = (e: unknown) => pushBodyOf(cloud, e);
const push = (body: string, token?: string) => pushTo(relayUrl, body, token);
const token = (o: { email?: string; audience?: string; now?: number } = {}) => relayToken(cloud, o);

describe('Google -> AWS relay in the local cloud', () => {
  it('carries an event published on crosslink-events to the AWS bus exactly once, though published twice', async () => {
    const e = event();
    const topic = pubsub.topic('crosslink-events');
    const attributes = { 'ce-id': e.id, 'ce-type': e.type, crosslinkorigin: 'gcp' };
    // The same event twice (a publisher retry): two messages, one CloudEvent id.
    await topic.publishMessage({ data: Buffer.from(JSON.stringify(e)), attributes });
    await topic.publishMessage({ data: Buffer.from(JSON.stringify(e)), attributes });
    const sub = `projects/${cloud.gcp.project}/subscriptions/crosslink-events-relay`;
    // Both pushes were signed by the proxy, passed the authorizer and were acknowledged (2xx).
    const deliveries = await ackedPushes(sub, 2);
    expect(deliveries.map((d) => d.outcome)).toEqual([200, 200]);
    expect(await arrivals(e.id)).toEqual([
      { id: e.id, detailType: 'LinkSideStateChanged', source: 'crosslink' },
    ]);
    // The handler logged the duplicate by id, never the event's data.
    const logs = relayLogs();
    expect(logs).toContain('duplicate acknowledged');
    expect(logs).not.toContain('not-this-sides-policy');
  }, 300_000);

  it('refuses forged, unsigned, expired and wrong-audience pushes and other accounts: nothing reaches the bus', async () => {
    const e = event();
    const body = pushBody(e);
    const valid = token();
    const [head, claims] = valid.split('.');
    const forged = `${head}.${claims}.${Buffer.from('not the signature').toString('base64url')}`;
    const otherClaims = Buffer.from(
      JSON.stringify({
        ...JSON.parse(Buffer.from(claims as string, 'base64url').toString()),
        email: 'x@y.z',
      }),
    ).toString('base64url');
    const tampered = `${head}.${otherClaims}.${valid.split('.')[2]}`;
    const answers = {
      unsigned: await push(body),
      forged: await push(body, forged),
      tampered: await push(body, tampered),
      expired: await push(body, token({ now: cloud.clock.now() - 2 * 3_600_000 })),
      wrongAudience: await push(body, token({ audience: relayUrl.replace('/relay/google', '/other') })),
      otherAccount: await push(
        body,
        token({ email: `crosslink-pusher@${cloud.gcp.project}.iam.gserviceaccount.com` }),
      ),
    };
    expect(Object.fromEntries(Object.entries(answers).map(([k, v]) => [k, v.status]))).toEqual({
      unsigned: 401,
      forged: 401,
      tampered: 401,
      expired: 401,
      wrongAudience: 401,
      otherAccount: 403,
    });
    // Poison from the right account: 400 (Pub/Sub dead-letters it), an AWS-origin event: acknowledged, dropped.
    const poison = await push(JSON.stringify({ message: { data: '***' } }), valid);
    expect(poison.status).toBe(400);
    expect(JSON.parse(poison.body).reason).toMatch(/message.data: is not base64/);
    const back = event({ cloud: 'aws', accountId: '000000000000', region: REGION });
    const wrongOrigin = await push(pushBody(back), valid);
    expect(wrongOrigin.status).toBe(200);
    expect(JSON.parse(wrongOrigin.body).outcome).toBe('wrong-origin');
    // The same push with the valid token gets through: the refusals above were about the token.
    const ok = await push(body, valid);
    expect(ok.status).toBe(200);
    expect(await arrivals(e.id)).toHaveLength(1);
    expect(arrived().some((a) => a.id === back.id)).toBe(false);
    // What the handler refused is counted (EMF): the other account, the poison, the wrong origin.
    const logs = relayLogs();
    for (const metric of ['RelayRefusedAccount', 'RelayPoison', 'RelayWrongOrigin'])
      expect(logs).toContain(metric);
  }, 90_000);
});
