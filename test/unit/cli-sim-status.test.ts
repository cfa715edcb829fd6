/** `crosslink sim status`: each service's view in a few readable words, never a JSON blob. */
import { describe, expect, it } from 'vitest';
import { detailOf } from '#scripts/commands/sim.ts';

describe('sim status details', () => {
  it.each([
    [
      'counts and states of lists of records',
      {
        stateMachines: ['crosslink-link-provisioning', 'crosslink-link-decommissioning'],
        executions: [
          { name: 'a', status: 'FAILED' },
          { name: 'b', status: 'RUNNING' },
          { name: 'c', status: 'RUNNING' },
        ],
      },
      'stateMachines: 2 (crosslink-link-provisioning, crosslink-link-decommissioning); executions: 3 (FAILED 1, RUNNING 2)',
    ],
    [
      'a map of like records, added up (SQS queues)',
      { q1: { visible: 2, inFlight: 0 }, q2: { visible: 1, inFlight: 4 } },
      '2 (visible 3, inFlight 4)',
    ],
    [
      'named records, the first three',
      { buses: [{ name: 'a' }, { name: 'b' }, { name: 'c' }, { name: 'd' }] },
      'buses: 4 (a, b, c +1 more)',
    ],
    [
      'scalars and empty ones',
      { dynalite: 'running', invocations: 27, aliases: {}, keys: [] },
      'dynalite: running; invocations: 27; aliases: none; keys: none',
    ],
  ])('%s', (_what, view, expected) => {
    // Act
    const detail = detailOf(view);
    // Assess
    expect(detail).toBe(expected);
    expect(detail).not.toMatch(/[{}"]/);
  });
});
