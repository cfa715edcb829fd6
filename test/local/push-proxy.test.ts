import { createPublicKey, createVerify, type JsonWebKey } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PubSub } from '@google-cloud/pubsub';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { FaultRegistry } from '#local/faults.ts';
import { decodeJwt } from '#local/gcp/auth.ts';
import type { Emulators } from '#local/gcp/emulators.ts';
import { backoffSeconds, PushProxy } from '#local/gcp/push-proxy.ts';
import type { LocalCloud } from '#local/index.ts';
import { seededRandom } from '#local/random.ts';
import { leaseEmulators } from '../support/emulators.ts';
import { startTestCloud } from '../support/local-cloud.ts';

// No GCE metadata server here: google-auth-library would probe for one and warn.
process.env.METADATA_SERVER_DETECTION = 'none';

/** The project of this file's emulator lease (set in beforeAll). */
let PROJECT: string;
const SA = 'crosslink@crosslink-local.iam.gserviceaccount.com';

interface Received {
  path: string;
  authorization: string | undefined;
  body: {
    message: { data: string; attributes?: Record<string, string>; messageId: string; publishTime: string };
    subscription: string;
    deliveryAttempt?: number;
  };
}

/** An endpoint that records every push and answers with the status its path asks for (`/status/500`). */
async function endpoint(): Promise<{ url: string; received: Received[]; server: Server }> {
  const received: Received[] = [];
  const read = (req: IncomingMessage) =>
    new Promise<string>((resolve) => {
      let s = '';
      req.on('data', (c) => {
        s += c;
      });
      req.on('end', () => resolve(s));
    });
  const server = createServer(async (req, res) => {
    const text = await read(req);
    received.push({ path: req.url ?? '', authorization: req.headers.authorization, body: JSON.parse(text) });
    const status = Number(/\/status\/(\d+)/.exec(req.url ?? '')?.[1] ?? 204);
    res.writeHead(status).end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, received, server };
}

/** Verifies an RS256 JWT against a JWKS the way a relying party does: kid, signature, claims. */
function verifyWithJwks(token: string, jwks: { keys: Array<JsonWebKey & { kid?: string }> }) {
  const jwt = decodeJwt(token);
  if (!jwt) throw new Error('not a JWT');
  const jwk = jwks.keys.find((k) => k.kid === jwt.header.kid);
  if (!jwk) throw new Error('unknown kid');
  const ok = createVerify('RSA-SHA256')
    .update(jwt.signingInput)
    .verify(createPublicKey({ key: jwk, format: 'jwk' }), jwt.signature);
  if (!ok) throw new Error('bad signature');
  return jwt.claims;
}

// The tests run at once: each has its own topic, subscription, endpoint path and faults (a fault's
// operation is its subscription), and most of their time is the emulator's wall-time ack deadlines
// and the quiet half minute, which overlap.
describe.concurrent('the push proxy', () => {
  let emulators: Emulators;
  let cloud: LocalCloud;
  let proxy: PushProxy;
  let pubsub: PubSub;
  let target: Awaited<ReturnType<typeof endpoint>>;
  const faults = new FaultRegistry(seededRandom(7));
  /** Endpoint paths the network does not reach now (a relay partition, for the test below). */
  const cut = new Set<string>();

  beforeAll(async () => {
    let lease: Awaited<ReturnType<typeof leaseEmulators>>;
    [lease, cloud, target] = await Promise.all([leaseEmulators(), startTestCloud(), endpoint()]);
    ({ emulators, project: PROJECT } = lease);
    proxy = new PushProxy({
      pubsubHost: emulators.pubsubHost as string,
      projects: [PROJECT],
      sign: (r) => cloud.gcp.auth.mintIdToken(r),
      faults,
      pollMs: 100,
      unreachable: (url) => cut.has(new URL(url).pathname),
    });
    await proxy.start();
    pubsub = new PubSub({
      projectId: PROJECT,
      apiEndpoint: emulators.pubsubHost as string,
      emulatorMode: true,
    });
  });

  afterAll(async () => {
    await pubsub?.close();
    await proxy?.stop();
    target?.server.close();
    await cloud?.stop();
  });

  it('delivers a push with an OIDC token a relying party can verify (issuer, audience, service account)', async ({
    expect,
  }) => {
    // Prepare
    const [topic] = await pubsub.createTopic('relay-out');
    const [sub] = await topic.createSubscription('relay-push', {
      pushConfig: {
        pushEndpoint: `${target.url}/ok`,
        oidcToken: { serviceAccountEmail: SA, audience: 'https://relay.example/aws' },
      },
    });
    await proxy.adopt(sub.name);

    // Act
    await topic.publishMessage({ data: Buffer.from('{"id":"01J"}'), attributes: { 'ce-id': '01J' } });

    // Assess
    await expect
      .poll(() => target.received.filter((r) => r.path === '/ok').length, { timeout: 60_000 })
      .toBe(1);
    const push = target.received.find((r) => r.path === '/ok') as Received;
    expect(push.body.subscription).toBe(`projects/${PROJECT}/subscriptions/relay-push`);
    expect(Buffer.from(push.body.message.data, 'base64').toString()).toBe('{"id":"01J"}');
    expect(push.body.message.attributes).toEqual({ 'ce-id': '01J' });
    const jwks = (await (await fetch(cloud.gcp.jwksUri)).json()) as { keys: JsonWebKey[] };
    const claims = verifyWithJwks((push.authorization as string).replace(/^Bearer /, ''), jwks);
    expect(claims).toMatchObject({
      iss: 'https://accounts.google.com',
      aud: 'https://relay.example/aws',
      email: SA,
      email_verified: true,
    });
    // Acknowledged: nothing comes back.
    await new Promise((r) => setTimeout(r, 1_500));
    expect(target.received.filter((r) => r.path === '/ok')).toHaveLength(1);
    expect(proxy.subscriptions().find((s) => s.name === sub.name)?.pushConfig.pushEndpoint).toBe(
      `${target.url}/ok`,
    );
  }, 120_000);

  it('delivers the first message after a quiet 35 s at once (a pull is never abandoned while the emulator holds it)', async ({
    expect,
  }) => {
    // Prepare: nothing to pull for longer than the 30 s after which the proxy used to give up on a
    // pull; the emulator then handed the next message to the abandoned pull, and it stayed invisible
    // for its whole ack deadline (10 minutes here).
    const [topic] = await pubsub.createTopic('quiet');
    const [sub] = await topic.createSubscription('quiet-push', {
      pushConfig: { pushEndpoint: `${target.url}/quiet`, oidcToken: { serviceAccountEmail: SA } },
      ackDeadlineSeconds: 600,
    });
    await proxy.adopt(sub.name);
    await new Promise((r) => setTimeout(r, 35_000));

    // Act
    await topic.publishMessage({ data: Buffer.from('after the quiet') });

    // Assess
    await expect
      .poll(() => target.received.filter((r) => r.path === '/quiet').length, { timeout: 60_000 })
      .toBe(1);
  }, 120_000);

  it('retries a failing endpoint with backoff, then dead-letters after maxDeliveryAttempts', async ({
    expect,
  }) => {
    // Prepare
    const [topic] = await pubsub.createTopic('poison');
    const [dlt] = await pubsub.createTopic('poison-dead');
    const [dead] = await dlt.createSubscription('poison-dead-pull');
    const [sub] = await topic.createSubscription('poison-push', {
      pushConfig: { pushEndpoint: `${target.url}/status/500`, oidcToken: { serviceAccountEmail: SA } },
      deadLetterPolicy: { deadLetterTopic: dlt.name, maxDeliveryAttempts: 5 },
      retryPolicy: { minimumBackoff: { seconds: 1 }, maximumBackoff: { seconds: 1 } },
    });
    await proxy.adopt(sub.name);

    // Act
    await topic.publishMessage({ data: Buffer.from('poison') });
    const deadLettered = await new Promise<{ attributes: Record<string, string>; data: Buffer }>(
      (resolve) => {
        dead.once('message', (m) => {
          m.ack();
          resolve(m);
        });
      },
    );

    // Assess
    const pushes = target.received.filter((r) => r.path === '/status/500');
    expect(pushes.map((p) => p.body.deliveryAttempt)).toEqual([1, 2, 3, 4, 5]);
    expect(deadLettered.data.toString()).toBe('poison');
    expect(deadLettered.attributes.CloudPubSubDeadLetterSourceDeliveryCount).toBe('5');
    expect(deadLettered.attributes.CloudPubSubDeadLetterSourceSubscription).toBe('poison-push');
    // The default audience of a push token is the endpoint URL.
    const claims = decodeJwt((pushes[0]?.authorization ?? '').slice(7))?.claims;
    expect(claims?.aud).toBe(`${target.url}/status/500`);
    await dead.close();
  }, 120_000);

  it('fails pushes to an endpoint the network does not reach (a relay partition), and delivers once it heals', async ({
    expect,
  }) => {
    // Prepare
    const [topic] = await pubsub.createTopic('partitioned');
    const [sub] = await topic.createSubscription('partitioned-push', {
      pushConfig: { pushEndpoint: `${target.url}/partitioned`, oidcToken: { serviceAccountEmail: SA } },
      retryPolicy: { minimumBackoff: { seconds: 1 }, maximumBackoff: { seconds: 1 } },
    });
    await proxy.adopt(sub.name);
    cut.add('/partitioned');

    // Act
    await topic.publishMessage({ data: Buffer.from('across') });
    await expect
      .poll(() => proxy.deliveries(sub.name).filter((d) => d.outcome === 'error').length, { timeout: 60_000 })
      .toBeGreaterThanOrEqual(2);
    const during = target.received.filter((r) => r.path === '/partitioned').length;
    cut.delete('/partitioned');

    // Assess: nothing reached the endpoint while cut; the same message arrives once healed.
    expect(during).toBe(0);
    await expect
      .poll(() => target.received.filter((r) => r.path === '/partitioned').length, { timeout: 60_000 })
      .toBe(1);
    expect(target.received.find((r) => r.path === '/partitioned')?.body.message.data).toBe(
      Buffer.from('across').toString('base64'),
    );
  }, 120_000);

  it('duplicates and drops pushes when told to', async ({ expect }) => {
    // Prepare
    const [topic] = await pubsub.createTopic('faulty');
    const [sub] = await topic.createSubscription('faulty-push', {
      pushConfig: { pushEndpoint: `${target.url}/faulty`, oidcToken: { serviceAccountEmail: SA } },
      ackDeadlineSeconds: 10,
    });
    await proxy.adopt(sub.name);
    faults.add({ edge: 'gcp', service: 'pubsub', operation: 'faulty-push', kind: 'duplicate', count: 1 });

    // Act
    await topic.publishMessage({ data: Buffer.from('twice') });

    // Assess: the same message id twice.
    await expect
      .poll(() => target.received.filter((r) => r.path === '/faulty').length, { timeout: 60_000 })
      .toBe(2);
    const [a, b] = target.received.filter((r) => r.path === '/faulty');
    expect(a?.body.message.messageId).toBe(b?.body.message.messageId);

    // Act: a dropped push is redelivered once its ack deadline (10 s) runs out.
    faults.add({ edge: 'gcp', service: 'pubsub', operation: 'faulty-push', kind: 'drop', count: 1 });
    await topic.publishMessage({ data: Buffer.from('late') });

    // Assess
    await expect
      .poll(() => proxy.deliveries(sub.name).map((d) => d.outcome), { timeout: 60_000, interval: 200 })
      .toEqual([204, 204, 'dropped', 204]);
  }, 120_000);

  it('delivers every message twice, in a shuffled order, and acks each once, with duplicate + reorder', async ({
    expect,
  }) => {
    // Prepare
    const [topic] = await pubsub.createTopic('shuffled');
    const [sub] = await topic.createSubscription('shuffled-push', {
      pushConfig: { pushEndpoint: `${target.url}/shuffled`, oidcToken: { serviceAccountEmail: SA } },
      ackDeadlineSeconds: 10,
    });
    await proxy.adopt(sub.name);
    const duplicate = faults.add({
      edge: 'gcp',
      service: 'pubsub',
      operation: 'shuffled-push',
      kind: 'duplicate',
    });
    const reorder = faults.add({
      edge: 'gcp',
      service: 'pubsub',
      operation: 'shuffled-push',
      kind: 'reorder',
      latencyMs: 1_500,
    });
    const sent = Array.from({ length: 10 }, (_, i) => `m${i}`);

    // Act: one batch (the client sends the calls of one tick in one publish, in call order), so
    // the proxy pulls them together however slow the machine is, and each copy's hold reorders them.
    await Promise.all(sent.map((data) => topic.publishMessage({ data: Buffer.from(data) })));

    // Assess: two copies of each, and the first copies not in publish order.
    const arrived = () =>
      target.received
        .filter((r) => r.path === '/shuffled')
        .map((r) => Buffer.from(r.body.message.data, 'base64').toString());
    await expect.poll(() => arrived().length, { timeout: 60_000, interval: 100 }).toBe(20);
    for (const data of sent) expect(arrived().filter((d) => d === data)).toHaveLength(2);
    const firstArrivals = arrived().filter((d, i, all) => all.indexOf(d) === i);
    expect(firstArrivals).not.toEqual(sent);
    expect([...firstArrivals].sort()).toEqual([...sent].sort());
    // The proxy records a push once its answer is back, after the endpoint has seen it.
    await expect.poll(() => proxy.deliveries(sub.name).length, { timeout: 60_000 }).toBe(20);
    const log = proxy.deliveries(sub.name);
    expect(log.every((d) => d.outcome === 204 && d.attempt === 1)).toBe(true);
    expect(log.some((d) => (d.heldMs ?? 0) > 0)).toBe(true);
    // Each message was acknowledged: after an ack deadline (10 s) nothing came back.
    await new Promise((r) => setTimeout(r, 11_000));
    expect(arrived()).toHaveLength(20);
    faults.remove(duplicate.id);
    faults.remove(reorder.id);
  }, 120_000);

  it('runs inside a local cloud given running emulators, which outlive that cloud', async ({ expect }) => {
    // Prepare: a second cloud sharing this file's emulators (in a project of its own).
    const shared = await startTestCloud({ emulators });
    expect(shared.gcp.project).not.toBe(PROJECT);
    const project = shared.gcp.project;
    const client = new PubSub({
      projectId: project,
      apiEndpoint: emulators.pubsubHost as string,
      emulatorMode: true,
    });
    const [topic] = await client.createTopic('in-cloud');
    const [sub] = await topic.createSubscription('in-cloud-push', {
      pushConfig: {
        pushEndpoint: `${target.url}/in-cloud`,
        oidcToken: { serviceAccountEmail: SA, audience: 'aud-x' },
      },
    });
    await shared.pushProxy?.adopt(sub.name);

    // Act
    await topic.publishMessage({ data: Buffer.from('x') });

    // Assess: delivered with a token of the second cloud's key, and the handshake names the emulators.
    await expect
      .poll(() => target.received.filter((r) => r.path === '/in-cloud').length, { timeout: 60_000 })
      .toBe(1);
    const push = target.received.find((r) => r.path === '/in-cloud') as Received;
    expect(shared.gcp.auth.verifyIdToken((push.authorization as string).slice(7), 'aud-x')).toMatchObject({
      email: SA,
    });
    expect(shared.handshake()).toMatchObject({
      pubsubEmulatorHost: emulators.pubsubHost,
      firestoreEmulatorHost: emulators.firestoreHost,
    });
    await client.close();
    await shared.stop();
    expect((await fetch(`http://${emulators.pubsubHost}/`)).ok).toBe(true);
  }, 120_000);

  it('backs off exponentially between the retry policy bounds', ({ expect }) => {
    const sub = { retryPolicy: { minimumBackoff: '2s', maximumBackoff: '20s' } };
    expect([1, 2, 3, 4, 5].map((n) => backoffSeconds(sub, n))).toEqual([2, 4, 8, 16, 20]);
    expect(backoffSeconds({}, 1)).toBe(0.1);
    expect(backoffSeconds({}, 20)).toBe(60);
  });
});
