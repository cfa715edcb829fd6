/**
 * The steps of a VPN run on the coordinating cloud (docs/vpn-runs.md, "The run"), each one task of
 * its state machine or workflow, through ports: claim the run (a duplicate start is a no-op), ask the
 * peer for its inventory and wait for every page, plan, emit one page of commands, report. And the
 * two reactions on the bus: a link going DEGRADED or DOWN undrains the VPNs drained because of it; a
 * half's result is recorded in the run it answers.
 */
import { createHash } from 'node:crypto';
import type { Clock } from '../clock.ts';
import { buildEvent, type Cloud, type CloudEvent, type Origin } from '../envelope.ts';
import { ConflictError, NotFoundError, ValidationError } from '../errors.ts';
import type { VpnHalfResultData, VpnRunReportedData } from '../events/catalog.ts';
import * as checks from '../events/checks.ts';
import { checkEventData } from '../events/schemas.ts';
import { peerOf } from '../link/model.ts';
import type { EventSink } from '../link/ports.ts';
import { iso } from '../link/record.ts';
import type { VpnAction } from './half.ts';
import { type InventoryPageStore, readPeerInventory } from './inventory-pages.ts';
import {
  pagesOf,
  planVpnRun,
  type RunDrain,
  type RunEntry,
  runCommand,
  undrainsForLink,
  type VpnRun,
  vpnRunId,
  WEAK_LINK_STATES,
} from './run.ts';
import type { PlannerLinkJson } from './run-links.ts';
import type { VpnPrices, VpnRunSettings } from './run-policy.ts';

/** VPNs per page: one Map iteration emits a page; a page is one stored item well under 400 KB. */
export const RUN_PAGE_SIZE = 25;

export type VpnRunStatus = 'claimed' | 'planned' | 'reported';

/** A run as stored: what it is, then (once planned) the run without its entries, which are paged. */
export interface VpnRunHeader {
  readonly runId: string;
  readonly installation: string;
  readonly scheduledAt: string;
  /** `traffic`: an undrain because a drained VPN's traffic returned (traffic-return.ts). */
  readonly trigger: VpnRun['trigger'] | 'traffic';
  readonly requestedBy: string;
  readonly apply: boolean;
  /** The execution that claimed it: its own retried claim is not a duplicate. */
  readonly execution: string;
  readonly claimedAt: string;
  readonly status: VpnRunStatus;
  readonly run?: Omit<VpnRun, 'entries'>;
  readonly pages?: number;
  readonly reportedAt?: string;
  /** A link-state run: the link that weakened and the VPNs it undrained. */
  readonly undrain?: { readonly linkId: string; readonly to: string; readonly vpns: readonly string[] };
  /** A traffic run: the VPNs it undrained, each with the first period its traffic was above the limit. */
  readonly traffic?: {
    readonly vpns: readonly string[];
    readonly samples: readonly {
      readonly vpnId: string;
      readonly start: string;
      readonly end: string;
      readonly bytesPerHour: number;
    }[];
  };
}

export type VpnRunResult = VpnHalfResultData & { readonly action: VpnAction };

/**
 * A link weakening's claim on the drains it undoes, written once per weakening: AWS's own
 * `LinkStateChanged` and Google's relayed copy (or a redelivery of either) read the same drains, and
 * only the delivery whose claim is written commands their undrain.
 */
export interface UndrainClaim {
  readonly linkId: string;
  /** The drains undone, each `<vpnId>@<the run that drained it>`, sorted: the claim's key. */
  readonly drains: readonly string[];
  /** The link-state run that undrains them. */
  readonly runId: string;
  /** The delivery that claimed them (`event:<event id>`): its own retry continues its claim. */
  readonly execution: string;
  readonly claimedAt: string;
}

/** What an undrain claim is keyed by within its link: a digest of the drains it undoes. */
export function undrainClaimKey(drains: readonly string[]): string {
  return createHash('sha256')
    .update([...drains].sort().join(','), 'utf8')
    .digest('hex')
    .slice(0, 32);
}

/** A drain as an undrain claim names it: the VPN and the run that drained it. */
export const drainRef = (d: Pick<RunDrain, 'vpnConnectionId' | 'runId'>): string =>
  `${d.vpnConnectionId}@${d.runId}`;

export interface VpnRunStore {
  /** Writes the header unless the run exists; the existing one otherwise. */
  claim(h: VpnRunHeader): Promise<{ claimed: true } | { claimed: false; existing: VpnRunHeader }>;
  header(runId: string): Promise<VpnRunHeader | undefined>;
  saveHeader(h: VpnRunHeader): Promise<void>;
  savePage(runId: string, page: number, entries: readonly RunEntry[]): Promise<void>;
  page(runId: string, page: number): Promise<RunEntry[] | undefined>;
  /** The drains commanded and not undrained or deleted since. */
  drains(): Promise<RunDrain[]>;
  drainsOfLink(linkId: string): Promise<RunDrain[]>;
  putDrain(d: RunDrain): Promise<void>;
  /**
   * Moves the drain of `vpnId` that run `runId` recorded to `drainedAt`, only if it is still
   * recorded (not undrained or deleted since, nor replaced by another run's) and `drainedAt` is
   * later: one conditional write, so it never brings back a cleared drain. False when nothing moved.
   */
  moveDrain(vpnId: string, runId: string, drainedAt: string): Promise<boolean>;
  clearDrain(d: RunDrain): Promise<void>;
  /** Writes the claim unless one of the same link and drains exists; that one otherwise. */
  claimUndrain(c: UndrainClaim): Promise<{ claimed: true } | { claimed: false; existing: UndrainClaim }>;
  /** Every undrain claim of the link. */
  undrainClaims(linkId: string): Promise<UndrainClaim[]>;
  /**
   * Keeps a half's answer, in one conditional write: an answer other than `changed` is not written
   * over a kept `changed` one. False when it was not written.
   */
  putResult(runId: string, r: VpnRunResult): Promise<boolean>;
  /** The result kept for one VPN, action and side of a run. */
  result(
    runId: string,
    key: Pick<VpnRunResult, 'vpnId' | 'action' | 'side'>,
  ): Promise<VpnRunResult | undefined>;
  results(runId: string): Promise<VpnRunResult[]>;
  /** Newest first. */
  list(limit: number, cursor?: string): Promise<{ items: VpnRunHeader[]; cursor?: string }>;
}

export type PeerInventory = { complete: false; missing: string[] } | { complete: true; export: unknown };

/**
 * The peer's inventory as the exchange stored it (inventory-exchange.ts): whole, or the pages still
 * missing.
 */
export function storedPeerInventory(
  pages: InventoryPageStore,
  side: Cloud,
): (runId: string) => Promise<PeerInventory> {
  return async (runId) => {
    const p = await readPeerInventory(pages, runId, side);
    if (p.complete) return { complete: true, export: p.export };
    return {
      complete: false,
      missing:
        p.pages === undefined
          ? [`every page of ${side}'s inventory (none received yet)`]
          : p.missing.map((n) => `page ${n} of ${p.pages}`),
    };
  };
}

/**
 * The peer's inventory through the relay's exchange (inventory-exchange.ts): the request is a
 * `VpnInventoryRequested` for the peer's side on this side's bus (the relay carries it); the pages
 * the peer reports are kept by run in `pages`, and read whole or as the pages still missing.
 */
export function relayedPeerInventory(o: {
  bus: EventSink;
  origin: Origin;
  clock: Clock;
  pages: InventoryPageStore;
}): Pick<VpnRunSources, 'requestPeer' | 'peer'> {
  const side = peerOf(o.origin.cloud);
  return {
    async requestPeer(runId, requestedAt) {
      const data = checkEventData(checks.VpnInventoryRequested, { runId, side, requestedAt });
      await o.bus.put([
        buildEvent({ name: 'VpnInventoryRequested', origin: o.origin, subject: runId, data, clock: o.clock }),
      ]);
    },
    peer: storedPeerInventory(o.pages, side),
  };
}

/** What the coordinator reads: its own side, the peer's (through the relay), crosslink's links. */
export interface VpnRunSources {
  /**
   * This side's export for the run and its VPN traffic over `windowMs` before `now` (the metrics
   * file's form); the peer's export names the VPNs a side that counts traffic per tunnel pairs its
   * tunnels with.
   */
  own(
    runId: string,
    now: number,
    windowMs: number,
    peerExport: unknown,
  ): Promise<{ export: unknown; traffic: unknown }>;
  requestPeer(runId: string, requestedAt: string): Promise<void>;
  peer(runId: string): Promise<PeerInventory>;
  /**
   * The links, with AWS's export: the gateways a link's Direct Connect gateway reaches are its
   * `DirectConnectGatewayAssociations` (run-links.ts `exportedGateways`), on either coordinator.
   */
  links(awsExport: unknown): Promise<{ links: PlannerLinkJson[]; skipped: string[] }>;
}

export interface VpnRunDeps {
  runs: VpnRunStore;
  sources: VpnRunSources;
  bus: EventSink;
  clock: Clock;
  origin: Origin;
  installation: string;
  settings: VpnRunSettings;
  prices: VpnPrices;
}

/** What the plan uses: the sources and the policy, no bus. */
export type VpnPlanDeps = Pick<VpnRunDeps, 'runs' | 'clock' | 'origin' | 'settings' | 'prices'> & {
  sources: Pick<VpnRunSources, 'own' | 'peer' | 'links'>;
};

/** What the other steps use: the store, the bus and the peer's exchange, neither the planner nor the inventory. */
export type VpnRunStepDeps = Pick<VpnRunDeps, 'runs' | 'bus' | 'clock' | 'origin' | 'installation'> & {
  sources: Pick<VpnRunSources, 'requestPeer' | 'peer'>;
};

/** What the reactions on the bus use: no sources, no planner. */
export type VpnRunEventDeps = Pick<VpnRunDeps, 'runs' | 'bus' | 'clock' | 'origin' | 'installation'> & {
  /** This side's own identity (its role ARN): what a link-state undrain is requested by. */
  principal: string;
};

export interface RunStart {
  /** The scheduled time (ISO 8601); the Scheduler's `<aws.scheduler.scheduled-time>`. */
  scheduledAt: string;
  trigger: 'schedule' | 'manual';
  /** Apply where the policy allows (a schedule always; a manual run only with --apply). */
  apply: boolean;
  requestedBy: string;
  execution: string;
}

/** As the events' `principal` (events/defs.v1.schema.json): who a command is requested by. */
const PRINCIPAL = /^(arn:aws[-a-z]*:(iam|sts)::\d{12}:\S+|[^@\s]+@[^@\s]+)$/;

function readStart(input: unknown): RunStart {
  const o = (input && typeof input === 'object' ? input : {}) as Record<string, unknown>;
  const issues: { path: string; reason: string }[] = [];
  const at = typeof o.scheduledAt === 'string' ? Date.parse(o.scheduledAt) : Number.NaN;
  if (Number.isNaN(at)) issues.push({ path: 'scheduledAt', reason: 'must be an ISO 8601 time' });
  if (o.trigger !== 'schedule' && o.trigger !== 'manual')
    issues.push({ path: 'trigger', reason: 'must be schedule or manual' });
  if (typeof o.apply !== 'boolean') issues.push({ path: 'apply', reason: 'must be true or false' });
  if (typeof o.requestedBy !== 'string' || !PRINCIPAL.test(o.requestedBy))
    issues.push({ path: 'requestedBy', reason: 'must be an IAM principal ARN or a Google account email' });
  if (typeof o.execution !== 'string' || !o.execution)
    issues.push({ path: 'execution', reason: 'must be the execution id' });
  if (issues.length) throw new ValidationError(issues, 'VPN run start');
  return o as unknown as RunStart;
}

/** Claims the run of this scheduled time; a second start of it (any execution but the first) is a no-op. */
export async function claimRun(
  deps: VpnRunStepDeps,
  input: unknown,
): Promise<{ runId: string; duplicate: boolean; reason?: string }> {
  const s = readStart(input);
  const runId = vpnRunId(deps.installation, Date.parse(s.scheduledAt));
  const header: VpnRunHeader = {
    runId,
    installation: deps.installation,
    scheduledAt: iso(Date.parse(s.scheduledAt)),
    trigger: s.trigger,
    requestedBy: s.requestedBy,
    apply: s.apply,
    execution: s.execution,
    claimedAt: iso(deps.clock.now()),
    status: 'claimed',
  };
  const out = await deps.runs.claim(header);
  if (out.claimed || out.existing.execution === s.execution) return { runId, duplicate: false };
  return {
    runId,
    duplicate: true,
    reason: `run ${runId} was started by ${out.existing.execution} (${out.existing.status}): this start does nothing`,
  };
}

async function claimed(deps: Pick<VpnRunDeps, 'runs'>, runId: string): Promise<VpnRunHeader> {
  const h = await deps.runs.header(runId);
  if (!h) throw new NotFoundError(`no VPN run ${runId} is claimed`);
  return h;
}

export async function requestPeerInventory(
  deps: VpnRunStepDeps,
  runId: string,
): Promise<{ requested: true }> {
  await claimed(deps, runId);
  await deps.sources.requestPeer(runId, iso(deps.clock.now()));
  return { requested: true };
}

/** Whether every page of the peer's inventory is in; `attempts` counts the checks so far. */
export async function peerInventoryReady(
  deps: Pick<VpnRunStepDeps, 'sources'>,
  runId: string,
  attempts: number,
): Promise<{ complete: boolean; attempts: number; missing: string[] }> {
  const p = await deps.sources.peer(runId);
  return p.complete
    ? { complete: true, attempts: attempts + 1, missing: [] }
    : { complete: false, attempts: attempts + 1, missing: p.missing };
}

/** Plans the claimed run and stores it in pages; the page numbers are what the Map iterates. */
export async function planClaimedRun(deps: VpnPlanDeps, runId: string): Promise<{ pages: number[] }> {
  const h = await claimed(deps, runId);
  if (h.status !== 'claimed' && h.pages !== undefined) return { pages: [...Array(h.pages).keys()] }; // a retried plan: the stored one stands
  if (h.trigger === 'traffic') throw new ConflictError(`run ${runId} is a traffic undrain: nothing to plan`);
  const peer = await deps.sources.peer(runId);
  if (!peer.complete)
    throw new ConflictError(
      `the peer's inventory for ${runId} is incomplete: missing ${peer.missing.join(', ')}`,
    );
  const now = deps.clock.now();
  const own = await deps.sources.own(runId, now, deps.settings.planner.idleWindowMs, peer.export);
  const mine = deps.origin.cloud;
  const { links, skipped } = await deps.sources.links(mine === 'aws' ? own.export : peer.export);
  const run = planVpnRun({
    runId,
    installation: h.installation,
    scheduledAt: Date.parse(h.scheduledAt),
    now,
    trigger: h.trigger,
    requestedBy: h.requestedBy,
    apply: h.apply,
    settings: deps.settings,
    prices: deps.prices,
    aws: mine === 'aws' ? own.export : peer.export,
    gcp: mine === 'gcp' ? own.export : peer.export,
    traffic: own.traffic,
    links,
    drains: await deps.runs.drains(),
  });
  const pages = pagesOf(run.entries, RUN_PAGE_SIZE);
  for (const [i, p] of pages.entries()) await deps.runs.savePage(runId, i, p);
  const { entries: _, ...rest } = run;
  const unplanned = skipped.map((reason) => ({ side: 'links', id: reason.split(':')[0] ?? '', reason }));
  await deps.runs.saveHeader({
    ...h,
    status: 'planned',
    run: { ...rest, unpaired: [...rest.unpaired, ...unplanned] },
    pages: pages.length,
  });
  return { pages: [...pages.keys()] };
}

/**
 * Commands one page's emitted entries and keeps the drain records: a drain's is written before its
 * command goes (an undrain then always finds it), an undrain's or delete's cleared after.
 */
export async function emitPage(
  deps: VpnRunStepDeps,
  runId: string,
  page: number,
): Promise<{ emitted: number }> {
  const h = await claimed(deps, runId);
  const entries = await deps.runs.page(runId, page);
  if (!entries || !h.run) throw new NotFoundError(`run ${runId} has no page ${page}`);
  const run = h.run;
  const emitted = entries.filter((e) => e.emit);
  for (const e of emitted) if (e.action === 'drain' && e.drain) await deps.runs.putDrain(e.drain);
  const events: CloudEvent[] = emitted.map((e) =>
    runCommand(run, e, { origin: deps.origin, clock: deps.clock }),
  );
  if (events.length) await deps.bus.put(events);
  const byVpn = new Map((await deps.runs.drains()).map((d) => [d.vpnConnectionId, d]));
  for (const e of emitted)
    if (e.action === 'undrain' || e.action === 'delete') {
      const d = byVpn.get(e.vpnId);
      if (d) await deps.runs.clearDrain(d);
    }
  return { emitted: emitted.length };
}

/** Marks the run reported and puts `VpnRunReported` (the totals and the saving). */
export async function reportRun(deps: VpnRunStepDeps, runId: string): Promise<VpnRunReportedData> {
  const h = await claimed(deps, runId);
  if (!h.run) throw new ConflictError(`run ${runId} is not planned`);
  const data: VpnRunReportedData = {
    runId,
    installation: h.installation,
    scheduledAt: h.scheduledAt,
    plannedAt: h.run.plannedAt,
    trigger: h.run.trigger,
    modes: h.run.modes,
    totals: h.run.totals,
    saving: h.run.saving,
    reportedAt: iso(deps.clock.now()),
  };
  checkEventData(checks.VpnRunReported, data);
  await deps.bus.put([
    buildEvent({ name: 'VpnRunReported', origin: deps.origin, subject: runId, data, clock: deps.clock }),
  ]);
  await deps.runs.saveHeader({ ...h, status: 'reported', reportedAt: data.reportedAt });
  return data;
}

/**
 * A link went DEGRADED or DOWN: the VPNs drained because of it are undrained at once, as a run of
 * its own whose id is the event's time. Each weakening undoes its drains once: the delivery that
 * claims them (`claimUndrain`, keyed by the link and the drains) commands the undrain; another
 * delivery of the same weakening (the other cloud's copy, a duplicate) finds them claimed and does
 * nothing, and a redelivery of the claiming event continues its own claim.
 */
export async function undrainForLink(
  deps: VpnRunEventDeps,
  event: { linkId: string; to: string; time: string; eventId: string },
): Promise<{ runId?: string; undrained: string[]; reason: string }> {
  if (!WEAK_LINK_STATES.includes(event.to))
    return { undrained: [], reason: `${event.linkId} is ${event.to}: nothing to undrain` };
  const execution = `event:${event.eventId}`;
  const drains = await deps.runs.drainsOfLink(event.linkId);
  if (drains.length === 0) return { undrained: [], reason: `no VPN is drained because of ${event.linkId}` };
  // Read after the drains: a delivery clears drains only after its claim is written, so a drain
  // missing from the first read has its claim in this one.
  const claimedBy = new Map<string, UndrainClaim>();
  for (const c of await deps.runs.undrainClaims(event.linkId))
    if (c.execution !== execution) for (const ref of c.drains) claimedBy.set(ref, c);
  const open = drains.filter((d) => !claimedBy.has(drainRef(d)));
  const targets = undrainsForLink(event.linkId, open);
  if (targets.length === 0) {
    const by = [...new Set(drains.map((d) => claimedBy.get(drainRef(d))?.runId))].join(', ');
    return { undrained: [], reason: `the VPNs drained because of ${event.linkId} are undrained by ${by}` };
  }
  const at = Date.parse(event.time);
  const runId = vpnRunId(deps.installation, at);
  const now = iso(deps.clock.now());
  const undrain = await deps.runs.claimUndrain({
    linkId: event.linkId,
    drains: open.map(drainRef).sort(),
    runId,
    execution,
    claimedAt: now,
  });
  if (!undrain.claimed && undrain.existing.execution !== execution)
    return {
      runId: undrain.existing.runId,
      undrained: [],
      reason: `another delivery of ${event.linkId}'s weakening (${undrain.existing.execution}) undrains them in ${undrain.existing.runId}`,
    };
  const claim = await deps.runs.claim({
    runId,
    installation: deps.installation,
    scheduledAt: iso(at),
    trigger: 'link-state',
    requestedBy: deps.principal,
    apply: true,
    execution,
    claimedAt: now,
    status: 'claimed',
  });
  if (!claim.claimed && claim.existing.execution !== execution)
    return { runId, undrained: [], reason: `run ${runId} exists already (${claim.existing.execution})` };
  const run = { runId, plannedAt: now, requestedBy: deps.principal };
  await deps.bus.put(
    targets.map((t) =>
      runCommand(
        run,
        { vpnId: t.vpnId, action: 'undrain', gcpTunnels: t.gcpTunnels, awsRegion: t.awsRegion },
        {
          origin: deps.origin,
          clock: deps.clock,
        },
      ),
    ),
  );
  for (const d of open) await deps.runs.clearDrain(d);
  const header = await claimed(deps, runId);
  await deps.runs.saveHeader({
    ...header,
    status: 'reported',
    reportedAt: now,
    undrain: { linkId: event.linkId, to: event.to, vpns: targets.map((t) => t.vpnId) },
  });
  return {
    runId,
    undrained: targets.map((t) => t.vpnId),
    reason: `${event.linkId} is ${event.to}: undrained ${targets.length} VPN(s) drained because of it`,
  };
}

/**
 * A half's result, kept with the run that commanded it (runs of other producers are ignored). One
 * result is kept per VPN, action and side: a later answer replaces it, except that the answer of a
 * half that changed something stays (a duplicate command's `unchanged` or `gone` answer, delivered
 * after it or at the same time, says nothing new about what the run did): the store's conditional
 * write decides, so two answers handled at once cannot lose the `changed` one. A drain a half applied
 * (`changed`) moves its drain record's time to when it was applied, if later and the record is still
 * that run's: the VPN carried traffic until then, and the planner counts the idle window's traffic
 * and the cooling-off from the record's time.
 */
export async function recordResult(deps: VpnRunEventDeps, r: VpnRunResult): Promise<{ recorded: boolean }> {
  const h = await deps.runs.header(r.runId);
  if (!h) return { recorded: false };
  if (!(await deps.runs.putResult(r.runId, r))) return { recorded: false };
  if (r.action === 'drain' && r.outcome === 'changed')
    await deps.runs.moveDrain(r.vpnId, r.runId, iso(Date.parse(r.appliedAt)));
  return { recorded: true };
}

export type VpnRunStepInput =
  | ({ step: 'claim' } & Record<string, unknown>)
  | { step: 'request-peer' | 'plan' | 'report'; runId: string }
  | { step: 'peer-ready'; runId: string; attempts: number }
  | { step: 'emit'; runId: string; page: number };

const STEPS = ['claim', 'request-peer', 'peer-ready', 'plan', 'emit', 'report'];
const COORDINATION_STEPS = STEPS.filter((s) => s !== 'plan');

/** The input's run id, once its step is one of `steps`; each refusal names the field. */
function stepRun(input: unknown, steps: readonly string[]): { step: string; runId?: string } {
  const o = (input ?? {}) as Record<string, unknown>;
  if (!steps.includes(o.step as string))
    throw new ValidationError(
      [{ path: 'step', reason: `must be one of ${steps.join(', ')}` }],
      'VPN run step',
    );
  if (o.step === 'claim') return { step: 'claim' };
  if (typeof o.runId !== 'string' || !o.runId)
    throw new ValidationError([{ path: 'runId', reason: 'is required' }], 'VPN run step');
  return { step: o.step as string, runId: o.runId };
}

/**
 * Every step but the plan: `{step: "claim" | "request-peer" | "peer-ready" | "emit" | "report",
 * ...}`. It reaches no planner and no inventory (AWS's `stepVpnRun`; its plan is `stepVpnPlan`).
 */
export function vpnCoordinationStep(deps: VpnRunStepDeps, input: VpnRunStepInput): Promise<unknown> {
  const o = input as Record<string, unknown>;
  const { step, runId } = stepRun(o, COORDINATION_STEPS);
  if (step === 'claim' || runId === undefined) return claimRun(deps, o);
  switch (step) {
    case 'request-peer':
      return requestPeerInventory(deps, runId);
    case 'peer-ready':
      return peerInventoryReady(deps, runId, Number(o.attempts ?? 0));
    case 'emit':
      if (!Number.isInteger(o.page) || (o.page as number) < 0)
        throw new ValidationError([{ path: 'page', reason: 'must be a page number' }], 'VPN run step');
      return emitPage(deps, runId, o.page as number);
    default:
      return reportRun(deps, runId);
  }
}

/** The plan alone: `{step: "plan", runId}` (AWS's `stepVpnPlan`). */
export function vpnPlanStep(
  deps: VpnPlanDeps,
  input: { step: 'plan'; runId: string },
): Promise<{ pages: number[] }> {
  const { runId } = stepRun(input, ['plan']);
  return planClaimedRun(deps, runId as string);
}

/**
 * One step of the run's state machine or workflow: `{step: "claim" | "request-peer" | "peer-ready" |
 * "plan" | "emit" | "report", ...}`, each checked naming the bad field (Google's `vpn-run` function
 * answers them all).
 */
export function vpnRunStep(deps: VpnRunDeps, input: VpnRunStepInput): Promise<unknown> {
  const { step, runId } = stepRun(input, STEPS);
  return step === 'plan' ? planClaimedRun(deps, runId as string) : vpnCoordinationStep(deps, input);
}
