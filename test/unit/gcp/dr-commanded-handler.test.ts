/**
 * Google's `drCommanded` function (functions/gcp/handlers/dr-commanded.ts) as Pub/Sub pushes it,
 * through functions-framework, its dependencies as functions/gcp/dr-commanded.ts builds them from the
 * environment where it matters: an event other than DrActionStarted is acknowledged without building
 * anything; with no plan deployed a command is acknowledged and ignored, said so; a command whose
 * hook is still running is answered 500 (Pub/Sub delivers it again); an event naming another action
 * than the plan's is dropped (204), its reason logged. The fence is the test's (its Firestore adapter
 * has its contract test: test/contract/dr-fence-firestore.test.ts).
 */
import type { AddressInfo } from 'node:net';
import { Firestore } from '@google-cloud/firestore';
import { http } from '@google-cloud/functions-framework';
import { getTestServer } from '@google-cloud/functions-framework/testing';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { ManualClock } from '#core/clock.ts';
import { initialFence } from '#core/dr/fence.ts';
import type { CloudEvent } from '#core/envelope.ts';
import { buildGcpDrCommandedDeps, type CommandedDeps } from '#gcp/dr-commanded.ts';
import type { FirestoreDrFence } from '#gcp/dr-fence.ts';
import { drCommanded } from '#gcp/handlers/dr-commanded.ts';
import type { GoogleDeps } from '#gcp/runtime.ts';
import { pushOf, sample } from '../../support/pushed-samples.ts';
import { exampleDoc } from '../dr/helpers.ts';

const push = (ce: CloudEvent) => pushOf(ce, 'crosslink-dr-commanded-push');

const placement = { project: 'crosslink-hub', region: 'us-west1' };
const firestore = new Firestore({ projectId: placement.project });
const clients = {
  firestore,
  bus: { put: async () => {} },
  clock: new ManualClock('2026-03-08T09:15:02Z'),
  idToken: async () => 'token',
};
/** The deployed plan (CROSSLINK_DR_PLAN), and the fence a test gives it (the running command's). */
let env: NodeJS.ProcessEnv = {};
let fence: Partial<FirestoreDrFence> | undefined;
const built = vi.fn((): CommandedDeps => {
  const deps = buildGcpDrCommandedDeps(env, placement, clients);
  return fence ? { ...deps, fence: fence as FirestoreDrFence } : deps;
});

let base: string;
let server: ReturnType<typeof getTestServer>;
let logged: string[];

beforeAll(async () => {
  http(
    'dr-commanded-under-test',
    drCommanded(async () => ({ drCommanded: built }) as unknown as GoogleDeps),
  );
  server = getTestServer('dr-commanded-under-test');
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise<void>((r) => server.close(() => r()));
  await firestore.terminate();
});

/** Pushes `ce`; the answer's status and the function's log lines of it. */
async function post(ce: CloudEvent): Promise<{ status: number; lines: Record<string, unknown>[] }> {
  logged = [];
  const write = vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
    logged.push(String(chunk));
    return true;
  });
  const errors = vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => {
    logged.push(String(chunk));
    return true;
  });
  try {
    const res = await fetch(base, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(push(ce)),
    });
    return {
      status: res.status,
      lines: logged.filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>),
    };
  } finally {
    write.mockRestore();
    errors.mockRestore();
  }
}

describe("Google's commanded side as pushed", () => {
  it('acknowledges an event other than DrActionStarted without building its dependencies', async () => {
    // Act
    const r = await post(sample('DrSignalObserved'));
    // Assess
    expect(r.status).toBe(204);
    expect(built).not.toHaveBeenCalled();
    expect(r.lines.at(-1)).toMatchObject({ function: 'drCommanded', result: { outcome: 'ignored' } });
  });

  it('acknowledges and ignores a command when no plan is deployed, saying so', async () => {
    // Arrange
    env = {};
    // Act
    const r = await post(sample('DrActionStarted'));
    // Assess
    expect(r.status).toBe(204);
    expect(r.lines.at(-1)).toMatchObject({
      result: { outcome: 'ignored', reason: 'no DR plan deployed (CROSSLINK_DR_PLAN)' },
    });
  });

  it('answers 500 to a command whose hook is still running, so that Pub/Sub delivers it again', async () => {
    // Arrange
    env = { CROSSLINK_DR_PLAN: JSON.stringify(exampleDoc()) };
    fence = { admit: async () => ({ verdict: 'in-progress', state: initialFence('payments-api') }) };
    // Act
    const r = await post(sample('DrActionStarted'));
    // Assess
    expect(r.status).toBe(500);
    expect(r.lines.at(-1)).toMatchObject({
      severity: 'ERROR',
      error: {
        name: 'UnavailableError',
        message: 'payments-api epoch 3 action 1 is running: its result is sent when it ends',
      },
    });
  });

  it("drops a command naming another action than the plan's, the field and reason logged", async () => {
    // Arrange
    env = { CROSSLINK_DR_PLAN: JSON.stringify(exampleDoc()) };
    fence = undefined;
    const ce = sample('DrActionStarted');
    const other = {
      ...ce,
      data: { ...(ce.data as object), action: { type: 'scale-standby', cloud: 'gcp' } },
    };
    // Act
    const r = await post(other);
    // Assess
    expect(r.status).toBe(204);
    expect(String(r.lines.at(-1)?.message)).toMatch(
      /^dropped: .*data\.action: scale-standby on gcp is not the plan's action 1 of its failover \(promote-replica on gcp\)/,
    );
  });
});
