/**
 * Watch: no state machine or workflow step calls it; each cloud's scheduled watcher (the AWS
 * `watcher` Lambda, the Google `watcher` function) and its audit-log trigger do. The state
 * watcher's decision, shared by both clouds: neither provider emits state events, so each
 * cloud polls its own halves and reports only real changes.
 *
 * Main course: compare what the provider lists with what the store knows -> a half that changed gets
 * the next sequence number and a `LinkSideStateChanged`. A known half missing from the list is
 * confirmed with a Get (absence from a list is not deletion: 404 is); a half in a region the list
 * called `unreachable` is unknown and left alone. A listed half no record knows is an orphan,
 * reported so that nothing bills unseen.
 *
 * The `sequence` of a change here is computed from the snapshot the watcher read; record it with
 * `recordOwnHalf`, which assigns the sequence inside the conditional write, so two overlapping runs
 * (the schedule and an audit-log trigger) cannot publish one sequence with two states. The data
 * path's health the watchers judge is recorded by `recordHealth`.
 */
import type { Cloud } from '../envelope.ts';
import type { LinkSideStateChangedData } from '../events/catalog.ts';
import type { HealthJudgement } from './health.ts';
import { conditionOf, type LinkRecord, type NativeState, TERMINAL_STATES } from './model.ts';
import type { LinkDeps, LinkStore } from './ports.ts';
import { flushOutbox, iso, type MutateResult, mutateLink } from './record.ts';

/**
 * A FAILED link whose `side` half is still there: compensation gave up (or could not delete), so it
 * bills with nobody watching unless the watcher keeps it in view and reports it as an orphan.
 */
export function billingAfterFailure(link: LinkRecord, side: Cloud): boolean {
  const h = link.halves[side];
  return (
    link.state === 'FAILED' && h.resourceId !== undefined && h.condition !== 'GONE' && h.condition !== 'NONE'
  );
}

/** Whether the watcher keeps `side`'s half of `link` in view: every live link, and a FAILED one still billing. */
export function watched(link: LinkRecord, side: Cloud): boolean {
  return !TERMINAL_STATES.has(link.state) || billingAfterFailure(link, side);
}

/** A half as the provider shows it. */
export interface ObservedHalf {
  linkId: string | undefined;
  resourceId: string;
  nativeState: NativeState | null;
  adminEnabled?: boolean;
  sharedId?: string;
  /** Google location or AWS region, to match `unreachable`. */
  location?: string;
}

/** A half as this side's store knows it. */
export interface KnownHalf {
  linkId: string;
  resourceId: string;
  nativeState: NativeState | null;
  adminEnabled?: boolean;
  sharedId?: string;
  sequence: number;
  location?: string;
}

export interface WatchInput {
  side: Cloud;
  policyHash: string;
  known: KnownHalf[];
  listed: ObservedHalf[];
  /** Locations the list could not reach (Google `unreachable`). */
  unreachable?: string[];
  /**
   * Live links with no half recorded on this side yet (`scanOwnHalves`): a listed half labelled
   * with one of them is that link's create call, answered but not yet recorded, not an orphan.
   */
  creating?: ReadonlySet<string>;
  now: number;
}

export interface WatchResult {
  changes: LinkSideStateChangedData[];
  /** Listed halves no link record owns. */
  orphans: ObservedHalf[];
  /** Known halves whose state could not be known this round (unreachable location). */
  unknown: KnownHalf[];
  /** Known halves confirmed unchanged. */
  unchanged: number;
}

/** Gets one half by id; `null` when the provider says it does not exist (404). */
export type ConfirmHalf = (known: KnownHalf) => Promise<ObservedHalf | null>;

export async function watchHalves(input: WatchInput, confirm: ConfirmHalf): Promise<WatchResult> {
  const byResource = new Map(input.listed.map((o) => [o.resourceId, o]));
  const knownIds = new Set(input.known.map((k) => k.resourceId));
  const unreachable = new Set(input.unreachable ?? []);
  const result: WatchResult = { changes: [], orphans: [], unknown: [], unchanged: 0 };
  const at = new Date(input.now).toISOString();

  for (const k of [...input.known].sort((a, b) => a.linkId.localeCompare(b.linkId))) {
    let seen = byResource.get(k.resourceId);
    if (!seen) {
      if (k.location !== undefined && unreachable.has(k.location)) {
        result.unknown.push(k);
        continue;
      }
      if (k.nativeState === null) {
        result.unchanged++; // already recorded as gone
        continue;
      }
      seen = (await confirm(k)) ?? { linkId: k.linkId, resourceId: k.resourceId, nativeState: null };
    }
    const changed =
      seen.nativeState !== k.nativeState ||
      (seen.adminEnabled !== undefined && seen.adminEnabled !== k.adminEnabled) ||
      (seen.sharedId !== undefined && seen.sharedId !== k.sharedId);
    if (!changed) {
      result.unchanged++;
      continue;
    }
    const data: LinkSideStateChangedData = {
      linkId: k.linkId,
      policyHash: input.policyHash,
      side: input.side,
      sequence: k.sequence + 1,
      nativeState: seen.nativeState,
      previousNativeState: k.nativeState,
      condition: conditionOf(input.side, seen.nativeState, seen.adminEnabled),
      resourceId: k.resourceId,
      observedAt: at,
    };
    if (seen.sharedId !== undefined) data.sharedId = seen.sharedId;
    if (seen.adminEnabled !== undefined) data.adminEnabled = seen.adminEnabled;
    result.changes.push(data);
  }
  for (const o of input.listed) {
    if (knownIds.has(o.resourceId) || o.nativeState === 'deleted') continue;
    if (o.linkId !== undefined && input.creating?.has(o.linkId)) continue;
    result.orphans.push(o);
  }
  return result;
}

/** What one watcher run found in the store (`scanOwnHalves`). */
export interface OwnHalvesScan {
  /** This side's halves to compare with the provider. */
  known: KnownHalf[];
  /** Links whose outbox still holds events (to flush). */
  stale: LinkRecord[];
  /** FAILED links whose half is still there, by link id: the half's resource id. */
  failed: Map<string, string>;
  /** Live links with no half here yet. */
  creating: Set<string>;
  /** Links a run may be parked on (`mayBeWaiting`): a watcher run does not stop early while there are any. */
  waiting: LinkRecord[];
}

/** How long after a link's last move a run may still be parked on it: the workflows' longest fallback poll (6 hours). */
export const RESUME_WINDOW_MS = 6 * 3_600_000;

/**
 * Whether a run of `link` may be parked on a wait: a link not yet live nor ended, or one that moved
 * within `RESUME_WINDOW_MS` (a provisioning whose link just went ACTIVE).
 */
export function mayBeWaiting(link: LinkRecord, now: number): boolean {
  if (TERMINAL_STATES.has(link.state)) return false;
  if (!LIVE_STATES.includes(link.state)) return true;
  const last = link.stages.at(-1);
  return last !== undefined && now - Date.parse(last.at) < RESUME_WINDOW_MS;
}

/** How often the watchers are scheduled (serverless.yml `WatcherSchedule`, gcp.yml `crosslink-watcher`). */
export const WATCHER_EVERY_MS = 60_000;

/**
 * Whether a run that found nothing to watch must still list the provider, to report halves no link
 * owns (orphans): once in every `everyMs` window of the clock, the run that falls in its first
 * `scheduleMs` (runs come every `scheduleMs`, so one does). Absent `everyMs`, every run lists.
 */
export function orphanSweepDue(
  now: number,
  everyMs: number | undefined,
  scheduleMs: number = WATCHER_EVERY_MS,
): boolean {
  return everyMs === undefined || everyMs <= scheduleMs || now % everyMs < scheduleMs;
}

/**
 * The share of `items` (in the store's order) whose data path one run reads when each read is a
 * paced call: all of them up to `budget`, else `budget` of them, a different slice each run (by the
 * run's place in the schedule), so each is read once every ceil(n / budget) runs and a run's reads
 * end within its interval, whatever the number of links.
 */
export function healthShare<T>(
  items: readonly T[],
  now: number,
  budget: number,
  scheduleMs: number = WATCHER_EVERY_MS,
): T[] {
  if (items.length <= budget) return [...items];
  const start = (Math.floor(now / scheduleMs) * budget) % items.length;
  return Array.from({ length: budget }, (_, i) => items[(start + i) % items.length] as T);
}

/** Whether a scan leaves a run nothing to do but the orphan sweep: no half, no create, no outbox, no wait. */
export function nothingWatched(scan: OwnHalvesScan): boolean {
  return (
    scan.known.length === 0 &&
    scan.creating.size === 0 &&
    scan.stale.length === 0 &&
    scan.waiting.length === 0
  );
}

/**
 * What a watcher run compares the provider against, read page by page from the store: this side's
 * halves it knows of (live links, and FAILED ones whose half is still there: compensation gave up),
 * the links whose outbox still holds events (to flush), those FAILED links by resource id (to
 * report as billing), the live links with no half here yet (`creating`) and the links a run may be
 * parked on (`waiting`, as of `now`). `locate` names a half's location where the provider
 * lists by location.
 */
export async function scanOwnHalves(
  store: Pick<LinkStore, 'list'>,
  side: Cloud,
  now: number,
  locate?: (resourceId: string) => string,
): Promise<OwnHalvesScan> {
  const known: KnownHalf[] = [];
  const stale: LinkRecord[] = [];
  const failed = new Map<string, string>();
  const creating = new Set<string>();
  const waiting: LinkRecord[] = [];
  let cursor: string | undefined;
  do {
    const page = await store.list({ limit: 100, ...(cursor ? { cursor } : {}) });
    for (const l of page.items) {
      if (l.outbox?.length) stale.push(l);
      if (mayBeWaiting(l, now)) waiting.push(l);
      const h = l.halves[side];
      if (!h.resourceId && !TERMINAL_STATES.has(l.state)) creating.add(l.id);
      if (!h.resourceId || !watched(l, side)) continue;
      if (l.state === 'FAILED') failed.set(l.id, h.resourceId);
      const k: KnownHalf = {
        linkId: l.id,
        resourceId: h.resourceId,
        nativeState: h.nativeState,
        sequence: h.sequence,
      };
      if (h.sharedId) k.sharedId = h.sharedId;
      if (h.adminEnabled !== undefined) k.adminEnabled = h.adminEnabled;
      if (locate) k.location = locate(h.resourceId);
      known.push(k);
    }
    cursor = page.cursor;
  } while (cursor);
  return { known, stale, failed, creating, waiting };
}

/**
 * Records the data path's health as this side's watcher judged it (`judgeHealth`). Only a change of
 * status is written, so a watcher that sees the same sessions every interval emits nothing; a change
 * moves the link (ACTIVE / DEGRADED / DOWN) and its `LinkStateChanged` goes out once, from the write
 * that won. Links that are not live (not yet up, decommissioning) ignore health.
 */
export async function recordHealth(
  deps: LinkDeps,
  linkId: string,
  judged: HealthJudgement,
): Promise<MutateResult> {
  const result = await mutateLink(deps, linkId, (link) =>
    !LIVE_STATES.includes(link.state) || link.health.status === judged.status
      ? undefined
      : { kind: 'healthObserved', status: judged.status, detail: judged.detail, at: iso(deps.clock.now()) },
  );
  if (result.ignored === undefined) await flushOutbox(deps, linkId);
  return result;
}

const LIVE_STATES: readonly string[] = ['ACTIVE', 'DEGRADED', 'DOWN'];
