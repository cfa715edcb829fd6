/**
 * Which side serves, read from the traffic switch as a user would, and the gaps in each side's
 * signals. The switch is read through a port (`RoutingControlReader`): for Route 53 ARC, each
 * routing control's state from a cluster's regional endpoints, one after the other until one answers
 * for every control (ARC's data plane is served by any of them; one being down is the normal case
 * the client must ride over); for Cloud DNS (`DnsPolicyReader`), the record set's `primaryBackup`
 * routing policy.
 */
import { ValidationError } from '../errors.ts';
import { iso } from './failover-state.ts';
import type { DrPlan } from './plan.ts';
import { type DrRecord, isControl } from './signal-log.ts';

export type ControlState = 'On' | 'Off';

/** One of an ARC cluster's regional endpoints. */
export interface ClusterEndpoint {
  region: string;
  url: string;
}

/** What one endpoint said of one routing control: its state, or that the endpoint could not answer. */
export type ControlRead = { state: ControlState } | { unreachable: string };

/** Reads one routing control's state at one cluster endpoint. Errors other than an endpoint down are thrown. */
export interface RoutingControlReader {
  state(endpoint: ClusterEndpoint, routingControlArn: string): Promise<ControlRead>;
}

/** A routing control of the plan and the side (cell) it sends traffic to. */
export interface Cell {
  side: 'primary' | 'standby';
  routingControlArn: string;
}

export type Serving = 'primary' | 'standby' | 'both' | 'none';

export type ArcServing =
  | {
      switch: 'arc';
      serving: Serving;
      /** The endpoint that answered. */
      endpoint: string;
      cells: (Cell & { state: ControlState })[];
      /** Endpoints that did not answer before it, with why. */
      skipped: { region: string; reason: string }[];
    }
  | { switch: 'arc'; serving: 'unknown'; tried: { region: string; reason: string }[] };

/**
 * The plan's ARC cells: the failover's `arc-routing-control` action turns the standby's cell On and
 * the primary's Off. A plan without one has no ARC switch (undefined).
 */
export function arcCells(plan: DrPlan): Cell[] | undefined {
  const action = plan.actions.failover.find((a) => a.type === 'arc-routing-control');
  if (action?.type !== 'arc-routing-control') return undefined;
  return action.states.map((s) => ({
    side: s.state === 'On' ? 'standby' : 'primary',
    routingControlArn: s.routingControlArn,
  }));
}

/** Which side serves when these cells are in these states. */
export function servingOf(cells: readonly (Cell & { state: ControlState })[]): Serving {
  const on = new Set(cells.filter((c) => c.state === 'On').map((c) => c.side));
  if (on.size === 2) return 'both';
  return on.has('primary') ? 'primary' : on.has('standby') ? 'standby' : 'none';
}

/** Reads every cell's state through the endpoints in turn: the first that answers for all of them says. */
export async function readArcServing(
  cells: readonly Cell[],
  endpoints: readonly ClusterEndpoint[],
  reader: RoutingControlReader,
): Promise<ArcServing> {
  const tried: { region: string; reason: string }[] = [];
  next: for (const endpoint of endpoints) {
    const read: (Cell & { state: ControlState })[] = [];
    for (const cell of cells) {
      const r = await reader.state(endpoint, cell.routingControlArn);
      if ('unreachable' in r) {
        tried.push({ region: endpoint.region, reason: r.unreachable });
        continue next;
      }
      read.push({ ...cell, state: r.state });
    }
    return {
      switch: 'arc',
      serving: servingOf(read),
      endpoint: endpoint.region,
      cells: read,
      skipped: tried,
    };
  }
  return { switch: 'arc', serving: 'unknown', tried };
}

/** A stretch longer than the plan's `staleAfter` with no signal from one side's vantage points. */
export interface SignalGap {
  side: 'aws' | 'gcp' | 'external';
  /** The last line before the gap (absent: none at all before `to`). */
  from?: string;
  /** The first line after it; absent: silent since `from` up to now. */
  to?: string;
  /** Its length; absent when the side never reported. */
  ms?: number;
}

/**
 * Each side's gaps up to `now`: between consecutive lines of that side's vantage points, and from its
 * last line to `now`, any longer than `staleAfter`. A side that never reported is one gap with neither end.
 */
export function signalGaps(plan: DrPlan, records: readonly DrRecord[], now: number): SignalGap[] {
  const sideOf = new Map(plan.vantagePoints.map((vp) => [vp.id, vp.cloud]));
  const times = new Map<SignalGap['side'], number[]>();
  for (const vp of plan.vantagePoints) times.set(vp.cloud, []);
  for (const r of records) {
    if (isControl(r) || r.service !== plan.service) continue;
    const side = sideOf.get(r.vantage);
    const at = Date.parse(r.time);
    if (side && at <= now) times.get(side)?.push(at);
  }
  const stale = plan.settings.staleAfterMs;
  const gaps: SignalGap[] = [];
  for (const [side, list] of times) {
    list.sort((a, b) => a - b);
    const last = list.at(-1);
    if (last === undefined) {
      gaps.push({ side });
      continue;
    }
    for (let i = 1; i < list.length; i++) {
      const a = list[i - 1] as number;
      const b = list[i] as number;
      if (b - a > stale) gaps.push({ side, from: iso(a), to: iso(b), ms: b - a });
    }
    if (now - last > stale) gaps.push({ side, from: iso(last), ms: now - last });
  }
  return gaps;
}

/**
 * A cluster's endpoints from JSON: what `aws route53-recovery-control-config describe-cluster` prints
 * (`{"Cluster": {"ClusterEndpoints": [...]}}`) or the `ClusterEndpoints` list itself, each
 * `{Endpoint: <https URL>, Region}`. Errors: ValidationError naming the field.
 */
export function parseClusterEndpoints(text: string, subject: string): ClusterEndpoint[] {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new ValidationError([{ path: '', reason: `not JSON: ${(e as Error).message}` }], subject);
  }
  const cluster = (doc as { Cluster?: { ClusterEndpoints?: unknown } } | null)?.Cluster;
  const list = Array.isArray(doc) ? doc : cluster?.ClusterEndpoints;
  const at = Array.isArray(doc) ? '' : 'Cluster.ClusterEndpoints';
  if (!Array.isArray(list) || list.length === 0)
    throw new ValidationError(
      [{ path: at, reason: 'expected a non-empty list of {Endpoint, Region} (describe-cluster output)' }],
      subject,
    );
  const issues: { path: string; reason: string }[] = [];
  const endpoints = list.map((e: { Endpoint?: unknown; Region?: unknown }, i) => {
    const path = `${at}[${i}]`;
    if (typeof e?.Endpoint !== 'string' || !/^https?:\/\/[^\s/]+/.test(e.Endpoint))
      issues.push({ path: `${path}.Endpoint`, reason: 'expected the endpoint URL (https://...)' });
    if (typeof e?.Region !== 'string' || !/^[a-z]{2}(-[a-z]+)+-\d$/.test(e.Region))
      issues.push({ path: `${path}.Region`, reason: 'expected an AWS region (e.g. us-west-2)' });
    return { url: String(e?.Endpoint), region: String(e?.Region) };
  });
  if (issues.length > 0) throw new ValidationError(issues, subject);
  return endpoints;
}

/** The plan's Cloud DNS switch: the record set its failover's `cloud-dns-failover-policy` action names. */
export interface DnsSwitch {
  managedZone: string;
  recordName: string;
}

/** The plan's Cloud DNS switch, or undefined when its failover has no `cloud-dns-failover-policy` action. */
export function dnsSwitch(plan: DrPlan): DnsSwitch | undefined {
  const action = plan.actions.failover.find((a) => a.type === 'cloud-dns-failover-policy');
  if (action?.type !== 'cloud-dns-failover-policy') return undefined;
  return { managedZone: action.managedZone, recordName: action.recordName };
}

/** A record set's `primaryBackup` routing policy as the Cloud DNS API returns it, its targets as text. */
export interface PrimaryBackupPolicy {
  type: string;
  ttl: number;
  /** The health-checked primary targets (an external endpoint's IP, an internal load balancer's `ip:port`). */
  primaryTargets: string[];
  /** The backup geo policy's items: a location and its targets (rrdatas or health-checked). */
  backupTargets: { location: string; targets: string[] }[];
  /** The fraction of answers sent to the backup while the primary is healthy. */
  trickleTraffic: number;
}

/** Reads the record set's routing policy; `{absent}` when the record set or its primaryBackup policy is not there. */
export interface DnsPolicyReader {
  primaryBackup(sw: DnsSwitch): Promise<PrimaryBackupPolicy | { absent: string }>;
}

export type DnsServing =
  | {
      switch: 'cloud-dns';
      managedZone: string;
      recordName: string;
      /**
       * What the policy routes to: the primary targets while any of them is healthy, else the
       * backup (Cloud DNS refuses a policy without primary targets). Which of the two answers at a
       * moment is the targets' health, which the Cloud DNS API does not expose.
       */
      serving: 'primary-while-healthy';
      policy: PrimaryBackupPolicy;
    }
  | { switch: 'cloud-dns'; managedZone: string; recordName: string; serving: 'unknown'; reason: string };

/** The serving side the plan's Cloud DNS switch gives, read through `reader`. */
export async function readDnsServing(sw: DnsSwitch, reader: DnsPolicyReader): Promise<DnsServing> {
  const read = await reader.primaryBackup(sw);
  if ('absent' in read) return { switch: 'cloud-dns', ...sw, serving: 'unknown', reason: read.absent };
  return { switch: 'cloud-dns', ...sw, serving: 'primary-while-healthy', policy: read };
}
