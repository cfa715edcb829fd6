/**
 * The approval waits' metrics on Google as structured log lines (Cloud Logging reads JSON on stdout):
 * every fallback poll of a pending approval writes `approvalPendingSeconds`, each escalation
 * `approvalEscalated: true`. A log-based metric `crosslink_approval_pending_seconds` (value extractor
 * `EXTRACT(jsonPayload.approvalPendingSeconds)`) feeds gcp.yml's `crosslink-approvals-waiting`
 * alert; no Monitoring write permission is needed.
 */
import type { ApprovalMetrics } from '#core/link/steps.ts';

export function approvalLogMetrics(
  write: (line: string) => void = (l) => process.stdout.write(l),
): ApprovalMetrics {
  const line = (entry: Record<string, unknown>) =>
    write(`${JSON.stringify({ severity: 'INFO', service: 'crosslink-gcp', ...entry })}\n`);
  return {
    pending(stage, ageMs) {
      line({
        message: 'approval pending',
        approvalStage: stage,
        approvalPendingSeconds: Math.floor(ageMs / 1000),
      });
    },
    escalated(stage) {
      line({ message: 'approval escalated', approvalStage: stage, approvalEscalated: true });
    },
  };
}
