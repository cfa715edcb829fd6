/**
 * The run's shared emulators (test/support/emulators-setup.ts, test/support/emulators.ts): every
 * lease gets the same running emulators and a project of its own, what one lease keeps there the
 * other does not see, a test cannot stop them, and a test cloud asking for emulators runs its hub
 * in a leased project with the hub's service accounts in it.
 */
import { Firestore } from '@google-cloud/firestore';
import { PubSub } from '@google-cloud/pubsub';
import { afterAll, describe, expect, it } from 'vitest';
import { type LeasedEmulators, leaseEmulators, leaseProject } from '../support/emulators.ts';
import { startTestCloud } from '../support/local-cloud.ts';

// No GCE metadata server here: google-auth-library would probe for one and warn.
process.env.METADATA_SERVER_DETECTION = 'none';

const closers: Array<() => Promise<unknown>> = [];
afterAll(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

const pubsubOf = (l: LeasedEmulators) => {
  const client = new PubSub({
    projectId: l.project,
    apiEndpoint: l.emulators.pubsubHost as string,
    emulatorMode: true,
  });
  closers.push(() => client.close());
  return client;
};

describe("the run's shared emulators", () => {
  it('give every lease the same running emulators and a project no other lease holds', async () => {
    // Act
    const [a, b] = await Promise.all([leaseEmulators(), leaseEmulators()]);
    const alone = await leaseProject();
    // Assess
    expect(a.emulators.pubsubHost).toBe(b.emulators.pubsubHost);
    expect(a.emulators.firestoreHost).toBe(b.emulators.firestoreHost);
    expect(new Set([a.project, b.project, alone]).size).toBe(3);
    for (const p of [a.project, b.project, alone]) expect(p).toMatch(/^[a-z][a-z0-9-]{4,28}[a-z0-9]$/);
    expect((await fetch(`http://${a.emulators.pubsubHost}/`)).ok).toBe(true);
    expect((await fetch(`http://${a.emulators.firestoreHost}/`)).ok).toBe(true);
  });

  it("keep one lease's topics, messages and documents out of another's project", async () => {
    // Prepare
    const [a, b] = await Promise.all([leaseEmulators(), leaseEmulators()]);
    const [pa, pb] = [pubsubOf(a), pubsubOf(b)];
    const [topicA] = await pa.createTopic('crosslink-events');
    const [subA] = await topicA.createSubscription('check');
    process.env.FIRESTORE_EMULATOR_HOST = a.emulators.firestoreHost as string;
    const [fa, fb] = [new Firestore({ projectId: a.project }), new Firestore({ projectId: b.project })];
    closers.push(
      () => fa.terminate(),
      () => fb.terminate(),
    );
    await fa.doc('links/lk-1').set({ state: 'ACTIVE' });
    // Act: b creates the same names in its own project and publishes there.
    const [topicB] = await pb.createTopic('crosslink-events');
    const [subB] = await topicB.createSubscription('check');
    await topicB.publishMessage({ data: Buffer.from('from b') });
    // Assess: a's subscription saw nothing of b's message, and b's project has no document of a's.
    const pullA = await fetch(`http://${a.emulators.pubsubHost}/v1/${subA.name}:pull`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ maxMessages: 10, returnImmediately: true }),
    });
    expect(((await pullA.json()) as { receivedMessages?: unknown[] }).receivedMessages ?? []).toEqual([]);
    const pullB = await fetch(`http://${b.emulators.pubsubHost}/v1/${subB.name}:pull`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ maxMessages: 10 }),
    });
    expect(((await pullB.json()) as { receivedMessages?: unknown[] }).receivedMessages).toHaveLength(1);
    expect((await fb.doc('links/lk-1').get()).exists).toBe(false);
    expect((await fa.doc('links/lk-1').get()).data()).toEqual({ state: 'ACTIVE' });
    const [topicsOfB] = await pb.getTopics();
    expect(topicsOfB.map((t) => t.name)).toEqual([`projects/${b.project}/topics/crosslink-events`]);
    delete process.env.FIRESTORE_EMULATOR_HOST;
  });

  it('refuse to be stopped by a test, and keep running', async () => {
    const { emulators } = await leaseEmulators();
    await expect(emulators.stop()).rejects.toThrow(/stopped by the global setup/);
    expect((await fetch(`http://${emulators.pubsubHost}/`)).ok).toBe(true);
  });

  it("run a test cloud's hub in a leased project, with the hub's service accounts in it", async () => {
    // Act
    const both = await startTestCloud({ emulators: true });
    closers.push(() => both.stop());
    const pubsubOnly = await startTestCloud({ emulators: { firestore: false } });
    closers.push(() => pubsubOnly.stop());
    // Assess: projects of their own, neither the default hub
    expect(both.gcp.project).not.toBe(pubsubOnly.gcp.project);
    expect(both.gcp.project).not.toBe('crosslink-local');
    expect(both.gcp.auth.keyFile('crosslink')).toMatchObject({
      client_email: `crosslink@${both.gcp.project}.iam.gserviceaccount.com`,
      project_id: both.gcp.project,
    });
    // The users keep their own emails.
    expect(both.gcp.auth.keyFile('alice').client_email).toBe('alice@example.com');
    const lease = await leaseEmulators();
    expect(both.handshake()).toMatchObject({
      pubsubEmulatorHost: lease.emulators.pubsubHost,
      firestoreEmulatorHost: lease.emulators.firestoreHost,
    });
    // `{firestore: false}` leaves Firestore out of that cloud.
    expect(pubsubOnly.handshake()).toMatchObject({
      pubsubEmulatorHost: lease.emulators.pubsubHost,
      firestoreEmulatorHost: null,
    });
  });
});
