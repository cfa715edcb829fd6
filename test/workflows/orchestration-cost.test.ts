/**
 * What one provisioning costs each orchestrator (Step Functions transitions, Workflows steps), at
 * provider delays of 5, 30 and 120 minutes with the watcher on its 5-minute schedule: at most 40, plus 3 per hour
 * of delay (docs/aws-half.md, docs/gcp-half.md). Counts, not times: the same answers give the same
 * counts on any machine. `npm run bench -- aws-half gcp-half` prints the same figures.
 */

import { describe, expect, it } from 'vitest';
import { WATCHER_EVERY_MS } from '#core/link/watch.ts';
import {
  awsProvisioningTransitions,
  costGoal,
  gcpProvisioningSteps,
  PROVIDER_DELAYS,
} from '../support/orchestration-cost.ts';

describe('orchestration cost of one provisioning', () => {
  for (const delay of PROVIDER_DELAYS) {
    it(`Google: Workflows steps within the goal at a ${delay}-minute provider delay, below 30 s polling`, async () => {
      const { crosslink, baseline } = await gcpProvisioningSteps(delay, WATCHER_EVERY_MS / 60_000);
      expect(crosslink.total).toBeLessThanOrEqual(costGoal(delay));
      // The count is the workflow's own: it ran to ACTIVE (the baseline polled the whole delay).
      expect(crosslink.total).toBeGreaterThan(0);
      expect(baseline.total).toBeGreaterThanOrEqual(delay * 2 * 3);
    });

    it(`AWS: state transitions within the goal at a ${delay}-minute provider delay`, async () => {
      const transitions = await awsProvisioningTransitions(delay, WATCHER_EVERY_MS / 60_000);
      expect(transitions).toBeLessThanOrEqual(costGoal(delay));
      expect(transitions).toBeGreaterThan(0);
    });
  }

  it('the goal: 40, plus 3 per hour of provider delay', () => {
    expect(PROVIDER_DELAYS.map(costGoal)).toEqual([40, 41, 46]);
  });
});
