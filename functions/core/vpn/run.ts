/**
 * A VPN decommission run (docs/vpn-runs.md, "The run"): what the coordinator plans at one scheduled
 * time, what it commands, and what it reports. Pure: the coordinating cloud's adapters read the
 * inventories, the links and the run's own records, and store what this module returns.
 *
 * The planner (planner.ts) decides keep, drain, undrain or delete with its gates (change windows,
 * soak, cooling-off, never the last healthy path, ...). The run adds what the planner does not own:
 * - the run id, from the scheduled time, so a duplicate start of the same run is recognised;
 * - the mode of each VPN's environment (`vpn.mode` in the policy): in `dry-run` an action is
 *   recorded and never commanded;
 * - the commands (`VpnDrainRequested`, `VpnUndrainRequested`, `VpnDeleteRequested`) of the actions
 *   it emits, with the Google tunnels each half acts on;
 * - the drain records the planner's `drains` input needs on the next run (a drained VPN shows no
 *   routes, so what it carried is remembered), and the links each drain depends on, so that a link
 *   going DEGRADED or DOWN undrains exactly those VPNs;
 * - the monthly saving at the prices of config/pricing.yaml, `null` for a side whose price is unknown.
 */
import type { Clock } from '../clock.ts';
import { buildEvent, type CloudEvent, type Origin } from '../envelope.ts';
import { ValidationError } from '../errors.ts';
import type { VpnHalfCommandData } from '../events/catalog.ts';
import * as checks from '../events/checks.ts';
import { checkEventData } from '../events/schemas.ts';
import { VPN_ACTION_EVENTS, type VpnAction } from './half.ts';
import { importAwsExport } from './import-aws.ts';
import { importGcpExport } from './import-gcp.ts';
import { importLinksFile, importMetricsFile } from './import-state.ts';
import { buildInventory } from './inventory.ts';
import type { Vpn } from './model.ts';
import { resolveNetworkRefs } from './network-refs.ts';
import { type Gate, planDecommission, type VpnPlan } from './planner.ts';
import { context, coveredGate } from './planner-gates.ts';
import type { VpnEnvironment, VpnPrices, VpnRunMode, VpnRunSettings } from './run-policy.ts';

export type { VpnEnvironment, VpnPrices, VpnRunMode, VpnRunSettings };

const INSTALLATION = /^[a-z0-9][a-z0-9-]{0,30}$/;

/**
 * `vpn-<installation>-<scheduled time>`, the time in ISO 8601 basic form (`20261206T030000Z`): a
 * Step Functions execution name, a DynamoDB key and a Firestore document id may all hold it (an
 * execution name may not hold ':').
 */
export function vpnRunId(installation: string, scheduledAt: number): string {
  if (!INSTALLATION.test(installation))
    throw new ValidationError(
      [{ path: 'installation', reason: `must be lowercase letters, digits and -, got "${installation}"` }],
      'VPN run',
    );
  if (!Number.isFinite(scheduledAt))
    throw new ValidationError([{ path: 'scheduledAt', reason: 'is not a time' }], 'VPN run');
  const t = new Date(Math.floor(scheduledAt / 1000) * 1000).toISOString().replace(/[-:]|\.000/g, '');
  return `vpn-${installation}-${t}`;
}

/** The scheduled time a run id names (ms), or undefined when it is not a run id. */
export function scheduledAtOf(runId: string): number | undefined {
  const m = /^vpn-[a-z0-9-]+-(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(runId);
  if (!m) return undefined;
  const t = Date.parse(`${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}Z`);
  return Number.isNaN(t) ? undefined : t;
}

/** A drain the run commanded: what the planner's `drains` input and the event-driven undrain read. */
export interface RunDrain {
  readonly vpnConnectionId: string;
  readonly runId: string;
  readonly drainedAt: string;
  readonly method: 'gcp-bgp-peers' | 'tgw-propagation';
  readonly prefixes: readonly { readonly prefix: string; readonly toward: 'aws' | 'gcp' }[];
  /** The ACTIVE links whose coverage allowed the drain: one of them degrading undrains it. */
  readonly links: readonly string[];
  readonly gcpTunnels: readonly string[];
  /** The AWS region of the VPN connection: where the AWS half undrains it. */
  readonly awsRegion: string;
}

/** One VPN of a run: the planner's verdict, the mode of its environment, and whether it is commanded. */
export interface RunEntry {
  readonly vpnId: string;
  readonly environment: VpnEnvironment;
  readonly state: VpnPlan['state'];
  readonly action: VpnPlan['action'];
  readonly summary: string;
  readonly gates: readonly Gate[];
  readonly mode: VpnRunMode;
  /** True when the run commands the action (not keep, and the environment's mode is apply). */
  readonly emit: boolean;
  readonly gcpTunnels: readonly string[];
  /** The AWS region of the VPN connection (the export's), which its commands carry. */
  readonly awsRegion: string;
  /** For a drain: the record written when it is commanded. */
  readonly drain?: RunDrain;
  /** Monthly cost of the VPN per side at the known prices (null: price unknown). */
  readonly monthlyCost: { readonly aws: number | null; readonly gcp: number | null };
}

export interface RunSaving {
  readonly currency: string;
  /** Saved by this run's deletes (commanded ones), per side; null: that side's price is unknown. */
  readonly monthly: { readonly aws: number | null; readonly gcp: number | null };
  /** Saved once the VPNs drained now or by this run are deleted. */
  readonly pendingMonthly: { readonly aws: number | null; readonly gcp: number | null };
  /** Planned deletes in dry-run (what applying would save). */
  readonly dryRunMonthly: { readonly aws: number | null; readonly gcp: number | null };
  readonly source: string;
}

export interface VpnRun {
  readonly runId: string;
  readonly installation: string;
  readonly scheduledAt: string;
  readonly plannedAt: string;
  readonly trigger: 'schedule' | 'manual' | 'link-state';
  readonly requestedBy: string;
  readonly coordinator: 'aws' | 'gcp';
  /** The mode each environment ran in: the policy's, or dry-run for both without `apply`. */
  readonly modes: Readonly<Record<VpnEnvironment, VpnRunMode>>;
  readonly entries: readonly RunEntry[];
  readonly unpaired: readonly { readonly side: string; readonly id: string; readonly reason: string }[];
  readonly totals: Readonly<Record<VpnPlan['action'], number>> & { readonly emitted: number };
  readonly saving: RunSaving;
}

export interface VpnRunInput {
  readonly runId: string;
  readonly installation: string;
  readonly scheduledAt: number;
  readonly now: number;
  readonly trigger: VpnRun['trigger'];
  readonly requestedBy: string;
  /** False: every environment runs dry (a manual run without --apply); true: the policy's modes. */
  readonly apply: boolean;
  readonly settings: VpnRunSettings;
  readonly prices: VpnPrices;
  /** The exports as `crosslink vpn plan` reads them (docs/vpn-planner.md, "Input files"). */
  readonly aws: unknown;
  readonly gcp: unknown;
  readonly traffic: unknown;
  /** The links in the links file's form (`linkId`, `state`, `aws`, `gcp`, `health`). */
  readonly links: readonly unknown[];
  /** The drains earlier runs commanded and no undrain has cleared. */
  readonly drains: readonly RunDrain[];
}

/** A VPN is nonprod only when its AWS connection and every Google tunnel say so: the safe side. */
export function environmentOf(vpn: Vpn): VpnEnvironment {
  const aws = vpn.aws.tags['crosslink:environment'] === 'nonprod';
  const tunnels = vpn.gcp?.tunnels ?? [];
  const gcp = tunnels.length > 0 && tunnels.every((t) => t.labels['crosslink-environment'] === 'nonprod');
  return aws && gcp ? 'nonprod' : 'prod';
}

const round = (n: number) => Math.round(n * 100) / 100;

function costOf(vpn: Vpn, p: VpnPrices): RunEntry['monthlyCost'] {
  const tunnels = vpn.gcp?.tunnels.length ?? 0;
  return {
    aws: p.awsConnectionHour === null ? null : round(p.hoursPerMonth * p.awsConnectionHour),
    gcp: p.gcpTunnelHour === null ? null : round(p.hoursPerMonth * tunnels * p.gcpTunnelHour),
  };
}

/** Sum per side; a side is null as soon as one VPN's cost there is unknown. */
function sumCosts(list: readonly RunEntry[]): RunSaving['monthly'] {
  const side = (k: 'aws' | 'gcp') =>
    list.some((e) => e.monthlyCost[k] === null)
      ? null
      : round(list.reduce((s, e) => s + (e.monthlyCost[k] ?? 0), 0));
  return { aws: side('aws'), gcp: side('gcp') };
}

/**
 * The AWS export as a run reads it: each VPN's region must be known (its commands act there), so a
 * VPN the export gives no region is refused naming it; the regions that did not answer are reported
 * (`unpaired`, side aws): their VPNs are absent, so nothing is planned for them, and the drains
 * earlier runs recorded for them stay until a run sees them again.
 */
function runAwsExport(input: unknown) {
  const aws = importAwsExport(input);
  const unknown = aws.vpnConnections.filter((v) => !v.region);
  if (unknown.length)
    throw new ValidationError(
      unknown.map((v) => ({
        path: `VpnConnections[${v.vpnConnectionId}].Region`,
        reason: "missing: the AWS region the VPN is in (its Region, or the export's top-level Region)",
      })),
      'AWS export',
    );
  const missing = aws.missingRegions.map((m) => ({
    side: 'aws',
    id: m.region,
    reason: `AWS region ${m.region} did not answer (${m.reason}): its VPNs are not in this run`,
  }));
  return { aws, missing };
}

/** Plans the run: the inventory read, the planner's plan, each VPN's mode, command and drain record. */
export function planVpnRun(input: VpnRunInput): VpnRun {
  const { aws, missing } = runAwsExport(input.aws);
  const gcp = importGcpExport(input.gcp);
  const traffic = importMetricsFile(input.traffic ?? { traffic: [] });
  const file = importLinksFile({
    links: input.links,
    drains: input.drains.map((d) => ({
      vpnConnectionId: d.vpnConnectionId,
      drainedAt: d.drainedAt,
      method: d.method,
      prefixes: d.prefixes,
    })),
  });
  const links = resolveNetworkRefs(
    { ...file, policy: input.settings.planner },
    { aws: aws.vpnConnections.map((v) => v.gateway.id), gcp: gcp.routers.map((r) => r.network) },
  );
  const inventory = buildInventory({ aws, gcp, links, traffic });
  const plan = planDecommission(inventory, input.settings.planner, input.now);
  const ctx = context(inventory, input.settings.planner, input.now);
  const byId = new Map(inventory.vpns.map((v) => [v.id, v]));
  const modes: Record<VpnEnvironment, VpnRunMode> = input.apply
    ? { ...input.settings.mode }
    : { prod: 'dry-run', nonprod: 'dry-run' };
  const plannedAt = new Date(input.now).toISOString();

  const entries = plan.vpns.map((p): RunEntry => {
    const vpn = byId.get(p.vpnConnectionId) as Vpn;
    const environment = environmentOf(vpn);
    const mode = modes[environment];
    const gcpTunnels = (vpn.gcp?.tunnels ?? []).map((t) => t.selfLink);
    const awsRegion = vpn.aws.region as string;
    const emit = p.action !== 'keep' && mode === 'apply' && gcpTunnels.length > 0;
    const base = {
      vpnId: p.vpnConnectionId,
      environment,
      state: p.state,
      action: p.action,
      summary: p.summary,
      gates: p.gates,
      mode,
      emit,
      gcpTunnels,
      awsRegion,
      monthlyCost: costOf(vpn, input.prices),
    };
    if (p.action !== 'drain' || !p.drainMethod) return base;
    return {
      ...base,
      drain: {
        vpnConnectionId: p.vpnConnectionId,
        runId: input.runId,
        drainedAt: plannedAt,
        method: p.drainMethod.kind,
        prefixes: vpn.prefixes.map((c) => ({ prefix: c.prefix.text, toward: c.toward })),
        links: coveredGate(vpn, ctx).links,
        gcpTunnels,
        awsRegion,
      },
    };
  });
  const count = (a: VpnPlan['action']) => entries.filter((e) => e.action === a).length;
  const deletes = entries.filter((e) => e.action === 'delete');
  return {
    runId: input.runId,
    installation: input.installation,
    scheduledAt: new Date(input.scheduledAt).toISOString(),
    plannedAt,
    trigger: input.trigger,
    requestedBy: input.requestedBy,
    coordinator: input.settings.coordinator,
    modes,
    entries,
    unpaired: [...missing, ...plan.unpaired],
    totals: {
      keep: count('keep'),
      drain: count('drain'),
      undrain: count('undrain'),
      delete: count('delete'),
      emitted: entries.filter((e) => e.emit).length,
    },
    saving: {
      currency: input.prices.currency,
      monthly: sumCosts(deletes.filter((e) => e.emit)),
      pendingMonthly: sumCosts(
        entries.filter(
          (e) => (e.action === 'drain' && e.emit) || (e.state === 'drained' && e.action === 'keep'),
        ),
      ),
      dryRunMonthly: sumCosts(deletes.filter((e) => !e.emit)),
      source: input.prices.source,
    },
  };
}

/** The check of each action's command (named statically: a bundle keeps only these validators). */
const COMMAND_CHECKS = {
  drain: checks.VpnDrainRequested,
  undrain: checks.VpnUndrainRequested,
  delete: checks.VpnDeleteRequested,
} as const;

/** The command of one emitted entry. `requestedAt` is the run's planning time, for every command. */
export function runCommand(
  run: Pick<VpnRun, 'runId' | 'plannedAt' | 'requestedBy'>,
  entry: Pick<RunEntry, 'vpnId' | 'action' | 'gcpTunnels' | 'awsRegion'>,
  o: { origin: Origin; clock: Clock; action?: VpnAction },
): CloudEvent<VpnHalfCommandData> {
  const action = o.action ?? entry.action;
  if (action === 'keep') throw new RangeError(`${entry.vpnId}: keep has no command`);
  const name = VPN_ACTION_EVENTS[action].command;
  // Checked here: a command the halves would refuse is never sent.
  const data = checkEventData(COMMAND_CHECKS[action], {
    runId: run.runId,
    vpnId: entry.vpnId,
    requestedBy: run.requestedBy,
    requestedAt: run.plannedAt,
    awsRegion: entry.awsRegion,
    gcpTunnels: [...entry.gcpTunnels],
  });
  return buildEvent<VpnHalfCommandData>({
    name,
    origin: o.origin,
    subject: entry.vpnId,
    data,
    clock: o.clock,
  });
}

/** The run's entries in pages of `size`, the unit one Map iteration emits. */
export function pagesOf<T>(list: readonly T[], size: number): T[][] {
  if (!Number.isInteger(size) || size < 1) throw new RangeError('page size must be a whole number >= 1');
  const pages: T[][] = [];
  for (let i = 0; i < list.length; i += size) pages.push(list.slice(i, i + size));
  return pages;
}

/**
 * The undrain a link's weakening commands: the drains that depended on the link, as a run of its
 * own (`trigger: link-state`) whose id is the link event's time.
 */
export function undrainsForLink(
  linkId: string,
  drains: readonly RunDrain[],
): { vpnId: string; gcpTunnels: readonly string[]; awsRegion: string }[] {
  return drains
    .filter((d) => d.links.includes(linkId))
    .map((d) => ({ vpnId: d.vpnConnectionId, gcpTunnels: d.gcpTunnels, awsRegion: d.awsRegion }))
    .sort((a, b) => (a.vpnId < b.vpnId ? -1 : a.vpnId > b.vpnId ? 1 : 0));
}

/** Link states that undrain the VPNs a run drained because of the link. */
export const WEAK_LINK_STATES: readonly string[] = ['DEGRADED', 'DOWN'];
