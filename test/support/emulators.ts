/**
 * The run's shared emulators, seen from a test file: `leaseEmulators()` asks the global setup
 * (test/support/emulators-setup.ts) for them, starting them on the run's first lease, and returns
 * their hosts with a Google project id that no other lease of the run holds. A test keeps
 * everything it puts in the emulators in that project, so files running at once stay apart.
 *
 * The handle's `stop()` refuses: the run's emulators outlive every test file and the global setup
 * stops them. A test about starting and stopping emulators starts its own (`startEmulators`).
 */
import { inject } from 'vitest';
import type { Emulators } from '#local/gcp/emulators.ts';
import type { EmulatorLease } from './emulators-setup.ts';

export interface LeasedEmulators {
  emulators: Emulators;
  /** The project id of this lease: topics, subscriptions and documents of the test go here. */
  project: string;
}

export async function leaseEmulators(): Promise<LeasedEmulators> {
  const lease = (await askSetup('/lease')) as EmulatorLease;
  return {
    project: lease.project,
    emulators: {
      pubsubHost: lease.pubsubHost,
      firestoreHost: lease.firestoreHost,
      pids: lease.pids,
      stop: () =>
        Promise.reject(
          new Error("the run's shared emulators are stopped by the global setup, not by a test"),
        ),
    },
  };
}

/** A project id no other lease of the run holds, without the emulators (a test that has its own). */
export async function leaseProject(): Promise<string> {
  return ((await askSetup('/project')) as { project: string }).project;
}

async function askSetup(path: string): Promise<unknown> {
  const url = inject('emulatorLeases');
  if (!url)
    throw new Error(
      'no emulator leases: vitest.config.ts must name test/support/emulators-setup.ts in globalSetup',
    );
  const res = await fetch(`${url}${path}`, { method: 'POST' });
  const text = await res.text();
  if (!res.ok) throw new Error(`the global setup refused POST ${path}: ${text}`);
  return JSON.parse(text);
}
