/**
 * The Cloud Monitoring phase of a converge: alert policies, whose ids the server assigns, so each
 * is matched by its `crosslink-name` user label and compared on the fields this script sets.
 */
import type { AlertPolicySpec } from '#deployment/gcp-config.ts';
import { type Converge, type Labels, listed, MANAGED_LABEL, same, seconds } from './converge-context.ts';

/** The gcloud command group of alert policies. */
export const ALERTS = ['alpha', 'monitoring', 'policies'];

interface AlertJson {
  name: string;
  displayName?: string;
  combiner?: string;
  enabled?: boolean;
  userLabels?: Labels;
  notificationChannels?: string[];
  conditions?: {
    displayName?: string;
    conditionThreshold?: Record<string, unknown>;
    conditionAbsent?: Record<string, unknown>;
  }[];
}

/** Creates each gcp.yml alert policy that is missing and updates each that differs. */
export async function convergeAlertPolicies(c: Converge): Promise<void> {
  const { config, readJson, exec, mut } = c;
  if (config.alertPolicies.length === 0) return;
  const alerts = ALERTS;
  const policies = await readJson<AlertJson[]>([...alerts, 'list']);
  const byName = new Map(listed(policies).map((p) => [p.userLabels?.['crosslink-name'], p]));
  const cmds: string[][] = [];
  for (const a of config.alertPolicies) {
    const w = alertPolicy(a);
    const j = byName.get(a.name);
    if (!j) {
      cmds.push(mut(...alerts, 'create', `--policy=${JSON.stringify(w)}`));
      continue;
    }
    const h = {
      displayName: j.displayName,
      combiner: j.combiner,
      enabled: j.enabled ?? false,
      userLabels: j.userLabels ?? {},
      notificationChannels: j.notificationChannels ?? [],
      conditions: (j.conditions ?? []).map((c) => {
        // Only the fields this script sets (the API adds defaults and drops a zero threshold).
        if (c.conditionAbsent) {
          const t = c.conditionAbsent;
          return {
            displayName: c.displayName,
            conditionAbsent: { filter: t.filter, duration: t.duration, aggregations: t.aggregations },
          };
        }
        const t = c.conditionThreshold ?? {};
        return {
          displayName: c.displayName,
          conditionThreshold: {
            filter: t.filter,
            comparison: t.comparison,
            thresholdValue: t.thresholdValue ?? 0,
            duration: t.duration,
            aggregations: t.aggregations,
          },
        };
      }),
    };
    if (!same(h, w)) cmds.push(mut(...alerts, 'update', j.name, `--policy=${JSON.stringify(w)}`));
  }
  await exec(cmds);
}

/**
 * The AlertPolicy JSON of one gcp.yml alert: one metric-threshold condition, or with `absent` one
 * metric-absence condition (no series of the filter reported for `duration`).
 */
export function alertPolicy(a: AlertPolicySpec) {
  const comparison = a.comparison ?? 'COMPARISON_GT';
  const duration = seconds(a.duration ?? '60s');
  const aggregations = [
    {
      alignmentPeriod: seconds(a.aggregation?.alignmentPeriod ?? '60s'),
      perSeriesAligner: a.aggregation?.perSeriesAligner ?? 'ALIGN_MAX',
    },
  ];
  const condition = a.absent
    ? {
        displayName: `no data for ${duration}`,
        conditionAbsent: { filter: a.filter, duration, aggregations },
      }
    : {
        displayName: `${comparison === 'COMPARISON_GT' ? 'above' : 'below'} ${a.threshold}`,
        conditionThreshold: {
          filter: a.filter,
          comparison,
          thresholdValue: a.threshold,
          duration,
          aggregations,
        },
      };
  return {
    displayName: a.displayName,
    combiner: 'OR',
    enabled: true,
    userLabels: { 'crosslink-name': a.name, [MANAGED_LABEL]: 'true' },
    notificationChannels: a.notificationChannels ?? [],
    conditions: [condition],
  };
}
