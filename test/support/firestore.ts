/**
 * The run's Firestore emulator for a test file (test/support/emulators.ts): one database per test
 * (a project id of the file's lease with the test's number, so no test of this or another file sees
 * another's documents); `stop()` ends the file's clients, the run's global setup the emulator.
 */
import { Firestore } from '@google-cloud/firestore';
import type { Emulators } from '#local/gcp/emulators.ts';
import { leaseEmulators } from './emulators.ts';

export interface TestFirestore {
  /** A client on a project id no other test uses. */
  db(): Firestore;
  emulators: Emulators;
  stop(): Promise<void>;
}

export async function startTestFirestore(): Promise<TestFirestore> {
  // No GCE metadata server here: google-auth-library would probe for one and warn.
  process.env.METADATA_SERVER_DETECTION = 'none';
  const { emulators, project } = await leaseEmulators();
  process.env.FIRESTORE_EMULATOR_HOST = emulators.firestoreHost as string;
  const clients: Firestore[] = [];
  return {
    emulators,
    db() {
      const db = new Firestore({ projectId: `${project}-${clients.length + 1}` });
      clients.push(db);
      return db;
    },
    async stop() {
      await Promise.allSettled(clients.map((c) => c.terminate()));
      delete process.env.FIRESTORE_EMULATOR_HOST;
    },
  };
}
