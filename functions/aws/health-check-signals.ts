/**
 * The external checker's signals: Route 53 health checks' `HealthCheckStatus` read from CloudWatch in
 * us-east-1 (the only region Route 53 publishes it to), one GetMetricData call for every health check
 * the deployment maps to a signal. Polling GetHealthCheckStatus is what AWS advises against; the
 * metric is the checkers' aggregate, one datapoint a minute.
 */
import { type CloudWatchClient, GetMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import type { Clock } from '#core/clock.ts';
import { healthCheckObservation, type Observation } from '#core/dr/observations.ts';
import type { DrPlan } from '#core/dr/plan.ts';
import { ValidationError } from '#core/errors.ts';

export interface HealthCheckSignalsInput {
  plan: DrPlan;
  /** The external checker's vantage point id in the plan. */
  vantage: string;
  /** Which Route 53 health check answers each of the vantage point's signals. */
  healthChecks: Record<string, string>;
  /** How far back a datapoint still counts (the plan's staleAfter when not given). */
  maxAgeMs?: number;
}

/**
 * Main course: one observation per mapped signal. Errors: ValidationError naming `healthChecks` for a
 * signal the plan does not give this vantage point or a signal of it left unmapped; the SDK's errors
 * pass through (a failed read is the caller's to retry, not an observation).
 */
export async function readHealthCheckSignals(
  deps: { cloudwatch: CloudWatchClient; clock: Clock },
  input: HealthCheckSignalsInput,
): Promise<Observation[]> {
  const mine = input.plan.signals.filter((s) => s.vantagePoints.includes(input.vantage)).map((s) => s.name);
  const issues = [
    ...Object.keys(input.healthChecks)
      .filter((name) => !mine.includes(name))
      .map((name) => ({
        path: `healthChecks.${name}`,
        reason: `not a signal of vantage point ${input.vantage} in plan ${input.plan.service}`,
      })),
    ...mine
      .filter((name) => !(name in input.healthChecks))
      .map((name) => ({ path: `healthChecks.${name}`, reason: 'is required: a Route 53 health check id' })),
  ];
  if (issues.length > 0) throw new ValidationError(issues, 'external checker');
  const now = deps.clock.now();
  const maxAgeMs = input.maxAgeMs ?? input.plan.settings.staleAfterMs;
  const entries = Object.entries(input.healthChecks);
  const { MetricDataResults = [] } = await deps.cloudwatch.send(
    new GetMetricDataCommand({
      StartTime: new Date(now - maxAgeMs),
      EndTime: new Date(now),
      ScanBy: 'TimestampDescending',
      MetricDataQueries: entries.map(([, id], i) => ({
        Id: `hc${i}`,
        MetricStat: {
          Metric: {
            Namespace: 'AWS/Route53',
            MetricName: 'HealthCheckStatus',
            Dimensions: [{ Name: 'HealthCheckId', Value: id }],
          },
          Period: 60,
          Stat: 'Minimum',
        },
      })),
    }),
  );
  const time = new Date(now).toISOString();
  return entries.map(([signal, id], i): Observation => {
    const result = MetricDataResults.find((r) => r.Id === `hc${i}`);
    const points = (result?.Timestamps ?? []).map((t, j) => ({
      time: t.getTime(),
      value: result?.Values?.[j] ?? 0,
    }));
    const o = healthCheckObservation(points, now, maxAgeMs, id);
    return {
      time,
      service: input.plan.service,
      vantage: input.vantage,
      signal,
      status: o.status,
      detail: o.detail,
      ...(o.reason && { reason: o.reason }),
    };
  });
}
