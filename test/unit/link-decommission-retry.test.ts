/**
 * A decommission whose run ended without finishing can be asked for again: execution names are
 * reserved, so the intake raises the attempt past a run that exists and is not RUNNING, starts the
 * next, and answers 409 when there is nothing to run.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { type HttpApiEvent, type IntakeDeps, intake } from '#aws/intake.ts';
import type { LinkInput } from '#core/link/transition.ts';
import { approvedLink, BOB, type Harness, LINK, stepHarness, TO_ACTIVE } from '../support/step-harness.ts';

const ALICE = 'arn:aws:iam::000000000000:user/alice';
let h: Harness;
let deps: IntakeDeps;
/** Executions by name with their status, as Step Functions keeps them. */
let runs: Map<string, 'RUNNING' | 'SUCCEEDED' | 'FAILED'>;

beforeEach(() => {
  h = stepHarness();
  runs = new Map();
  deps = {
    ...h.deps,
    stateMachines: { provisioning: 'arn:prov', decommissioning: 'arn:decom' },
    executions: {
      start: async (_arn: string, name: string) => {
        if (runs.has(name)) return false;
        runs.set(name, 'RUNNING');
        return true;
      },
      running: async (_arn: string, name: string) => runs.get(name) === 'RUNNING',
    },
  } as unknown as IntakeDeps;
});

const decommissioning: LinkInput[] = [
  ...TO_ACTIVE,
  { kind: 'proposeDecommission', by: ALICE, via: 'aws', identity: 'person:alice' },
  { kind: 'decideDecommission', side: 'aws', by: BOB, decision: 'approve' },
];

async function ask() {
  const event: HttpApiEvent = {
    routeKey: 'POST /links/{id}/decommission',
    pathParameters: { id: LINK },
    requestContext: { requestId: 'r', authorizer: { iam: { userArn: ALICE } } },
  };
  const a = await intake(deps, event);
  return { status: a.statusCode, body: JSON.parse(a.body) };
}

describe('asking again after a decommissioning run ended', () => {
  it('raises the attempt past a FAILED run and starts the next', async () => {
    // Prepare: attempt 1 ran and failed (a delete that kept failing); the link is DECOMMISSIONING
    await h.store.create(approvedLink(decommissioning));
    runs.set(`${LINK}-decommissioning-1`, 'FAILED');
    // Act
    const out = await ask();
    // Assess
    expect(out.status).toBe(202);
    expect(out.body.execution).toBe(`${LINK}-decommissioning-2`);
    expect(runs.get(`${LINK}-decommissioning-2`)).toBe('RUNNING');
    expect((await h.store.get(LINK))?.link.decommission?.attempt).toBe(2);
  });

  it('starts nothing new while the attempt still runs', async () => {
    await h.store.create(approvedLink(decommissioning));
    runs.set(`${LINK}-decommissioning-1`, 'RUNNING');
    const out = await ask();
    expect(out.status).toBe(202);
    expect(out.body.execution).toBe(`${LINK}-decommissioning-1`);
    expect(runs.size).toBe(1);
    expect((await h.store.get(LINK))?.link.decommission?.attempt).toBe(1);
  });

  it('runs a new request after a rejected one (its run ended in NotApproved under attempt 1)', async () => {
    await h.store.create(
      approvedLink([
        ...TO_ACTIVE,
        { kind: 'proposeDecommission', by: ALICE, via: 'aws', identity: 'person:alice' },
        { kind: 'decideDecommission', side: 'aws', by: BOB, decision: 'reject', reason: 'still used' },
      ]),
    );
    runs.set(`${LINK}-decommissioning-1`, 'SUCCEEDED');
    const out = await ask();
    expect(out.status).toBe(202);
    expect(out.body.execution).toBe(`${LINK}-decommissioning-2`);
    expect(out.body.link.state).toBe('ACTIVE');
  });

  it('answers 409 when there is nothing to run: the link is already DECOMMISSIONED', async () => {
    await h.store.create(
      approvedLink([
        ...decommissioning,
        { kind: 'halfObserved', side: 'aws', sequence: 2, nativeState: null },
        { kind: 'halfObserved', side: 'gcp', sequence: 2, nativeState: null },
      ]),
    );
    expect((await h.store.get(LINK))?.link.state).toBe('DECOMMISSIONED');
    runs.set(`${LINK}-decommissioning-1`, 'SUCCEEDED');
    const out = await ask();
    expect(out.status).toBe(409);
    expect(out.body.error.message).toContain('nothing to run');
    expect(runs.size).toBe(1);
  });
});
