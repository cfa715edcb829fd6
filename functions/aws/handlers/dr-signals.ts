/**
 * Lambda `drSignals` (functions/aws/dr-signals.ts): the schedule's probe run, Google's observations
 * and the replication link's state changes, each into this side's signal log; the observations
 * counted by side (EMF) for the staleness alarms.
 */
import type { EventBridgeEvent } from '#aws/envelope.ts';
import { metrics } from '../approval-metrics.ts';
import { countObserved, drSignalsDepsFromEnv, drSignalsStep } from '../dr-signals.ts';
import { logMetrics } from '../emf.ts';
import { eventBridgeInput } from '../input-parser.ts';
import { wrap } from './wrap.ts';

export const handler = wrap(
  'drSignals',
  async (event: EventBridgeEvent) => {
    const result = await drSignalsStep(drSignalsDepsFromEnv(), event);
    countObserved(metrics, result);
    return result;
  },
  { input: eventBridgeInput, use: [logMetrics(metrics)] },
);
