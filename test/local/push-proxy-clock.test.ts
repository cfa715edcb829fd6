/**
 * The push proxy given the local cloud's clock: the waits Pub/Sub times between two attempts of one
 * message (the retry policy's backoff, the ack deadline a dropped push waits out) run on that clock,
 * as every other retry of the system does, the proxy dead-letters after the last attempt, and
 * `unsettled()` names the messages still on their way.
 * The waits here are 600 s, Pub/Sub's longest: on the wall clock the second attempt would come ten
 * minutes later; on a manual clock it comes when the clock is moved past them, and not before.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PubSub } from '@google-cloud/pubsub';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { VirtualClock } from '#local/clock.ts';
import { FaultRegistry } from '#local/faults.ts';
import { PushProxy } from '#local/gcp/push-proxy.ts';
import { seededRandom } from '#local/random.ts';
import { leaseEmulators } from '../support/emulators.ts';

process.env.METADATA_SERVER_DETECTION = 'none';

const SA = 'crosslink@crosslink-local.iam.gserviceaccount.com';
/** Wall time within which a step on the clock must show (the emulator's hand-back, a push). */
const SOON = { timeout: 20_000, interval: 100 };

// One after the other: both move the one clock.
describe('the push proxy on the virtual clock', () => {
  let pubsub: PubSub;
  let proxy: PushProxy;
  let server: Server;
  let url: string;
  const clock = new VirtualClock({ mode: 'manual' });
  const faults = new FaultRegistry(seededRandom(11));
  /** Delivery attempts each path received, in order. */
  const received: { path: string; attempt: number | undefined }[] = [];

  beforeAll(async () => {
    const lease = await leaseEmulators();
    server = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => {
        body += c;
      });
      req.on('end', () => {
        const parsed = JSON.parse(body) as { deliveryAttempt?: number };
        received.push({ path: req.url ?? '', attempt: parsed.deliveryAttempt });
        res.writeHead(Number(/\/status\/(\d+)/.exec(req.url ?? '')?.[1] ?? 204)).end();
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    proxy = new PushProxy({
      pubsubHost: lease.emulators.pubsubHost as string,
      projects: [lease.project],
      sign: () => 'token',
      faults,
      clock,
      pollMs: 100,
    });
    await proxy.start();
    pubsub = new PubSub({
      projectId: lease.project,
      apiEndpoint: lease.emulators.pubsubHost as string,
      emulatorMode: true,
    });
  });

  afterAll(async () => {
    await pubsub?.close();
    await proxy?.stop();
    server?.close();
    clock.stop();
  });

  const pushes = (path: string) => received.filter((r) => r.path === path);
  /** Moves the clock past the proxy's wait, once the proxy set it (after the push's answer). */
  const pastTheWait = async () => {
    const end = Date.now() + SOON.timeout;
    while (clock.waits.length === 0) {
      if (Date.now() > end) throw new Error('the proxy set no wait on the clock');
      await pause(SOON.interval);
    }
    await clock.advance(600_000);
  };
  const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

  it('backs off on the clock, and dead-letters the message after its last attempt, settled', async ({
    expect,
  }) => {
    // Prepare
    const [topic] = await pubsub.createTopic('clocked');
    const [dlt] = await pubsub.createTopic('clocked-dead');
    const [dead] = await dlt.createSubscription('clocked-dead-pull');
    const [sub] = await topic.createSubscription('clocked-push', {
      pushConfig: { pushEndpoint: `${url}/status/500`, oidcToken: { serviceAccountEmail: SA } },
      deadLetterPolicy: { deadLetterTopic: dlt.name, maxDeliveryAttempts: 5 },
      retryPolicy: { minimumBackoff: { seconds: 600 }, maximumBackoff: { seconds: 600 } },
    });
    await proxy.adopt(sub.name);
    const deadLettered = new Promise<{ data: string; attributes: Record<string, string> }>((resolve) => {
      dead.once('message', (m) => {
        m.ack();
        resolve({ data: m.data.toString(), attributes: m.attributes });
      });
    });

    // Act
    const id = await topic.publishMessage({ data: Buffer.from('poison') });
    const key = `${sub.name}/${id}`;
    await expect.poll(() => pushes('/status/500').length, SOON).toBe(1);
    await expect.poll(() => proxy.unsettled(), SOON).toContain(key);
    // The clock stands: no second attempt.
    await pause(2_000);
    expect(pushes('/status/500')).toHaveLength(1);
    for (let n = 2; n <= 5; n++) {
      await pastTheWait();
      await expect.poll(() => pushes('/status/500').length, SOON).toBe(n);
      if (n < 5) expect(proxy.unsettled()).toContain(key);
    }

    // Assess
    const letter = await deadLettered;
    expect(letter.data).toBe('poison');
    expect(letter.attributes).toMatchObject({
      CloudPubSubDeadLetterSourceDeliveryCount: '5',
      CloudPubSubDeadLetterSourceSubscription: 'clocked-push',
    });
    expect(pushes('/status/500').map((p) => p.attempt)).toEqual([1, 2, 3, 4, 5]);
    await expect.poll(() => proxy.unsettled(), SOON).not.toContain(key);
    await dead.close();
  }, 120_000);

  it('redelivers a dropped push once its ack deadline passed on the clock, and it is settled once acknowledged', async ({
    expect,
  }) => {
    // Prepare
    const [topic] = await pubsub.createTopic('clocked-drop');
    const [sub] = await topic.createSubscription('clocked-drop-push', {
      pushConfig: { pushEndpoint: `${url}/dropped`, oidcToken: { serviceAccountEmail: SA } },
      ackDeadlineSeconds: 600,
    });
    await proxy.adopt(sub.name);
    faults.add({ edge: 'gcp', service: 'pubsub', operation: 'clocked-drop-push', kind: 'drop', count: 1 });

    // Act
    const id = await topic.publishMessage({ data: Buffer.from('late') });
    const key = `${sub.name}/${id}`;
    await expect.poll(() => proxy.deliveries(sub.name).map((d) => d.outcome), SOON).toEqual(['dropped']);
    expect(proxy.unsettled()).toContain(key);
    await pause(2_000);
    expect(pushes('/dropped')).toHaveLength(0);
    await pastTheWait();

    // Assess
    await expect.poll(() => pushes('/dropped').length, SOON).toBe(1);
    await expect.poll(() => proxy.unsettled(), SOON).not.toContain(key);
    expect(proxy.deliveries(sub.name).map((d) => d.outcome)).toEqual(['dropped', 204]);
  }, 120_000);
});
