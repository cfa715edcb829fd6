/**
 * A function's IAM front of the emulators (local/gcp/emulator-front.ts) with the real
 * @google-cloud/firestore and @google-cloud/pubsub clients pointed at it, and the grants of the
 * repository's gcp.yml (as deploy-gcp makes them): an account with roles/datastore.user reads,
 * writes, queries and runs transactions; one without is refused with gRPC PERMISSION_DENIED naming
 * the permission; a function's account may publish to crosslink-events but not to
 * crosslink-peer-events (the AWS relay's alone); a bearer token of the local Google names the
 * caller over the front's bound account; every allowed check is recorded for the least-privilege
 * report.
 */
import { join } from 'node:path';
import { Firestore } from '@google-cloud/firestore';
import { PubSub } from '@google-cloud/pubsub';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadGcpConfig, serviceAccountEmail } from '#deployment/gcp-config.ts';
import { substituteAwsPublishers } from '#deployment/gcp-config-substitute.ts';
import { VirtualClock } from '#local/clock.ts';
import { GcpAuth } from '#local/gcp/auth.ts';
import { EmulatorFront } from '#local/gcp/emulator-front.ts';
import { configPolicy } from '#local/gcp/iam/grants.ts';
import { GcpIam } from '#local/gcp/iam/policy.ts';
import { type LeasedEmulators, leaseEmulators } from '../../support/emulators.ts';

// The clients find their emulator in the settings given here, not in this process's environment.
delete process.env.FIRESTORE_EMULATOR_HOST;
delete process.env.PUBSUB_EMULATOR_HOST;
process.env.METADATA_SERVER_DETECTION = 'none';

const ROOT = join(import.meta.dirname, '..', '..', '..');
const PN = '100000000001';
let lease: LeasedEmulators;
let P: string;
let auth: GcpAuth;
let iam: GcpIam;
const fronts: EmulatorFront[] = [];
const clients: { terminate?: () => Promise<void>; close?: () => Promise<void> }[] = [];

async function frontFor(account: string): Promise<EmulatorFront> {
  const email = serviceAccountEmail(account, P);
  await auth.addServiceAccount(email);
  const front = new EmulatorFront({
    firestoreHost: lease.emulators.firestoreHost,
    pubsubHost: lease.emulators.pubsubHost,
    auth,
    iam,
    serviceAccount: email,
  });
  await front.start();
  fronts.push(front);
  return front;
}

function firestoreThrough(front: EmulatorFront, headers?: Record<string, string>): Firestore {
  const db = new Firestore({
    projectId: P,
    host: front.host,
    ssl: false,
    ...(headers ? { customHeaders: headers } : {}),
  });
  clients.push(db);
  return db;
}

function pubsubThrough(front: EmulatorFront): PubSub {
  const pubsub = new PubSub({ projectId: P, apiEndpoint: front.host, emulatorMode: true });
  clients.push(pubsub);
  return pubsub;
}

beforeAll(async () => {
  lease = await leaseEmulators();
  P = lease.project;
  auth = new GcpAuth({ clock: new VirtualClock({ mode: 'manual', start: 0 }), project: P, identities: [] });
  await auth.init();
  iam = new GcpIam({ projectNumber: () => PN });
  const config = substituteAwsPublishers(loadGcpConfig(join(ROOT, 'gcp.yml')), {
    CROSSLINK_AWS_RELAY_ROLE_ARN: 'arn:aws:iam::000000000000:role/crosslink-relay-to-google-local',
  });
  const policy = configPolicy(config, P, PN, 'us-east4');
  iam.setBindings('gcp.yml', policy.bindings);
  iam.setCustomRoles(policy.customRoles);
  // The topics, made straight on the emulator (as the plumbing does).
  const admin = new PubSub({
    projectId: P,
    apiEndpoint: lease.emulators.pubsubHost as string,
    emulatorMode: true,
  });
  await admin.createTopic('crosslink-events');
  await admin.createTopic('crosslink-peer-events');
  await admin.close();
}, 60_000);

afterAll(async () => {
  for (const c of clients) await (c.terminate ?? c.close)?.call(c).catch(() => undefined);
  for (const f of fronts) await f.stop();
});

const grpcDenied = (permission: string, resource: string) =>
  expect.objectContaining({
    code: 7,
    details: `Permission '${permission}' denied on resource '${resource}' (or it may not exist).`,
  });

describe("a function's IAM front of Firestore", () => {
  it('lets an account with roles/datastore.user write, read, query, listen, batch-write and run a transaction, recording each permission', async () => {
    // Prepare
    const db = firestoreThrough(await frontFor('crosslink-steps'));
    const ref = db.collection('links').doc('lk-1');
    // Act
    await ref.create({ state: 'REQUESTED' });
    await db.runTransaction(async (tx) => {
      const snap = await tx.get(ref);
      tx.update(ref, { state: `${snap.get('state')}-seen` });
    });
    const listed = await db.collection('links').where('state', '==', 'REQUESTED-seen').get();
    const listener = await new Promise<number>((resolve, reject) => {
      const stop = db.collection('links').onSnapshot((s) => {
        stop();
        resolve(s.size);
      }, reject);
    });
    const bulk = db.bulkWriter();
    void bulk.create(db.collection('links').doc('lk-bulk'), { state: 'REQUESTED' });
    await bulk.close();
    const collections = (await db.listCollections()).map((c) => c.id);
    await ref.delete();
    // Assess
    expect(collections).toContain('links');
    expect(listed.docs.map((d) => d.id)).toEqual(['lk-1']);
    expect(listener).toBe(1);
    const used = iam.used().get(`serviceAccount:${serviceAccountEmail('crosslink-steps', P)}`);
    expect([...(used?.keys() ?? [])].sort()).toEqual([
      'datastore.entities.create',
      'datastore.entities.delete',
      'datastore.entities.get',
      'datastore.entities.list',
      'datastore.entities.update',
    ]);
  }, 30_000);

  it('refuses an account without roles/datastore.user writing a document: PERMISSION_DENIED naming the permission', async () => {
    // Prepare: the push signer holds no role
    const db = firestoreThrough(await frontFor('crosslink-pusher'));
    // Act
    const write = db.collection('links').doc('lk-2').create({ state: 'REQUESTED' });
    // Assess
    await expect(write).rejects.toThrow(
      grpcDenied('datastore.entities.create', `projects/${P}/databases/(default)`),
    );
    const read = await db
      .collection('links')
      .doc('lk-2')
      .get()
      .catch((e: Error) => e);
    expect(read).toMatchObject({ code: 7 });
    expect(iam.refused()).toContainEqual({
      principal: `serviceAccount:${serviceAccountEmail('crosslink-pusher', P)}`,
      permission: 'datastore.entities.create',
      resource: `projects/${P}/databases/(default)`,
    });
  }, 30_000);

  it("takes the caller from a bearer token of the local Google over the front's account, and refuses a token it did not issue", async () => {
    // Prepare: the steps account's front, called with the pusher's token and with a made-up one
    const front = await frontFor('crosslink-steps');
    const pusher = serviceAccountEmail('crosslink-pusher', P);
    await auth.addServiceAccount(pusher);
    const token = auth.issueAccessToken({ email: pusher, kind: 'service-account' }).token;
    // Act
    const asPusher = firestoreThrough(front, { Authorization: `Bearer ${token}` })
      .collection('links')
      .doc('lk-3')
      .create({ a: 1 });
    const forged = firestoreThrough(front, { Authorization: 'Bearer ya29.made-up' })
      .collection('links')
      .doc('lk-3')
      .create({ a: 1 });
    // Assess
    await expect(asPusher).rejects.toThrow(
      grpcDenied('datastore.entities.create', `projects/${P}/databases/(default)`),
    );
    await expect(forged).rejects.toMatchObject({ code: 16 });
  }, 30_000);
});

describe("a function's IAM front of Pub/Sub", () => {
  it('lets a function account publish to crosslink-events and refuses it crosslink-peer-events', async () => {
    // Prepare
    const pubsub = pubsubThrough(await frontFor('crosslink-events'));
    // Act
    const id = await pubsub.topic('crosslink-events').publishMessage({ data: Buffer.from('ok') });
    const forged = pubsub.topic('crosslink-peer-events').publishMessage({ data: Buffer.from('forged') });
    const created = pubsub.createTopic('elsewhere').catch((e: { code: number; details: string }) => e);
    // Assess
    expect(id).toMatch(/^\d+$/);
    expect(await created).toMatchObject({
      code: 12,
      details: expect.stringMatching(/CreateTopic is not served through the local IAM check/),
    });
    await expect(forged).rejects.toThrow(
      grpcDenied('pubsub.topics.publish', `projects/${P}/topics/crosslink-peer-events`),
    );
  }, 30_000);

  it('serves the REST publish of a function with the same rules', async () => {
    // Prepare
    const front = await frontFor('crosslink-events');
    const publish = (topic: string) =>
      fetch(`http://${front.host}/v1/projects/${P}/topics/${topic}:publish`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ messages: [{ data: Buffer.from('x').toString('base64') }] }),
      });
    // Act
    const ok = await publish('crosslink-events');
    const refused = await publish('crosslink-peer-events');
    // Assess
    expect(ok.status).toBe(200);
    expect(refused.status).toBe(403);
    expect(((await refused.json()) as { error: { message: string } }).error.message).toBe(
      `Permission 'pubsub.topics.publish' denied on resource 'projects/${P}/topics/crosslink-peer-events' (or it may not exist).`,
    );
  }, 30_000);
});
