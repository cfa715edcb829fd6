/**
 * The approval deadlines' metrics in CloudWatch Embedded Metric Format: what serverless.yml's
 * ApprovalsWaitingAlarm and ApprovalEscalationsAlarm read (namespace, service dimension, names).
 */
import { describe, expect, it } from 'vitest';
import { approvalMetrics, NAMESPACE, SERVICE } from '#aws/approval-metrics.ts';
import { EmfMetrics } from '#aws/emf.ts';

describe('approval metrics (EMF)', () => {
  it('records the pending age in seconds and counts escalations, under the crosslink namespace', () => {
    const m = new EmfMetrics({ namespace: NAMESPACE, serviceName: SERVICE });
    const metrics = approvalMetrics(m);
    metrics.pending('decommissioning', 49 * 3_600_000 + 999);
    metrics.escalated('decommissioning');
    const emf = m.serializeMetrics() as unknown as Record<string, unknown> & {
      _aws: {
        CloudWatchMetrics: {
          Namespace: string;
          Dimensions: string[][];
          Metrics: { Name: string; Unit: string }[];
        }[];
      };
    };
    const [directive] = emf._aws.CloudWatchMetrics;
    expect(directive?.Namespace).toBe('crosslink');
    expect(directive?.Dimensions).toEqual([['service']]);
    expect(directive?.Metrics).toEqual(
      expect.arrayContaining([
        { Name: 'ApprovalPendingSeconds', Unit: 'Seconds' },
        { Name: 'ApprovalEscalations', Unit: 'Count' },
      ]),
    );
    expect(emf.service).toBe('crosslink-aws');
    expect(emf.ApprovalPendingSeconds).toBe(49 * 3600);
    expect(emf.ApprovalEscalations).toBe(1);
    expect(emf.approvalStage).toBe('decommissioning');
  });

  it("publishes the watcher's count of orphaned halves as OrphanedHalves (Count)", () => {
    const m = new EmfMetrics({ namespace: NAMESPACE, serviceName: SERVICE });
    approvalMetrics(m).orphaned?.(2);
    const emf = m.serializeMetrics() as unknown as Record<string, unknown> & {
      _aws: { CloudWatchMetrics: { Metrics: { Name: string; Unit: string }[] }[] };
    };
    expect(emf._aws.CloudWatchMetrics[0]?.Metrics).toEqual([{ Name: 'OrphanedHalves', Unit: 'Count' }]);
    expect(emf.OrphanedHalves).toBe(2);
  });
});
