/** Lambda `stepDecommissionDeadline`: the fallback poll of a decommission approval wait (publishes the approval metrics) (functions/core/link/decommission.ts `decommissionDeadline`). */
import { decommissionDeadline } from '#core/link/decommission.ts';
import { metrics as emf } from '../approval-metrics.ts';
import { logMetrics } from '../emf.ts';
import { events } from '../ports/events.ts';
import { metrics } from '../ports/metrics.ts';
import { store } from '../ports/store.ts';
import { step } from './step.ts';

export const handler = step(
  'decommissionDeadline',
  decommissionDeadline,
  { store, events, metrics },
  { use: [logMetrics(emf)] },
);
