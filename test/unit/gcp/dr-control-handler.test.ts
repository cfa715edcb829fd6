/**
 * Google's `drControl` function (functions/gcp/handlers/dr-control.ts) through functions-framework,
 * its dependencies as functions/gcp/dr-control.ts builds them from the environment: the health path
 * answers without building anything; deployed in the region the plan's executor may not run in (the
 * ledger plan's primary, europe-west1) it takes no control and answers 400 naming the region, logged
 * at ERROR; with no plan deployed a control is 404 naming the service. Nothing reaches Firestore in
 * these cases (the route's contract test runs it on the emulator: test/contract/dr-control-gcp.test.ts).
 */
import type { AddressInfo } from 'node:net';
import { Firestore } from '@google-cloud/firestore';
import { http } from '@google-cloud/functions-framework';
import { getTestServer } from '@google-cloud/functions-framework/testing';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { ManualClock } from '#core/clock.ts';
import { buildGcpDrControlDeps } from '#gcp/dr-control.ts';
import { drControl } from '#gcp/handlers/dr-control.ts';
import { SIGNATURE_REMOVED } from '#gcp/intake.ts';
import type { GoogleDeps } from '#gcp/runtime.ts';
import { ledgerDoc } from '../../support/dr-ledger.ts';

const firestore = new Firestore({ projectId: 'crosslink-hub' });
let placement = { project: 'crosslink-hub', region: 'europe-west4' };
let env: NodeJS.ProcessEnv = {};
const built = vi.fn(() =>
  buildGcpDrControlDeps(env, placement, {
    firestore,
    bus: { put: async () => {} },
    clock: new ManualClock('2026-03-02T10:00:00Z'),
    executions: {
      create: async () => {
        throw new Error('no execution is started here');
      },
      list: async () => [],
      cancel: async (name: string) => ({ name, state: 'CANCELLED' }),
    },
  }),
);

let base: string;
let server: ReturnType<typeof getTestServer>;

beforeAll(async () => {
  http(
    'dr-control-under-test',
    drControl(async () => ({ drControl: built }) as unknown as GoogleDeps),
  );
  server = getTestServer('dr-control-under-test');
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise<void>((r) => server.close(() => r()));
  await firestore.terminate();
});

const token = () => {
  const part = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
  return `Bearer ${part({ alg: 'RS256' })}.${part({ email: 'carol@example.com' })}.${SIGNATURE_REMOVED}`;
};

/** POSTs a pause to `/dr/ledger/controls`; the answer and the function's log lines. */
async function pause() {
  const logged: string[] = [];
  const write = vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
    logged.push(String(chunk));
    return true;
  });
  try {
    const res = await fetch(`${base}/dr/ledger/controls`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: token() },
      body: JSON.stringify({ control: 'pause' }),
    });
    return {
      status: res.status,
      body: (await res.json()) as { error: { code: string; message: string; issues?: unknown[] } },
      lines: logged.filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>),
    };
  } finally {
    write.mockRestore();
  }
}

describe("Google's drControl function", () => {
  it('answers its health path without building its dependencies', async () => {
    const res = await fetch(base);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ function: 'drControl', status: 'serving' });
    expect(built).not.toHaveBeenCalled();
  });

  it("takes no control in the plan's primary region: 400 naming the region, logged at ERROR", async () => {
    // Arrange: the ledger plan, the function placed in europe-west1
    env = {
      CROSSLINK_DR_PLAN: JSON.stringify(ledgerDoc()),
      CROSSLINK_DR_FAILOVER_WORKFLOW: 'dr-failover',
    };
    placement = { project: 'crosslink-hub', region: 'europe-west1' };

    // Act
    const r = await pause();

    // Assess
    expect(r.status).toBe(400);
    expect(r.body.error.issues).toEqual([
      { path: 'region', reason: expect.stringMatching(/^europe-west1: ledger's executor runs on gcp/) },
    ]);
    expect(r.lines).toEqual([
      expect.objectContaining({
        severity: 'ERROR',
        function: 'drControl',
        message: expect.stringMatching(/^refused: /),
      }),
    ]);
  });

  it('answers 404 naming the service where no plan is deployed', async () => {
    // Arrange
    env = {};
    placement = { project: 'crosslink-hub', region: 'europe-west4' };

    // Act
    const r = await pause();

    // Assess
    expect(r.status).toBe(404);
    expect(r.body.error.message).toBe(
      'service: no DR plan is deployed here (CROSSLINK_DR_PLAN), so "ledger" has none',
    );
  });
});
