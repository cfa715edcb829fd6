import { readFileSync } from 'node:fs';
import { Firestore } from '@google-cloud/firestore';
import { PubSub } from '@google-cloud/pubsub';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  checkEmulatorBinaries,
  EmulatorMissingError,
  type Emulators,
  groupMembers,
  startEmulators,
} from '#local/gcp/emulators.ts';

// No GCE metadata server here: google-auth-library would probe for one and warn.
process.env.METADATA_SERVER_DETECTION = 'none';

describe('the real emulators', () => {
  let emulators: Emulators;

  beforeAll(async () => {
    // Its own emulators, not the run's shared ones (test/support/emulators.ts): this file tests
    // starting and stopping them, process groups and all.
    emulators = await startEmulators();
  });

  afterAll(async () => {
    await emulators?.stop();
  });

  it('serves Pub/Sub to the official client', async () => {
    // Prepare
    process.env.PUBSUB_EMULATOR_HOST = emulators.pubsubHost as string;
    const pubsub = new PubSub({ projectId: 'emu-test' });
    const [topic] = await pubsub.createTopic('events');
    const [sub] = await topic.createSubscription('events-pull');

    // Act
    await topic.publishMessage({ data: Buffer.from('hello'), attributes: { 'ce-id': '01J' } });
    const [received] = await new Promise<[{ data: Buffer; attributes: Record<string, string> }]>(
      (resolve) => {
        sub.once('message', (m) => {
          m.ack();
          resolve([m]);
        });
      },
    );

    // Assess
    expect(received.data.toString()).toBe('hello');
    expect(received.attributes['ce-id']).toBe('01J');
    await sub.close();
    await pubsub.close();
  });

  it('serves Firestore to the official client', async () => {
    // Prepare
    process.env.FIRESTORE_EMULATOR_HOST = emulators.firestoreHost as string;
    const db = new Firestore({ projectId: 'emu-test' });

    // Act
    await db.collection('links').doc('lk-01').create({ state: 'REQUESTED', seq: 1 });
    const again = db.collection('links').doc('lk-01').create({ state: 'REQUESTED', seq: 1 });

    // Assess: a real conditional write, refused the second time.
    await expect(again).rejects.toMatchObject({ code: 6 }); // ALREADY_EXISTS
    expect((await db.collection('links').doc('lk-01').get()).data()).toEqual({ state: 'REQUESTED', seq: 1 });
    await db.terminate();
  });

  it('stops both, leaving no process behind (every process of their groups)', async () => {
    // Prepare: this file's emulators, after the client tests (tests in a file run in order).
    const [pubsubGroup, firestoreGroup] = emulators.pids as [number, number];
    // Each JVM leads its own group (started from its jar, not through a launcher or gcloud).
    expect(groupMembers(firestoreGroup)).toEqual([firestoreGroup]);
    expect(groupMembers(pubsubGroup)).toEqual([pubsubGroup]);
    expect(readFileSync(`/proc/${firestoreGroup}/cmdline`, 'utf8')).toContain('cloud-firestore-emulator.jar');

    // Act
    await emulators.stop();

    // Assess
    await expect
      .poll(() => [...groupMembers(pubsubGroup), ...groupMembers(firestoreGroup)], { timeout: 60_000 })
      .toEqual([]);
    await expect(fetch(`http://${emulators.firestoreHost}/`)).rejects.toThrow();
  });
});

describe('a missing emulator', () => {
  it('is named, with how to install it', () => {
    const problems = checkEmulatorBinaries({
      pubsubBinary: '/nowhere/cloud-pubsub-emulator',
      env: { PATH: '/nowhere' },
    });
    expect(problems.map((p) => p.emulator)).toEqual(['pubsub', 'firestore']);
    expect(problems[0]).toBeInstanceOf(EmulatorMissingError);
    expect(problems[0]?.message).toContain('gcloud components install pubsub-emulator');
    expect(problems[1]?.message).toContain('cloud-firestore-emulator');
  });

  it('fails the start before anything runs', async () => {
    await expect(startEmulators({ pubsubBinary: '/nowhere/x', firestore: false })).rejects.toThrow(
      /Pub\/Sub emulator is missing/,
    );
  });
});
