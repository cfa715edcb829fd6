/**
 * Vitest global setup: the run's real Pub/Sub and Firestore emulators, shared by every test file.
 *
 * Each JVM costs seconds of CPU to start, so the run starts them once, and only when a test file
 * first asks for them: a run of unit tests starts none. The setup runs in vitest's main process and
 * listens on 127.0.0.1 for leases (`POST /lease`); its URL reaches the test files through
 * `provide('emulatorLeases', url)`. A lease answers the emulators' hosts and a Google project id no
 * other lease of the run got (`crosslink-t<n>`; `POST /project` hands out such a project alone, for
 * a test that brings its own emulators): everything a test keeps in the emulators (topics,
 * subscriptions, Firestore documents) lives in its own project, so files running at once never see
 * each other's messages or documents (test/support/emulators.ts).
 *
 * The emulators run in process groups registered with the reaper (local/processes.ts): the
 * teardown stops them, and a killed vitest leaves nothing behind either.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { TestProject } from 'vitest/node';
import { type Emulators, startEmulators } from '#local/gcp/emulators.ts';

/** What a lease answers (JSON). */
export interface EmulatorLease {
  pubsubHost: string;
  firestoreHost: string;
  /** Process group leaders of the emulators. */
  pids: number[];
  /** A Google project id of this lease alone. */
  project: string;
}

declare module 'vitest' {
  export interface ProvidedContext {
    /** `http://127.0.0.1:<port>` of the run's emulator leases (test/support/emulators-setup.ts). */
    emulatorLeases: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  let started: Promise<Emulators> | undefined;
  let leases = 0;
  const nextProject = () => `crosslink-t${++leases}`;
  const server: Server = createServer((req, res) => {
    if (req.method === 'POST' && req.url === '/project') {
      res
        .writeHead(200, { 'content-type': 'application/json' })
        .end(JSON.stringify({ project: nextProject() }));
      return;
    }
    if (req.method !== 'POST' || req.url !== '/lease') {
      res
        .writeHead(404, { 'content-type': 'text/plain' })
        .end(`no ${req.method} ${req.url} here: POST /lease or POST /project`);
      return;
    }
    started ??= startEmulators({ log: (m) => process.stderr.write(`shared emulators: ${m}\n`) });
    started.then(
      (e) => {
        const lease: EmulatorLease = {
          pubsubHost: e.pubsubHost as string,
          firestoreHost: e.firestoreHost as string,
          pids: e.pids,
          project: nextProject(),
        };
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(lease));
      },
      (err: Error) => {
        res.writeHead(503, { 'content-type': 'text/plain' }).end(`${err.name}: ${err.message}`);
      },
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  project.provide('emulatorLeases', `http://127.0.0.1:${(server.address() as AddressInfo).port}`);
  return async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await (await started?.catch(() => undefined))?.stop();
  };
}
