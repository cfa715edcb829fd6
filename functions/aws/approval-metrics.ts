/**
 * The approval waits' metrics as CloudWatch Embedded Metric Format (./emf.ts): the fallback
 * poll of every pending approval (of a link, or of its decommission) records how long it has been
 * waiting, and each escalation counts once. serverless.yml alarms on both (`ApprovalsWaitingAlarm`,
 * `ApprovalEscalationsAlarm`); the watcher counts orphaned halves every run (`OrphanedHalvesAlarm`). EMF is a log line, so no `cloudwatch:PutMetricData` permission is needed.
 */

import type { ApprovalMetrics } from '#core/link/stage.ts';
import { EmfMetrics } from './emf.ts';

export const NAMESPACE = 'crosslink';
export const SERVICE = 'crosslink-aws';

/** One instance per process; the `logMetrics` middleware flushes it after each invocation. */
export const metrics = new EmfMetrics({ namespace: NAMESPACE, serviceName: SERVICE });

export function approvalMetrics(m: EmfMetrics = metrics): ApprovalMetrics {
  return {
    pending(stage, ageMs) {
      m.addMetadata('approvalStage', stage);
      m.addMetric('ApprovalPendingSeconds', 'Seconds', Math.floor(ageMs / 1000));
    },
    escalated(stage) {
      m.addMetadata('approvalStage', stage);
      m.addMetric('ApprovalEscalations', 'Count', 1);
    },
    orphaned(count) {
      m.addMetric('OrphanedHalves', 'Count', count);
    },
  };
}
