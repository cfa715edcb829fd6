/**
 * A compensation that gave up leaves a FAILED link with its connection: the watcher keeps that
 * connection in view and reports it (OrphanedHalves) until it is gone, and the link may be
 * decommissioned to take it down.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { type HttpApiEvent, type IntakeDeps, intake } from '#aws/intake.ts';
import type { StepDeps as AwsStepDeps } from '#aws/steps.ts';
import { watch } from '#aws/watcher.ts';
import type { LinkInput } from '#core/link/transition.ts';
import { approvedLink, CONNECTION, type Harness, LINK, stepHarness } from '../support/step-harness.ts';

const ALICE = 'arn:aws:iam::000000000000:user/alice';
/** PROVISIONING with the connection created, then FAILED (compensation could not delete it). */
const FAILED_WITH_HALF: LinkInput[] = [
  { kind: 'startProvisioning' },
  { kind: 'halfObserved', side: 'aws', sequence: 1, nativeState: 'requested', resourceId: CONNECTION },
  { kind: 'fail', reason: 'HalfFailedError: could not delete' },
];

let h: Harness;
let orphaned: number[];
beforeEach(async () => {
  h = stepHarness();
  orphaned = [];
  h.deps.metrics = { pending: () => {}, escalated: () => {}, orphaned: (n) => void orphaned.push(n) };
  await h.store.create(approvedLink(FAILED_WITH_HALF));
  h.halves.set('requested');
});

describe('a FAILED link whose connection is still there', () => {
  it('is watched and reported as an orphan (metric and report) until its connection is gone', async () => {
    const deps = h.deps as unknown as AwsStepDeps;
    // The connection came up meanwhile: the watcher records it, though the link is FAILED.
    h.halves.set('available');
    const first = await watch(deps);
    expect(first.failedWithHalf).toEqual([`${LINK} ${CONNECTION}`]);
    expect(first.changed).toEqual([LINK]);
    expect((await h.store.get(LINK))?.link.halves.aws.nativeState).toBe('available');
    expect(orphaned).toEqual([1]);
    // Deleted by hand: the next run records it gone and stops reporting it.
    h.halves.halves.delete(CONNECTION);
    const second = await watch(deps);
    expect(second.failedWithHalf).toEqual([]);
    expect(orphaned).toEqual([1, 0]);
    const third = await watch(deps);
    expect(third).toMatchObject({ changed: [], failedWithHalf: [] });
  });

  it('may be decommissioned: the intake takes the request and starts the run', async () => {
    const started: string[] = [];
    const deps = {
      ...h.deps,
      stateMachines: { provisioning: 'arn:prov', decommissioning: 'arn:decom' },
      executions: {
        start: async (_arn: string, name: string) => {
          started.push(name);
          return true;
        },
        running: async () => true,
      },
    } as unknown as IntakeDeps;
    const event: HttpApiEvent = {
      routeKey: 'POST /links/{id}/decommission',
      pathParameters: { id: LINK },
      requestContext: { authorizer: { iam: { userArn: ALICE } } },
    };
    const answer = await intake(deps, event);
    expect(answer.statusCode).toBe(202);
    expect(started).toEqual([`${LINK}-decommissioning-1`]);
    expect((await h.store.get(LINK))?.link.decommission?.status).toBe('PENDING');
  });

  it('a FAILED link with no half left still cannot be decommissioned', async () => {
    const r = await h.store.get(LINK);
    if (!r) throw new Error('no link');
    const aws = { ...r.link.halves.aws, nativeState: null, condition: 'GONE' as const };
    await h.store.update({ ...r.link, halves: { ...r.link.halves, aws } }, r.version);
    const answer = await intake({ ...h.deps } as unknown as IntakeDeps, {
      routeKey: 'POST /links/{id}/decommission',
      pathParameters: { id: LINK },
      requestContext: { authorizer: { iam: { userArn: ALICE } } },
    });
    expect(answer.statusCode).toBe(409);
  });
});
