/** Lambda `stepApprovalDeadline`: the fallback poll of a provisioning approval wait (publishes the approval metrics) (functions/core/link/approve.ts `approvalDeadline`). */
import { approvalDeadline } from '#core/link/approve.ts';
import { metrics as emf } from '../approval-metrics.ts';
import { logMetrics } from '../emf.ts';
import { events } from '../ports/events.ts';
import { metrics } from '../ports/metrics.ts';
import { store } from '../ports/store.ts';
import { step } from './step.ts';

export const handler = step(
  'approvalDeadline',
  approvalDeadline,
  { store, events, metrics },
  { use: [logMetrics(emf)] },
);
