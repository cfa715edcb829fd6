/**
 * The real Firestore emulator for a test file: started once (port 0 -> a free port), one database per
 * test (a fresh project id, so no test sees another's documents), everything stopped in `stop()`.
 */
import { Firestore } from '@google-cloud/firestore';
import { type Emulators, startEmulators } from '#local/gcp/emulators.ts';

export interface TestFirestore {
  /** A client on a project id no other test of the file uses. */
  db(): Firestore;
  emulators: Emulators;
  stop(): Promise<void>;
}

let files = 0;

export async function startTestFirestore(): Promise<TestFirestore> {
  // No GCE metadata server here: google-auth-library would probe for one and warn.
  process.env.METADATA_SERVER_DETECTION = 'none';
  const emulators = await startEmulators({ pubsub: false });
  process.env.FIRESTORE_EMULATOR_HOST = emulators.firestoreHost as string;
  const clients: Firestore[] = [];
  const file = `${process.pid}-${++files}`;
  return {
    emulators,
    db() {
      const db = new Firestore({ projectId: `crosslink-test-${file}-${clients.length + 1}` });
      clients.push(db);
      return db;
    },
    async stop() {
      await Promise.allSettled(clients.map((c) => c.terminate()));
      await emulators.stop();
      delete process.env.FIRESTORE_EMULATOR_HOST;
    },
  };
}
