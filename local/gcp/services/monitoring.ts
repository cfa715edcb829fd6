/**
 * Cloud Monitoring v3 `projects.timeSeries.list` for the HA VPN byte counters
 * (`vpn.googleapis.com/network/sent_bytes_count`, `.../received_bytes_count`: DELTA INT64 in bytes,
 * one point per 60 s, resource `vpn_gateway` {project_id, region, gateway_id}, metric label
 * `tunnel_name`), read from the network world's counters over virtual time.
 *
 * Supported: `filter` as a conjunction (`AND`) of `metric.type = "..."`, `resource.type = "..."`,
 * `resource.labels.<k> = "..."`, `metric.labels.<k> = "..."` (also `!=`, and `one_of(...)` for
 * labels); `interval.startTime` / `interval.endTime`; `aggregation.alignmentPeriod` with
 * `perSeriesAligner` ALIGN_NONE, ALIGN_DELTA, ALIGN_SUM or ALIGN_RATE, and `crossSeriesReducer`
 * REDUCE_NONE / REDUCE_SUM (with `groupByFields`); `view` FULL or HEADERS; `pageSize` / `pageToken`.
 * Points come newest first, as Monitoring returns them.
 */
import { counterKey } from '#local/world/network.ts';
import { networkOf } from '#local/world/registry.ts';
import { invalidArgument } from '../errors.ts';
import { defineGcpService, type GcpRequestContext } from '../service.ts';

const METRICS = {
  'vpn.googleapis.com/network/sent_bytes_count': 'sent',
  'vpn.googleapis.com/network/received_bytes_count': 'received',
} as const;
type MetricType = keyof typeof METRICS;

const SAMPLE_MS = 60_000;

interface Series {
  metric: { type: string; labels: Record<string, string> };
  resource: { type: 'vpn_gateway'; labels: Record<string, string> };
  key: string;
}

interface Term {
  field: string;
  op: '=' | '!=';
  values: string[];
}

/** Parses the subset of the Monitoring filter language described above. */
export function parseFilter(filter: string): Term[] {
  const parts = filter
    .split(/\s+AND\s+/i)
    .map((p) => p.trim())
    .filter(Boolean);
  return parts.map((part) => {
    const oneOf = /^([\w.]+)\s*=\s*one_of\((.*)\)$/.exec(part);
    if (oneOf) {
      const values = [...(oneOf[2] as string).matchAll(/"([^"]*)"/g)].map((m) => m[1] as string);
      return { field: oneOf[1] as string, op: '=' as const, values };
    }
    const m = /^([\w.]+)\s*(!=|=)\s*"([^"]*)"$/.exec(part);
    if (!m)
      throw invalidArgument(
        `The provided filter doesn't refer to any known metric or is malformed: ${part}`,
        'filter',
      );
    return { field: m[1] as string, op: m[2] as '=' | '!=', values: [m[3] as string] };
  });
}

function fieldOf(s: Series, field: string): string | undefined {
  if (field === 'metric.type') return s.metric.type;
  if (field === 'resource.type') return s.resource.type;
  if (field.startsWith('metric.labels.')) return s.metric.labels[field.slice(14)];
  if (field.startsWith('metric.label.')) return s.metric.labels[field.slice(13)];
  if (field.startsWith('resource.labels.')) return s.resource.labels[field.slice(16)];
  if (field.startsWith('resource.label.')) return s.resource.labels[field.slice(15)];
  return undefined;
}

function durationMs(v: string | null, fallback: number): number {
  if (!v) return fallback;
  const m = /^(\d+(?:\.\d+)?)s$/.exec(v);
  if (!m) throw invalidArgument(`Invalid duration: ${v}`, 'aggregation.alignmentPeriod');
  return Number(m[1]) * 1000;
}

function timeOf(v: string | null, field: string): number | undefined {
  if (!v) return undefined;
  const t = Date.parse(v);
  if (Number.isNaN(t)) throw invalidArgument(`Invalid ${field}: ${v}`, field);
  return t;
}

function list(ctx: GcpRequestContext) {
  const project = ctx.params.project as string;
  const filter = ctx.query.get('filter');
  if (!filter) throw invalidArgument('Field filter had an invalid value: a filter is required', 'filter');
  const terms = parseFilter(filter);
  const type = terms.find((t) => t.field === 'metric.type' && t.op === '=')?.values[0];
  if (!type || !(type in METRICS))
    throw invalidArgument(
      `The local Monitoring serves ${Object.keys(METRICS).join(' and ')}; the filter asks for ${type ?? 'no metric.type'}`,
      'filter',
    );
  const now = ctx.clock.now();
  const end = timeOf(ctx.query.get('interval.endTime'), 'interval.endTime') ?? now;
  const start = timeOf(ctx.query.get('interval.startTime'), 'interval.startTime') ?? end - SAMPLE_MS;
  if (start > end) throw invalidArgument('The start time must be before the end time.', 'interval.startTime');
  const aligner = ctx.query.get('aggregation.perSeriesAligner') ?? 'ALIGN_NONE';
  const reducer = ctx.query.get('aggregation.crossSeriesReducer') ?? 'REDUCE_NONE';
  if (!['ALIGN_NONE', 'ALIGN_DELTA', 'ALIGN_SUM', 'ALIGN_RATE'].includes(aligner))
    throw invalidArgument(
      `perSeriesAligner ${aligner} is not supported locally`,
      'aggregation.perSeriesAligner',
    );
  if (!['REDUCE_NONE', 'REDUCE_SUM'].includes(reducer))
    throw invalidArgument(
      `crossSeriesReducer ${reducer} is not supported locally`,
      'aggregation.crossSeriesReducer',
    );
  if (reducer !== 'REDUCE_NONE' && aligner === 'ALIGN_NONE')
    throw invalidArgument(
      'A crossSeriesReducer needs a perSeriesAligner other than ALIGN_NONE.',
      'aggregation',
    );
  const period =
    aligner === 'ALIGN_NONE'
      ? SAMPLE_MS
      : durationMs(ctx.query.get('aggregation.alignmentPeriod'), SAMPLE_MS);

  const w = networkOf(ctx.clock);
  const direction = METRICS[type as MetricType];
  const series: Series[] = [];
  for (const t of w.vpnTunnels.values()) {
    if (t.project !== project || !t.vpnGateway) continue; // vpn_gateway metrics are HA VPN's
    const gw = w.haVpnGateways.get(`${t.project}/${t.region}/${t.vpnGateway}`);
    const key =
      direction === 'sent'
        ? counterKey.gcpTunnelSent(t.project, t.region, t.name)
        : counterKey.gcpTunnelReceived(t.project, t.region, t.name);
    series.push({
      metric: { type, labels: { tunnel_name: t.name } },
      resource: {
        type: 'vpn_gateway',
        labels: { project_id: project, region: t.region, gateway_id: gw?.id ?? '' },
      },
      key,
    });
  }
  const selected = series.filter((s) =>
    terms.every((term) => {
      const v = fieldOf(s, term.field);
      const hit = v !== undefined && term.values.includes(v);
      return term.op === '=' ? hit : !hit;
    }),
  );

  // Points aligned to the period, ending at `end` (Monitoring aligns windows to the end time).
  const windows: Array<{ start: number; end: number }> = [];
  if ((end - start) / period > 10_000)
    throw invalidArgument(
      'The interval holds more than 10,000 alignment periods; use a longer alignmentPeriod.',
      'interval',
    );
  for (let e = end; e > start; e -= period) windows.push({ start: e - period, end: e });
  const pointsOf = (key: string) =>
    windows
      .map((win) => {
        const since = w.counterSince(key);
        if (since === undefined || win.end <= since) return undefined;
        const bytes = w.counter(key, Math.max(win.start, since), win.end);
        return { win, bytes };
      })
      .filter((p): p is { win: { start: number; end: number }; bytes: number } => p !== undefined);
  const render = (p: { win: { start: number; end: number }; bytes: number }) => ({
    interval: { startTime: new Date(p.win.start).toISOString(), endTime: new Date(p.win.end).toISOString() },
    value:
      aligner === 'ALIGN_RATE' ? { doubleValue: p.bytes / (period / 1000) } : { int64Value: String(p.bytes) },
  });
  const metricKind = aligner === 'ALIGN_RATE' ? 'GAUGE' : 'DELTA';
  const valueType = aligner === 'ALIGN_RATE' ? 'DOUBLE' : 'INT64';
  const unit = aligner === 'ALIGN_RATE' ? 'By/s' : 'By';
  const headersOnly = ctx.query.get('view') === 'HEADERS';

  let out: Array<Record<string, unknown>>;
  if (reducer === 'REDUCE_SUM') {
    const groupBy = ctx.query.getAll('aggregation.groupByFields');
    const groups = new Map<string, Series[]>();
    for (const s of selected) {
      const k = JSON.stringify(groupBy.map((f) => fieldOf(s, f) ?? ''));
      groups.set(k, [...(groups.get(k) ?? []), s]);
    }
    out = [...groups.values()].map((members) => {
      const first = members[0] as Series;
      const keep = (labels: Record<string, string>, prefix: string) =>
        Object.fromEntries(Object.entries(labels).filter(([k]) => groupBy.includes(`${prefix}.labels.${k}`)));
      const sums = windows
        .map((win) => ({
          win,
          bytes: members.reduce((acc, s) => {
            const since = w.counterSince(s.key);
            return since === undefined || win.end <= since
              ? acc
              : acc + w.counter(s.key, Math.max(win.start, since), win.end);
          }, 0),
        }))
        .filter((p) => members.some((s) => (w.counterSince(s.key) ?? Number.POSITIVE_INFINITY) < p.win.end));
      return {
        metric: { type, labels: keep(first.metric.labels, 'metric') },
        resource: { type: 'vpn_gateway', labels: keep(first.resource.labels, 'resource') },
        metricKind,
        valueType,
        unit,
        ...(headersOnly ? {} : { points: sums.map(render) }),
      };
    });
  } else {
    out = selected.map((s) => ({
      metric: s.metric,
      resource: s.resource,
      metricKind,
      valueType,
      unit,
      ...(headersOnly ? {} : { points: pointsOf(s.key).map(render) }),
    }));
  }
  out = out.filter((s) => headersOnly || (s.points as unknown[]).length > 0);
  const size = Number(ctx.query.get('pageSize') ?? 0) || 100_000;
  const from = Number(ctx.query.get('pageToken') ?? 0) || 0;
  const pageItems = out.slice(from, from + size);
  return {
    ...(pageItems.length > 0 ? { timeSeries: pageItems } : {}),
    ...(from + size < out.length ? { nextPageToken: String(from + size) } : {}),
    unit,
  };
}

export default defineGcpService({
  name: 'monitoring',
  host: 'monitoring.googleapis.com',
  routes: [
    { method: 'GET', path: '/v3/projects/{project}/timeSeries', operation: 'ListTimeSeries', handler: list },
  ],
});
