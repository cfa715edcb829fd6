/**
 * The Google half's metric log lines against the log-based metrics the root gcp.yml declares: each
 * line, as Cloud Run turns a JSON stdout line into a LogEntry (`severity` lifted out, the rest in
 * `jsonPayload`, resource `cloud_run_revision`), matches its metric's filter and no other, and the
 * value and label extractors find their fields. The filters are evaluated by the local cloud's
 * Logging query language (local/gcp/log-filter.ts).
 */
import { describe, expect, it } from 'vitest';
import { loadGcpConfig } from '#deployment/gcp-config.ts';
import { approvalLogMetrics, logOrphans } from '#gcp/approval-metrics.ts';
import { matchesLogFilter, parseLogFilter } from '#local/gcp/log-filter.ts';

const config = loadGcpConfig('gcp.yml');

/** A stdout JSON line as the LogEntry Cloud Logging stores for a Cloud Run function. */
function entryOf(line: string) {
  const { severity, ...jsonPayload } = JSON.parse(line) as Record<string, unknown>;
  return {
    severity,
    jsonPayload,
    resource: { type: 'cloud_run_revision', labels: { service_name: 'steps' } },
  };
}

/** The log metrics whose filter matches an entry. */
function metricsMatching(entry: unknown): string[] {
  return config.logMetrics
    .filter((m) => matchesLogFilter(parseLogFilter(m.filter), entry))
    .map((m) => m.name);
}

/** `EXTRACT(jsonPayload.a.b)` applied to an entry. */
function extract(extractor: string | undefined, entry: unknown): unknown {
  const path = /^EXTRACT\((.+)\)$/.exec(extractor ?? '')?.[1];
  if (!path) throw new Error(`not an EXTRACT: ${extractor}`);
  return path.split('.').reduce<unknown>((v, k) => (v as Record<string, unknown> | undefined)?.[k], entry);
}

describe('metric log lines feed the log-based metrics of gcp.yml', () => {
  it('an approval pending feeds crosslink_approval_pending_seconds with its age and stage', () => {
    const lines: string[] = [];
    approvalLogMetrics((l) => lines.push(l)).pending('decommissioning', 49 * 3_600_000 + 999);
    const entry = entryOf(lines[0] as string);
    expect(metricsMatching(entry)).toEqual(['crosslink_approval_pending_seconds']);
    const metric = config.logMetrics.find((m) => m.name === 'crosslink_approval_pending_seconds');
    expect(extract(metric?.valueExtractor, entry)).toBe(49 * 3600);
    expect(extract(metric?.labelExtractors?.stage, entry)).toBe('decommissioning');
    // The alert's threshold is a bucket bound, so a percentile above it means an age above 48 h.
    expect(metric?.bucketOptions?.explicitBuckets?.bounds).toContain(
      config.alertPolicies.find((a) => a.name === 'crosslink-approvals-waiting')?.threshold,
    );
  });

  it('an escalation feeds crosslink_approval_escalations', () => {
    const lines: string[] = [];
    approvalLogMetrics((l) => lines.push(l)).escalated('provisioning');
    const entry = entryOf(lines[0] as string);
    expect(metricsMatching(entry)).toEqual(['crosslink_approval_escalations']);
    const metric = config.logMetrics.find((m) => m.name === 'crosslink_approval_escalations');
    expect(extract(metric?.labelExtractors?.stage, entry)).toBe('provisioning');
  });

  it('each orphaned transport is one entry of crosslink_orphaned_halves, labelled by kind', () => {
    const lines: string[] = [];
    logOrphans(
      {
        orphans: ['projects/p/locations/us-east4/transports/by-hand'],
        failedWithHalf: ['lk-01kabc projects/p/locations/us-east4/transports/lk-01kabc'],
      },
      (l) => lines.push(l),
    );
    expect(lines).toHaveLength(2);
    const entries = lines.map(entryOf);
    const metric = config.logMetrics.find((m) => m.name === 'crosslink_orphaned_halves');
    for (const e of entries) expect(metricsMatching(e)).toEqual(['crosslink_orphaned_halves']);
    expect(entries.map((e) => extract(metric?.labelExtractors?.kind, e))).toEqual(['unknown', 'failed']);
    expect(entries.map((e) => e.severity)).toEqual(['WARNING', 'WARNING']);
    expect(entries[0]?.jsonPayload).toMatchObject({
      transport: 'projects/p/locations/us-east4/transports/by-hand',
    });
    expect(entries[1]?.jsonPayload).toMatchObject({
      linkId: 'lk-01kabc',
      transport: 'projects/p/locations/us-east4/transports/lk-01kabc',
    });
    logOrphans({ orphans: [], failedWithHalf: [] }, (l) => lines.push(l));
    expect(lines).toHaveLength(2);
  });

  it('every alert on a log-based metric names one gcp.yml declares', () => {
    const alerts = config.alertPolicies.filter((a) => a.filter.includes('logging.googleapis.com/user/'));
    expect(alerts.map((a) => a.name).sort()).toEqual([
      'crosslink-approval-escalations',
      'crosslink-approvals-waiting',
      'crosslink-dr-probe-silent',
      'crosslink-orphaned-halves',
    ]);
  });
});
