/**
 * The automation's metrics on Google as structured log lines (Cloud Logging reads JSON on stdout):
 * every fallback poll of a pending approval writes `approval pending` with `approvalPendingSeconds`,
 * each escalation `approval escalated`, and every watcher poll one `orphaned half` per transport
 * billing with nobody watching. gcp.yml's log-based metrics (`crosslink_approval_pending_seconds`,
 * a distribution of `EXTRACT(jsonPayload.approvalPendingSeconds)`; `crosslink_approval_escalations`;
 * `crosslink_orphaned_halves`) select these lines by `message` and feed its alert policies; no
 * Monitoring write permission is needed. The AWS half publishes the same as EMF.
 */
import type { ApprovalMetrics } from '#core/link/stage.ts';

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

/** What a watcher poll found billing with nobody watching (GoogleWatchReport's fields). */
export interface OrphanReport {
  /** Transports no link record owns. */
  orphans: string[];
  /** `linkId transportName` of FAILED links whose transport is still there. */
  failedWithHalf: string[];
}

/**
 * One WARNING entry per orphaned transport (the log metric counts entries, labelled by `orphanKind`):
 * `unknown` (no link record) or `failed` (its link FAILED and compensation gave up).
 */
export function logOrphans(
  report: OrphanReport,
  write: (line: string) => void = (l) => process.stdout.write(l),
): void {
  const line = (entry: Record<string, unknown>) =>
    write(
      `${JSON.stringify({ severity: 'WARNING', service: 'crosslink-gcp', message: 'orphaned half', ...entry })}\n`,
    );
  for (const transport of report.orphans) line({ orphanKind: 'unknown', transport });
  for (const entry of report.failedWithHalf) {
    const [linkId, transport] = entry.split(' ');
    line({ orphanKind: 'failed', linkId, transport });
  }
}
