/**
 * The CloudWatch alarms of a template, kept as defined (DescribeAlarms shows them, DeleteStack
 * deletes them); the local cloud does not evaluate them.
 */

import { deleteAlarms, putMetricAlarm } from '../services/cloudwatch.ts';
import type { Wiring } from './template.ts';

/** Each alarm as defined. */
export function wireAlarms(w: Wiring): void {
  const { world, accountId, region, removers, physical, name, resolve, byType } = w;
  for (const [logical, r] of byType('AWS::CloudWatch::Alarm')) {
    const p = resolve(r.Properties);
    const alarmName = name(logical, p.AlarmName, 255);
    putMetricAlarm(world, accountId, region, {
      AlarmName: alarmName,
      AlarmDescription: p.AlarmDescription,
      Namespace: p.Namespace,
      MetricName: p.MetricName,
      Dimensions: p.Dimensions,
      Statistic: p.Statistic,
      Period: p.Period,
      EvaluationPeriods: p.EvaluationPeriods,
      Threshold: p.Threshold,
      ComparisonOperator: p.ComparisonOperator,
      TreatMissingData: p.TreatMissingData,
      AlarmActions: p.AlarmActions,
    });
    physical[logical] = alarmName;
    removers[logical] = () => deleteAlarms(world, accountId, region, [alarmName]);
  }
}
