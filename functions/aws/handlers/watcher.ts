/**
 * Lambda `watcher` (functions/aws/watcher.ts): scheduled or CloudTrail-triggered, whatever the event
 * it polls (only an object is required); billing with nobody watching is logged and counted.
 */
import { metrics as emf } from '../approval-metrics.ts';
import { logMetrics } from '../emf.ts';
import { eventBridgeOr } from '../input-parser.ts';
import { bgp } from '../ports/bgp.ts';
import { events } from '../ports/events.ts';
import { halves } from '../ports/halves.ts';
import { metrics } from '../ports/metrics.ts';
import { tokens } from '../ports/step-functions.ts';
import { store } from '../ports/store.ts';
import { wiredDeps } from '../runtime.ts';
import { object } from '../validators.gen.ts';
import { watch } from '../watcher.ts';
import { logger, wrap } from './wrap.ts';

const deps = wiredDeps({ store, events, halves, bgp, tokens, metrics });

export const handler = wrap(
  'watcher',
  async () => {
    const report = await watch(deps);
    // Billing with nobody watching: the OrphanedHalves metric alarms; the line says which.
    if (report.orphans.length || report.failedWithHalf.length)
      logger.warn('orphaned halves', { unknown: report.orphans, failedWithHalf: report.failedWithHalf });
    return report;
  },
  {
    input: eventBridgeOr(object),
    use: [logMetrics(emf)],
  },
);
