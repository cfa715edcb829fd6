/**
 * The Google intake's start of a decommission while the starter function holds the same start
 * (claimed the record, execution not created yet): the intake must count it as running, not raise
 * the attempt and start a second run (which drained and deleted the transport twice end to end).
 */
import { describe, expect, it } from 'vitest';
import { type IntakeDeps, startDecommission } from '#core/link/intake.ts';
import { StartInProgressError } from '#gcp/execution-starter.ts';
import { intakeView } from '#gcp/intake.ts';
import { approvedLink, LINK, stepHarness, TO_ACTIVE } from '../../support/step-harness.ts';

function intakeDeps(held: boolean) {
  const h = stepHarness();
  const starts: number[] = [];
  const deps: IntakeDeps = {
    ...h.deps,
    stages: {
      start: async (_stage, _input, attempt) => {
        starts.push(attempt);
        if (held && attempt === 1) throw new StartInProgressError('being started by another starter');
        return { executionName: `${LINK}-decommissioning-${attempt}`, started: true };
      },
      // The Executions API lists nothing yet for the held start.
      running: async () => false,
    },
  };
  return { h, deps, starts };
}

describe('intakeView', () => {
  it('counts a start another starter holds as running: no second attempt', async () => {
    const { h, deps, starts } = intakeDeps(true);
    await h.store.create(
      approvedLink([...TO_ACTIVE, { kind: 'requestDecommission', by: 'alice@example.com' }], 'gcp'),
    );
    const out = await startDecommission(intakeView(deps), LINK);
    expect(out).toEqual({ executionName: `${LINK}-decommissioning-1`, started: false, running: true });
    expect(starts).toEqual([1]);
    expect((await h.store.get(LINK))?.link.decommission?.attempt ?? 1).toBe(1);
  });

  it('passes other starts and errors through', async () => {
    const { h, deps } = intakeDeps(false);
    await h.store.create(
      approvedLink([...TO_ACTIVE, { kind: 'requestDecommission', by: 'alice@example.com' }], 'gcp'),
    );
    expect(await startDecommission(intakeView(deps), LINK)).toMatchObject({ started: true, running: true });
    const boom: IntakeDeps['stages']['start'] = async () => {
      throw new Error('boom');
    };
    const failing = intakeView({ ...deps, stages: { ...deps.stages, start: boom } });
    await expect(failing.stages.start('decommissioning', { linkId: LINK }, 1)).rejects.toThrow('boom');
  });
});
