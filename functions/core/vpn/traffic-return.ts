/**
 * Undrain when VPN traffic returns (docs/vpn-runs.md, "Undrain when VPN traffic returns"): every
 * minute, on the schedule that drives the watchers, the coordinator reads the VPNs its runs drained
 * and their traffic since each drain, as the providers publish it (CloudWatch's 5-minute sums,
 * Monitoring's tunnel counters summed per 5 minutes), and undrains a VPN whose traffic returned: a
 * period above the policy's `idleMaxBytesPerHour`, counted as the planner's idle gate counts it
 * (planner-gates.ts `trafficSinceDrain`). A drained VPN's BGP sessions are down and its routes
 * withdrawn, so traffic on it means someone enabled its peers again, and the network then uses it.
 *
 * The undrain is a run of its own (`trigger: traffic`) through the same path a link's weakening
 * takes: its commands (`VpnUndrainRequested`) go on this side's bus, the halves apply them, and the
 * drain records are cleared. Its id is the time of the first period above the limit, claimed
 * conditionally, so two checks that read the same sample make one run and one undrain.
 */

import { iso } from '../link/record.ts';
import { importMetricsFile } from './import-state.ts';
import type { TrafficSample } from './model.ts';
import { trafficSinceDrain } from './planner-gates.ts';
import { type RunDrain, runCommand, vpnRunId } from './run.ts';
import type { VpnRunEventDeps, VpnRunHeader } from './run-steps.ts';

/** The provider's samples are 5-minute sums (AWS's period; Google's counters are summed to it). */
export const TRAFFIC_PERIOD_MS = 300_000;

/**
 * The traffic of the drained VPNs over the whole periods from `from` to `now`, in the metrics file's
 * form (`{traffic: [{vpnConnectionId, metric, start, end, bytes}]}`): one batched read of the
 * provider (CloudWatch `GetMetricData`, Monitoring `timeSeries.list`), paged.
 */
export type DrainedTrafficReader = (
  drains: readonly RunDrain[],
  from: number,
  now: number,
) => Promise<unknown>;

export interface VpnTrafficDeps extends VpnRunEventDeps {
  traffic: DrainedTrafficReader;
  /** The policy's `vpn.planner.idleMaxBytesPerHour`: at or under it a VPN is idle. */
  idleMaxBytesPerHour: number;
}

/** A drained VPN whose traffic returned: the first 5-minute period above the limit, and its rate. */
export interface TrafficReturn {
  readonly vpnId: string;
  readonly drain: RunDrain;
  readonly start: number;
  readonly end: number;
  readonly bytesPerHour: number;
}

/**
 * The drained VPNs whose traffic since their drain (`drainedAt`) has a period above
 * `limit` bytes an hour, in the order of that period, then VPN id. Pure.
 */
export function trafficReturns(
  drains: readonly RunDrain[],
  samples: readonly TrafficSample[],
  limit: number,
  now: number,
): TrafficReturn[] {
  const byVpn = new Map<string, TrafficSample[]>();
  for (const s of samples) byVpn.set(s.vpnConnectionId, [...(byVpn.get(s.vpnConnectionId) ?? []), s]);
  const out: TrafficReturn[] = [];
  for (const d of drains) {
    const own = (byVpn.get(d.vpnConnectionId) ?? []).sort((a, b) => a.start - b.start || a.end - b.end);
    const t = trafficSinceDrain(own, Date.parse(d.drainedAt), now, limit);
    if (t.firstAbove)
      out.push({
        vpnId: d.vpnConnectionId,
        drain: d,
        start: t.firstAbove.start,
        end: t.firstAbove.end,
        bytesPerHour: t.firstAbove.rate,
      });
  }
  return out.sort((a, b) => a.start - b.start || (a.vpnId < b.vpnId ? -1 : a.vpnId > b.vpnId ? 1 : 0));
}

/** Where a check's reads start: the earliest drain's period (whole periods only count). */
export function trafficFrom(drains: readonly RunDrain[]): number {
  const earliest = Math.min(...drains.map((d) => Date.parse(d.drainedAt)));
  return Math.floor(earliest / TRAFFIC_PERIOD_MS) * TRAFFIC_PERIOD_MS;
}

export interface TrafficCheckReport {
  /** The VPNs drained when the check ran. */
  readonly drained: number;
  /** The traffic runs this check made or found made, with the VPNs each undrained. */
  readonly runs: readonly { readonly runId: string; readonly vpns: readonly string[] }[];
  readonly reason: string;
}

/** Traffic runs start on this second of their period and walk on while another run holds the id. */
const FIRST_SECOND = 1;
const LAST_SECOND = 59;
/**
 * A traffic run claimed this long ago and still not reported is taken as stopped (its check ended
 * between the claim and the commands): the next check sends its undrains under it.
 */
export const TRAFFIC_CLAIM_LEASE_MS = 120_000;

/**
 * One check (`check`: the firing's id, the same when a firing is tried again): the drains, their
 * traffic (no read when nothing is drained), and an undrain run per period in which some VPN's
 * traffic first returned. A run's id is `vpn-<installation>-<time>`, the time being the period's
 * start plus one second (a scheduled run's id is on a whole minute, so never this one); its
 * `execution` names the check and the VPNs it undrains. A check that finds the id claimed by
 * another check for these VPNs (one that read the same sample) leaves them to it, unless that claim
 * is older than `TRAFFIC_CLAIM_LEASE_MS` and still not reported; one that finds the id claimed for
 * other VPNs (whose samples became visible first) takes the next second.
 */
export async function undrainForTraffic(deps: VpnTrafficDeps, check: string): Promise<TrafficCheckReport> {
  const drains = await deps.runs.drains();
  if (drains.length === 0) return { drained: 0, runs: [], reason: 'no VPN is drained' };
  const now = deps.clock.now();
  const samples = importMetricsFile(await deps.traffic(drains, trafficFrom(drains), now));
  const returns = trafficReturns(drains, samples, deps.idleMaxBytesPerHour, now);
  if (returns.length === 0)
    return {
      drained: drains.length,
      runs: [],
      reason: `no drained VPN's traffic since its drain is above ${deps.idleMaxBytesPerHour} bytes/h`,
    };
  const byPeriod = new Map<number, TrafficReturn[]>();
  for (const r of returns) byPeriod.set(r.start, [...(byPeriod.get(r.start) ?? []), r]);
  const runs: { runId: string; vpns: string[] }[] = [];
  for (const [start, group] of byPeriod) runs.push(...(await undrainGroup(deps, check, start, group)));
  return {
    drained: drains.length,
    runs,
    reason: `traffic returned on ${returns.map((r) => r.vpnId).join(', ')}`,
  };
}

const executionOf = (check: string, vpns: readonly string[]) =>
  `traffic:${check} ${[...vpns].sort().join(',')}`;

/** The VPNs a traffic run's `execution` names (none for a run of another trigger). */
const vpnsOf = (execution: string): string[] =>
  execution.startsWith('traffic:') ? (execution.split(' ')[1] ?? '').split(',') : [];

async function undrainGroup(
  deps: VpnTrafficDeps,
  check: string,
  periodStart: number,
  group: readonly TrafficReturn[],
): Promise<{ runId: string; vpns: string[] }[]> {
  let pending = [...group];
  const now = deps.clock.now();
  const at = iso(now);
  const made: { runId: string; vpns: string[] }[] = [];
  for (let second = FIRST_SECOND; second <= LAST_SECOND && pending.length > 0; second++) {
    const scheduledAt = periodStart + second * 1000;
    const runId = vpnRunId(deps.installation, scheduledAt);
    const execution = executionOf(
      check,
      pending.map((r) => r.vpnId),
    );
    const claim = await deps.runs.claim({
      runId,
      installation: deps.installation,
      scheduledAt: iso(scheduledAt),
      trigger: 'traffic',
      requestedBy: deps.principal,
      apply: true,
      execution,
      claimedAt: at,
      status: 'claimed',
    });
    if (claim.claimed || claim.existing.execution === execution) {
      await undrainClaimed(deps, runId, pending, at);
      made.push({ runId, vpns: pending.map((r) => r.vpnId) });
      return made;
    }
    // Another check's run holds this id: the VPNs it names are its own, unless it stopped.
    const ex = claim.existing;
    const theirs = new Set(vpnsOf(ex.execution));
    const covered = pending.filter((r) => theirs.has(r.vpnId));
    const stopped = ex.status === 'claimed' && now - Date.parse(ex.claimedAt) >= TRAFFIC_CLAIM_LEASE_MS;
    if (covered.length > 0 && stopped) {
      await undrainClaimed(deps, runId, covered, at);
      made.push({ runId, vpns: covered.map((r) => r.vpnId) });
    }
    pending = pending.filter((r) => !theirs.has(r.vpnId));
  }
  if (pending.length > 0)
    throw new Error(
      `no free run id in the minute after ${iso(periodStart)} for the traffic undrain of ${pending.map((r) => r.vpnId).join(', ')}`,
    );
  return made;
}

/** Sends the undrains of a claimed traffic run, clears their drains, and records the run reported. */
async function undrainClaimed(
  deps: VpnTrafficDeps,
  runId: string,
  targets: readonly TrafficReturn[],
  at: string,
): Promise<void> {
  const run = { runId, plannedAt: at, requestedBy: deps.principal };
  await deps.bus.put(
    targets.map((t) =>
      runCommand(
        run,
        {
          vpnId: t.vpnId,
          action: 'undrain',
          gcpTunnels: t.drain.gcpTunnels,
          awsRegion: t.drain.awsRegion,
        },
        { origin: deps.origin, clock: deps.clock },
      ),
    ),
  );
  for (const t of targets) await deps.runs.clearDrain(t.drain);
  const header = (await deps.runs.header(runId)) as VpnRunHeader;
  await deps.runs.saveHeader({
    ...header,
    status: 'reported',
    reportedAt: at,
    traffic: {
      vpns: targets.map((t) => t.vpnId),
      samples: targets.map((t) => ({
        vpnId: t.vpnId,
        start: iso(t.start),
        end: iso(t.end),
        bytesPerHour: Math.round(t.bytesPerHour),
      })),
    },
  });
}
