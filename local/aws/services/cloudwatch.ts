/**
 * CloudWatch `GetMetricData` for the `AWS/VPN` metrics (`TunnelDataIn`, `TunnelDataOut`,
 * `TunnelState`), in the protocol the current @aws-sdk/client-cloudwatch speaks: AWS JSON 1.0,
 * `X-Amz-Target: GraniteServiceVersion20100801.GetMetricData`, query-compatible errors (the
 * `x-amzn-query-error: Code;Sender` header carries the awsQuery code), and also rpcv2-cbor
 * (`POST /service/GraniteServiceVersion20100801/operation/GetMetricData`), which the service model
 * declares too. Older clients that still send awsQuery (`Action=GetMetricData`) are not served.
 *
 * The data come from the shared network model (local/world/network.ts, `awsVpnMetric`): one sample
 * per tunnel every 5 minutes, the bytes of that interval for TunnelDataIn/Out and the tunnel's state
 * (1 up, 0 down) at its start for TunnelState; a sample is published once its interval has ended on
 * the virtual clock.
 * A query's period groups samples (Sum, Average, Minimum, Maximum, SampleCount); dimensions
 * `VpnId`, `TunnelIpAddress` or both select the tunnels (several tunnels: Sum adds them, TunnelState
 * averages them). `AWS/ApiGateway` `Count`, `4xx`, `5xx` of the HTTP APIs (dimension `ApiId`, optionally
 * `Stage`): one sample per answered request (common/api-metrics.ts). `AWS/SQS`
 * `ApproximateAgeOfOldestMessage` (dimension `QueueName`): one sample per minute, the age in seconds
 * of the oldest message the queue held at that minute (local/aws/sqs/queues.ts `ageOfOldestAt`), 0
 * when it held none; SQS's own caveat, that a message received three times or more stops counting,
 * is not modelled. `AWS/Route53` `HealthCheckStatus` (dimension `HealthCheckId`, published in us-east-1
 * only, as Route 53 does): one sample per minute from the check's creation, 1 while it was healthy
 * at that minute and 0 while not (local/aws/route53/health-checks.ts). Other namespaces and metrics
 * have no data (empty results, as for a metric nobody publishes). Metric math expressions are not simulated (InvalidParameterValue).
 *
 * Metric alarms: a stack's alarms are created from code (`putMetricAlarm`), listed by
 * `DescribeAlarms` and deleted by `DeleteAlarms`; they are not evaluated (INSUFFICIENT_DATA).
 */
import type { NetworkWorld, VpnConnection } from '#local/world/network.ts';
import { API_METRICS, type ApiMetric, apiGatewaySamples } from '../common/api-metrics.ts';
import { networkOf } from '../common/network.ts';
import { AwsError } from '../errors.ts';
import { healthChecksOf } from '../route53/health-checks.ts';
import { defineService, type RequestContext, type World } from '../service.ts';
import { queuesOf } from './sqs.ts';

/** An error with its awsQuery code in `x-amzn-query-error`, as query-compatible JSON services send. */
function queryCompatible(code: string, message: string, status = 400): AwsError {
  return new AwsError(`${code}Exception`, message, {
    status,
    headers: { 'x-amzn-query-error': `${code};${status >= 500 ? 'Receiver' : 'Sender'}` },
  });
}
const invalid = (message: string) => queryCompatible('InvalidParameterValue', message);
const missing = (message: string) => queryCompatible('MissingParameter', message);

const STATS = ['Sum', 'Average', 'Minimum', 'Maximum', 'SampleCount'] as const;
type Stat = (typeof STATS)[number];
const VPN_METRICS = ['TunnelDataIn', 'TunnelDataOut', 'TunnelState'] as const;
/** SQS publishes its queue metrics every minute. */
const SQS_SAMPLE_MS = 60_000;
/** AWS/VPN publishes one sample per tunnel every 5 minutes (the model's sampling). */
const SAMPLE_SECONDS = 300;

interface Query {
  Id?: string;
  Label?: string;
  ReturnData?: boolean;
  Expression?: string;
  Period?: number;
  MetricStat?: {
    Metric?: { Namespace?: string; MetricName?: string; Dimensions?: { Name?: string; Value?: string }[] };
    Period?: number;
    Stat?: string;
    Unit?: string;
  };
}

interface Point {
  t: number;
  v: number;
}

function seconds(v: unknown, name: string): number {
  const n = v instanceof Date ? v.getTime() / 1000 : Number(v);
  if (v === undefined || !Number.isFinite(n)) throw missing(`The parameter ${name} is required.`);
  return n;
}

/** The tunnels (VPN, outside IP) a metric's dimensions select, in the caller's account and region. */
function tunnels(
  ctx: RequestContext<unknown>,
  net: NetworkWorld,
  dims: Record<string, string>,
): { vpn: VpnConnection; ip: string }[] {
  const names = Object.keys(dims).sort().join(',');
  if (names !== 'VpnId' && names !== 'TunnelIpAddress' && names !== 'TunnelIpAddress,VpnId') return [];
  const out: { vpn: VpnConnection; ip: string }[] = [];
  for (const vpn of net.vpnConnections.values()) {
    if (vpn.accountId !== ctx.accountId || vpn.region !== ctx.region) continue;
    if (dims.VpnId !== undefined && vpn.vpnConnectionId !== dims.VpnId) continue;
    for (const t of vpn.tunnels) {
      if (dims.TunnelIpAddress !== undefined && t.outsideIpAddress !== dims.TunnelIpAddress) continue;
      out.push({ vpn, ip: t.outsideIpAddress });
    }
  }
  return out;
}

/**
 * Per 5-minute sample (the model's: `NetworkWorld.awsVpnMetric` at a 300 s period), the selected
 * tunnels combined: bytes add up, TunnelState averages (values between 0 and 1: some tunnel down).
 */
function samples(
  net: NetworkWorld,
  metric: (typeof VPN_METRICS)[number],
  selected: { vpn: VpnConnection; ip: string }[],
  fromMs: number,
  toMs: number,
): Point[] {
  const bySample = new Map<number, number[]>();
  for (const s of selected) {
    const points = net.awsVpnMetric({
      vpnConnectionId: s.vpn.vpnConnectionId,
      tunnelIpAddress: s.ip,
      metric,
      stat: 'Sum',
      start: fromMs,
      end: toMs,
      periodSeconds: SAMPLE_SECONDS,
    });
    for (const p of points) bySample.set(p.timestamp, [...(bySample.get(p.timestamp) ?? []), p.value]);
  }
  return [...bySample.entries()].map(([t, vs]) => {
    const sum = vs.reduce((a, b) => a + b, 0);
    return { t, v: metric === 'TunnelState' ? sum / vs.length : sum };
  });
}

/** ApproximateAgeOfOldestMessage of the queue `QueueName` names, one sample per ended minute. */
function sqsAgeSamples(
  ctx: RequestContext<unknown>,
  dims: Record<string, string>,
  fromMs: number,
  toMs: number,
): Point[] {
  if (Object.keys(dims).join(',') !== 'QueueName') return [];
  const q = queuesOf(ctx.world, `arn:aws:sqs:${ctx.region}:${ctx.accountId}:${dims.QueueName}`);
  if (!q) return [];
  const out: Point[] = [];
  const first = Math.ceil(Math.max(fromMs, q.createdAt) / SQS_SAMPLE_MS) * SQS_SAMPLE_MS;
  const last = Math.min(toMs, ctx.clock.now());
  for (let t = first; t <= last; t += SQS_SAMPLE_MS) out.push({ t, v: q.ageOfOldestAt(t) });
  return out;
}

/** Route 53 publishes health check metrics every minute, in us-east-1. */
const ROUTE53_SAMPLE_MS = 60_000;

/** HealthCheckStatus of the check `HealthCheckId` names, one sample per ended minute. */
function healthCheckSamples(
  ctx: RequestContext<unknown>,
  dims: Record<string, string>,
  fromMs: number,
  toMs: number,
): Point[] {
  if (ctx.region !== 'us-east-1' || Object.keys(dims).join(',') !== 'HealthCheckId') return [];
  const checks = healthChecksOf(ctx.clock);
  const check = checks.checks.get(dims.HealthCheckId as string);
  if (!check || check.accountId !== ctx.accountId) return [];
  const created = (check.history[0] as { at: number }).at;
  const out: Point[] = [];
  const first = Math.ceil(Math.max(fromMs, created) / ROUTE53_SAMPLE_MS) * ROUTE53_SAMPLE_MS;
  const last = Math.min(toMs, ctx.clock.now());
  for (let t = first; t <= last; t += ROUTE53_SAMPLE_MS) {
    const healthy = checks.healthyAt(check, t);
    if (healthy !== undefined) out.push({ t, v: healthy ? 1 : 0 });
  }
  return out;
}

function aggregate(points: Point[], periodMs: number, stat: Stat): Point[] {
  const groups = new Map<number, number[]>();
  for (const p of points) {
    const k = Math.floor(p.t / periodMs) * periodMs;
    groups.set(k, [...(groups.get(k) ?? []), p.v]);
  }
  return [...groups.entries()].map(([t, vs]) => {
    const sum = vs.reduce((a, b) => a + b, 0);
    const v = {
      Sum: sum,
      Average: sum / vs.length,
      Minimum: Math.min(...vs),
      Maximum: Math.max(...vs),
      SampleCount: vs.length,
    }[stat];
    return { t, v };
  });
}

/** A metric alarm as PutMetricAlarm defines it; the local cloud does not evaluate alarms. */
export interface MetricAlarm {
  AlarmName: string;
  AlarmArn: string;
  AlarmDescription?: string;
  Namespace?: string;
  MetricName?: string;
  Dimensions?: { Name: string; Value: string }[];
  Statistic?: string;
  Period?: number;
  EvaluationPeriods?: number;
  Threshold?: number;
  ComparisonOperator?: string;
  TreatMissingData?: string;
  AlarmActions?: string[];
  StateValue: 'INSUFFICIENT_DATA';
  StateReason: string;
  AlarmConfigurationUpdatedTimestamp: Date;
}

interface CloudWatchState {
  alarms: Map<string, MetricAlarm>;
}

/** Creates or replaces a metric alarm (what a stack's AWS::CloudWatch::Alarm makes). */
export function putMetricAlarm(
  world: World,
  accountId: string,
  region: string,
  alarm: Omit<MetricAlarm, 'AlarmArn' | 'StateValue' | 'StateReason' | 'AlarmConfigurationUpdatedTimestamp'>,
): MetricAlarm {
  if (!/^.{1,255}$/s.test(alarm.AlarmName)) throw new RangeError('AlarmName: 1 to 255 characters');
  const a: MetricAlarm = {
    ...alarm,
    AlarmArn: `arn:aws:cloudwatch:${region}:${accountId}:alarm:${alarm.AlarmName}`,
    StateValue: 'INSUFFICIENT_DATA',
    StateReason: 'Unchecked: alarms are not evaluated by the local cloud',
    AlarmConfigurationUpdatedTimestamp: new Date(world.clock.now()),
  };
  world.stateOf<CloudWatchState>('cloudwatch', accountId, region).alarms.set(a.AlarmName, a);
  return a;
}

/** Deletes alarms by name, all or none: an unknown name is ResourceNotFound, as DeleteAlarms answers. */
export function deleteAlarms(
  world: World,
  accountId: string,
  region: string,
  names: readonly string[],
): void {
  const alarms = world.stateOf<CloudWatchState>('cloudwatch', accountId, region).alarms;
  const unknown = names.filter((n) => !alarms.has(n));
  if (unknown.length > 0) throw queryCompatible('ResourceNotFound', `${unknown.join(', ')} not found`, 404);
  for (const n of names) alarms.delete(n);
}

export default defineService<CloudWatchState>({
  name: 'cloudwatch',
  signingName: 'monitoring',
  protocol: 'json1.0',
  targetPrefix: 'GraniteServiceVersion20100801',
  // CloudWatch's model also declares rpcv2Cbor, which SDK releases may switch to: serve both.
  cborServiceName: 'GraniteServiceVersion20100801',
  errorNamespace: 'com.amazonaws.cloudwatch',
  errors: {
    throttling: { code: 'ThrottlingException', status: 400 },
    server: { code: 'InternalServiceFault', status: 500 },
  },
  createState: () => ({ alarms: new Map() }),
  status: (s) => (s.alarms.size > 0 ? { alarms: [...s.alarms.keys()] } : undefined),
  operations: {
    DescribeAlarms(input: { AlarmNames?: unknown; AlarmNamePrefix?: unknown; MaxRecords?: unknown }, ctx) {
      const names = input.AlarmNames;
      if (names !== undefined && (!Array.isArray(names) || names.length > 100))
        throw invalid('The parameter AlarmNames must be a list of at most 100 names.');
      if (names !== undefined && input.AlarmNamePrefix !== undefined)
        throw invalid('AlarmNames and AlarmNamePrefix cannot be used together.');
      const prefix = typeof input.AlarmNamePrefix === 'string' ? input.AlarmNamePrefix : '';
      const alarms = [...ctx.state.alarms.values()].filter(
        (a) =>
          (names === undefined || (names as unknown[]).includes(a.AlarmName)) &&
          a.AlarmName.startsWith(prefix),
      );
      return {
        MetricAlarms: alarms.sort((a, b) => a.AlarmName.localeCompare(b.AlarmName)),
        CompositeAlarms: [],
      };
    },
    DeleteAlarms(input: { AlarmNames?: unknown }, ctx) {
      const names = input.AlarmNames;
      if (!Array.isArray(names) || names.some((n) => typeof n !== 'string'))
        throw missing('The parameter AlarmNames is required.');
      if (names.length > 100) throw invalid('The parameter AlarmNames must be a list of at most 100 names.');
      deleteAlarms(ctx.world, ctx.accountId, ctx.region, names as string[]);
      return {};
    },
    GetMetricData(
      input: {
        MetricDataQueries?: Query[];
        StartTime?: number;
        EndTime?: number;
        NextToken?: string;
        ScanBy?: string;
        MaxDatapoints?: number;
      },
      ctx,
    ) {
      const queries = input.MetricDataQueries;
      if (!Array.isArray(queries) || queries.length === 0) {
        throw missing('The parameter MetricDataQueries is required.');
      }
      if (queries.length > 500)
        throw invalid('The collection MetricDataQueries must not have a size greater than 500.');
      const start = seconds(input.StartTime, 'StartTime') * 1000;
      const end = seconds(input.EndTime, 'EndTime') * 1000;
      if (start >= end) throw invalid('The parameter StartTime must be less than the parameter EndTime.');
      const scan = input.ScanBy ?? 'TimestampDescending';
      if (scan !== 'TimestampDescending' && scan !== 'TimestampAscending') {
        throw invalid(`The parameter ScanBy must be one of TimestampDescending, TimestampAscending.`);
      }
      const maxPoints = input.MaxDatapoints ?? 100_800;
      if (!Number.isInteger(maxPoints) || maxPoints < 1)
        throw invalid('The parameter MaxDatapoints must be a positive integer.');
      const ids = new Set<string>();
      for (const q of queries) {
        if (!q.Id || !/^[a-z][a-zA-Z0-9_]*$/.test(q.Id)) {
          throw invalid(
            `The value ${q.Id ?? ''} for parameter MetricDataQueries.member.Id is not valid: it must start with a lower-case letter and contain only letters, numbers and underscores.`,
          );
        }
        if (ids.has(q.Id))
          throw invalid(`The value ${q.Id} for parameter MetricDataQueries.member.Id is duplicated.`);
        ids.add(q.Id);
        if (q.Expression !== undefined)
          throw invalid('Metric math expressions are not simulated by the local cloud.');
        if (!q.MetricStat?.Metric?.MetricName || !q.MetricStat.Metric.Namespace) {
          throw missing(
            `The parameter MetricDataQueries.member.MetricStat.Metric is required for query ${q.Id}.`,
          );
        }
        const period = q.MetricStat.Period;
        if (
          !Number.isInteger(period) ||
          (period as number) < 1 ||
          ((period as number) >= 60 && (period as number) % 60 !== 0)
        ) {
          throw invalid(
            `The parameter MetricDataQueries.member.MetricStat.Period must be 1, 5, 10, 30 or a multiple of 60 (got ${String(period)}).`,
          );
        }
        if (!STATS.includes(q.MetricStat.Stat as Stat)) {
          throw invalid(
            `The parameter MetricDataQueries.member.MetricStat.Stat ${String(q.MetricStat.Stat)} is not simulated (use ${STATS.join(', ')}).`,
          );
        }
      }
      let offsets: number[] = queries.map(() => 0);
      if (input.NextToken !== undefined) {
        try {
          const t = JSON.parse(Buffer.from(input.NextToken, 'base64url').toString()) as {
            o: number[];
            s: number;
            e: number;
          };
          if (t.s !== start || t.e !== end || t.o.length !== queries.length) throw new Error('other query');
          offsets = t.o;
        } catch {
          throw queryCompatible('InvalidNextToken', 'The service found NextToken invalid.');
        }
      }
      const net = networkOf(ctx.world);
      let budget = maxPoints;
      let more = false;
      const nextOffsets = [...offsets];
      const results = queries
        .map((q, i) => ({ q, i }))
        .filter(({ q }) => q.ReturnData !== false)
        .map(({ q, i }) => {
          const stat = q.MetricStat as NonNullable<Query['MetricStat']>;
          const metric = stat.Metric as NonNullable<NonNullable<Query['MetricStat']>['Metric']>;
          const dims = Object.fromEntries(
            (metric.Dimensions ?? []).map((d) => [String(d.Name), String(d.Value)]),
          );
          const isVpn =
            metric.Namespace === 'AWS/VPN' &&
            (VPN_METRICS as readonly string[]).includes(metric.MetricName as string);
          const selected = isVpn ? tunnels(ctx, net, dims) : [];
          const isApi =
            metric.Namespace === 'AWS/ApiGateway' &&
            (API_METRICS as readonly string[]).includes(metric.MetricName as string);
          const isSqsAge =
            metric.Namespace === 'AWS/SQS' && metric.MetricName === 'ApproximateAgeOfOldestMessage';
          const isHealthCheck =
            metric.Namespace === 'AWS/Route53' && metric.MetricName === 'HealthCheckStatus';
          const all = aggregate(
            isApi
              ? apiGatewaySamples(ctx.world, ctx, metric.MetricName as ApiMetric, dims)
              : isSqsAge
                ? sqsAgeSamples(ctx, dims, start, end)
                : isHealthCheck
                  ? healthCheckSamples(ctx, dims, start, end)
                  : samples(net, metric.MetricName as (typeof VPN_METRICS)[number], selected, start, end),
            (stat.Period as number) * 1000,
            stat.Stat as Stat,
          ).filter((p) => p.t >= start && p.t < end);
          all.sort((a, b) => (scan === 'TimestampAscending' ? a.t - b.t : b.t - a.t));
          const from = offsets[i] ?? 0;
          const page = all.slice(from, from + Math.max(budget, 0));
          budget -= page.length;
          nextOffsets[i] = from + page.length;
          const complete = from + page.length >= all.length;
          if (!complete) more = true;
          return {
            Id: q.Id,
            Label: q.Label ?? metric.MetricName,
            Timestamps: page.map((p) => new Date(p.t)),
            Values: page.map((p) => p.v),
            StatusCode: complete ? 'Complete' : 'PartialData',
          };
        });
      return {
        MetricDataResults: results,
        NextToken: more
          ? Buffer.from(JSON.stringify({ o: nextOffsets, s: start, e: end })).toString('base64url')
          : undefined,
        Messages: [],
      };
    },
  },
});
