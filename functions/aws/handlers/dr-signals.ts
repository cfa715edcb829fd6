/**
 * Lambda `drSignals` (functions/aws/dr-signals.ts): the schedule's probe run, Google's observations
 * and the replication link's state changes, each into this side's signal log; the observations
 * counted by side (EMF) for the staleness alarms.
 */
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import type { EventBridgeEvent } from '#aws/envelope.ts';
import { metrics } from '../approval-metrics.ts';
import { countObserved, drSignalsDepsFromEnv, drSignalsStep } from '../dr-signals.ts';
import { wrap } from './wrap.ts';

export const handler = wrap(
  'drSignals',
  async (event: EventBridgeEvent) => {
    const result = await drSignalsStep(drSignalsDepsFromEnv(), event);
    countObserved(metrics, result);
    return result;
  },
  { input: { kind: 'eventbridge' }, use: [logMetrics(metrics)] },
);
