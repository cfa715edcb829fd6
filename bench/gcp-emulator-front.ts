/**
 * What a function's IAM front of the emulators (local/gcp/emulator-front.ts) costs a call: a
 * Firestore document read and a Pub/Sub publish through the real clients, against the emulator
 * directly and through a front bound to an account that holds the grants (gcp.yml's steps account),
 * in alternating rounds. Figures only, nothing asserted.
 */
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Firestore } from '@google-cloud/firestore';
import { PubSub } from '@google-cloud/pubsub';
import { loadGcpConfig, serviceAccountEmail } from '#deployment/gcp-config.ts';
import { substituteAwsPublishers } from '#deployment/gcp-config-substitute.ts';
import { VirtualClock } from '#local/clock.ts';
import { GcpAuth } from '#local/gcp/auth.ts';
import { EmulatorFront } from '#local/gcp/emulator-front.ts';
import { startEmulators } from '#local/gcp/emulators.ts';
import { configPolicy } from '#local/gcp/iam/grants.ts';
import { GcpIam } from '#local/gcp/iam/policy.ts';

const P = 'bench-front';
const PN = '100000000001';

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? Number.NaN;

async function timed(n: number, call: () => Promise<unknown>): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await call();
    out.push(performance.now() - t);
  }
  return out;
}

export async function run(): Promise<void> {
  delete process.env.FIRESTORE_EMULATOR_HOST;
  delete process.env.PUBSUB_EMULATOR_HOST;
  process.env.METADATA_SERVER_DETECTION = 'none';
  const emulators = await startEmulators({ log: () => {} });
  const auth = new GcpAuth({
    clock: new VirtualClock({ mode: 'manual', start: 0 }),
    project: P,
    identities: [],
  });
  await auth.init();
  const iam = new GcpIam({ projectNumber: () => PN });
  const config = substituteAwsPublishers(loadGcpConfig(join(import.meta.dirname, '..', 'gcp.yml')), {
    CROSSLINK_AWS_RELAY_ROLE_ARN: 'arn:aws:iam::000000000000:role/crosslink-relay-to-google-local',
  });
  const policy = configPolicy(config, P, PN, 'us-east4');
  iam.setBindings('gcp.yml', policy.bindings);
  iam.setCustomRoles(policy.customRoles);
  const front = new EmulatorFront({
    firestoreHost: emulators.firestoreHost,
    pubsubHost: emulators.pubsubHost,
    auth,
    iam,
    serviceAccount: serviceAccountEmail('crosslink-steps', P),
  });
  await front.start();
  const firestore = (host: string) => new Firestore({ projectId: P, host, ssl: false });
  const pubsub = (host: string) =>
    new PubSub({ projectId: P, apiEndpoint: host, emulatorMode: true }).topic('crosslink-events', {
      batching: { maxMessages: 1 },
    });
  const direct = {
    db: firestore(emulators.firestoreHost as string),
    topic: pubsub(emulators.pubsubHost as string),
  };
  const fronted = { db: firestore(front.host), topic: pubsub(front.host) };
  try {
    await direct.topic.pubsub.createTopic('crosslink-events');
    await direct.db.doc('links/bench').set({ state: 'ACTIVE' });
    const read = (c: typeof direct) => () => c.db.doc('links/bench').get();
    const publish = (c: typeof direct) => () => c.topic.publishMessage({ data: Buffer.from('x') });
    const times = {
      readDirect: [] as number[],
      readFront: [] as number[],
      pubDirect: [] as number[],
      pubFront: [] as number[],
    };
    // Warm-up: connections, channels, the decision cache.
    for (const c of [direct, fronted]) {
      await timed(20, read(c));
      await timed(20, publish(c));
    }
    for (let r = 0; r < 10; r++) {
      times.readDirect.push(...(await timed(50, read(direct))));
      times.readFront.push(...(await timed(50, read(fronted))));
      times.pubDirect.push(...(await timed(50, publish(direct))));
      times.pubFront.push(...(await timed(50, publish(fronted))));
    }
    const f = (xs: number[]) => `${median(xs).toFixed(3)} ms`;
    console.log(
      'median latency, 500 calls each, alternating rounds of 50 (real clients, emulators on loopback)',
    );
    console.log(
      `  Firestore get (BatchGetDocuments): direct ${f(times.readDirect)}, through the front ${f(times.readFront)}`,
    );
    console.log(
      `  Pub/Sub publish:                   direct ${f(times.pubDirect)}, through the front ${f(times.pubFront)}`,
    );
  } finally {
    await Promise.all([direct.db.terminate(), fronted.db.terminate()]);
    await Promise.all([direct.topic.pubsub.close(), fronted.topic.pubsub.close()]);
    await front.stop();
    await emulators.stop();
  }
}
