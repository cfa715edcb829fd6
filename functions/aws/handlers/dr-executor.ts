/**
 * Lambda `drExecutor` (functions/aws/dr-executor.ts): the `crosslink-dr-failover-<stage>` state
 * machine's decision and ticks, and a commanded side's `DrActionFinished` from the bus (Google's,
 * relayed, or AWS's own `drCommanded`'s), each advancing the DR
 * executor's stored run and performing what follows; each page counted as EMF `DrExecutorPages`
 * (the pages alarm's metric) and logged.
 */
import type { EventBridgeEvent } from '#aws/envelope.ts';
import { metrics } from '../approval-metrics.ts';
import { drExecutorDepsFromEnv, drExecutorStep } from '../dr-executor.ts';
import { logMetrics } from '../emf.ts';
import { eventBridgeOr } from '../input-parser.ts';
import { object } from '../validators.gen.ts';
import { logger, wrap } from './wrap.ts';

export const handler = wrap(
  'drExecutor',
  (event: EventBridgeEvent | Record<string, unknown>) => {
    const deps = drExecutorDepsFromEnv(process.env, (page) => {
      logger.error('DR executor page', { reason: page.reason, page: page.message });
      metrics.addMetric('DrExecutorPages', 'Count', 1);
    });
    return drExecutorStep(deps, event);
  },
  { input: eventBridgeOr(object), use: [logMetrics(metrics)] },
);
