/**
 * The Google watcher: TransportManager emits no state events, so this side polls its own transports
 * (scheduled; every page of ListTransports over all locations of each project this side owns, the
 * calls spaced by a minimum interval) and also checks one transport early when its Admin Activity
 * audit-log entry arrives (log sink -> Pub/Sub). `watchHalves` (core) decides what really changed:
 * a transport missing from the list is gone only when a Get says 404; a transport in a location the
 * list called `unreachable` (or whose Get is 503) is unknown and its link is not touched. Each change
 * is recorded by the core's `recordOwnHalf`, which assigns the half's next sequence inside the
 * conditional write and emits `LinkSideStateChanged` only from the write that won, and the stage
 * waiting on it is resumed (`resume`: the core's `resumeWaiting` in the wiring).
 */

import { sleep as letTimePass } from '#core/clock.ts';
import { ValidationError } from '#core/errors.ts';
import { judgeHealth } from '#core/link/health.ts';
import type { LinkRecord } from '#core/link/model.ts';
import type { LinkDeps, WaitPhase } from '#core/link/ports.ts';
import { flushStaleOutboxes, recordOwnHalf } from '#core/link/record.ts';
import {
  healthShare,
  type KnownHalf,
  nothingWatched,
  type ObservedHalf,
  orphanSweepDue,
  recordHealth,
  scanOwnHalves,
  WATCHER_EVERY_MS,
  type WatchResult,
  watched,
  watchHalves,
} from '#core/link/watch.ts';
import type { TransportSessionReader } from './bgp-sessions.ts';
import { DeadlineExceeded, GoogleApiError, NotFound, Unavailable } from './google-errors.ts';
import { LINK_LABEL } from './labels.ts';
import type { Page, Transport } from './transport-client.ts';

/** The TransportManager reads the watcher makes (`TransportClient` has them). */
export interface TransportReader {
  listTransports(options: {
    pageSize?: number;
    pageToken?: string;
    location?: string;
  }): Promise<Page<Transport>>;
  getTransport(id: string): Promise<Transport>;
}

export interface GoogleWatchDeps extends LinkDeps {
  /** The projects whose transports this side owns: the hub project and the network projects. */
  projects: string[];
  /** A client for `(project, location)`; for a network project it impersonates its service account. */
  transports(project: string, location: string): TransportReader;
  /** Answers the callback of the stage waiting on `phases` when the link says the wait is over. */
  resume(link: LinkRecord, phases: WaitPhase[]): Promise<void>;
  /** Waits between two TransportManager calls (inject the virtual clock's in tests). */
  sleep?: (ms: number) => Promise<void>;
  /** At least this long between two TransportManager calls of one run (default 250 ms: 4 per second). */
  minCallIntervalMs?: number;
  /** ListTransports page size (default 100, the API's maximum). */
  pageSize?: number;
  /** The BGP sessions of a transport, for the link's health (absent: health not read). */
  bgp?: TransportSessionReader;
  /** How often a run with no link to watch still lists for orphans (absent: every run). */
  orphanSweepEveryMs?: number;
  /**
   * At most this many BGP session reads a run (`healthShare`: the next runs read the others).
   * Default: as many paced calls as fit in three quarters of the schedule's interval (180 at 250 ms
   * a call and a run a minute), so a run ends before the next starts.
   */
  healthReadsPerRun?: number;
}

export interface GoogleWatchReport {
  /** Links whose half changed and was recorded. */
  changed: string[];
  /** Transports no link record owns (billing unseen: report them). */
  orphans: string[];
  /** FAILED links whose transport is still there (compensation gave up): `linkId transportName`. */
  failedWithHalf: string[];
  /** Links whose transport could not be seen this round (unreachable location, Get 503). */
  unknown: string[];
  unchanged: number;
  /** TransportManager calls made (list pages and Gets). */
  calls: number;
  /** Projects that could not be listed this round (`<project>: <error>`): their links are unknown. */
  projectErrors: string[];
  /** Links whose health changed this round (`linkId status`). */
  health: string[];
  /** Links whose BGP sessions could not be read this round (`linkId: error`): their health stays. */
  healthErrors: string[];
}

/** The own-half waits a change of this side's transport can end. */
const PHASES_OF_OWN_HALF: WaitPhase[] = ['up', 'gone'];

const NAME = /^projects\/([^/]+)\/locations\/([^/]+)\/transports\/([^/]+)$/;

export function parseTransportName(
  name: string,
): { project: string; location: string; id: string } | undefined {
  const m = NAME.exec(name);
  return m ? { project: m[1] as string, location: m[2] as string, id: m[3] as string } : undefined;
}

/** `projects/p/locations/l`, the form `unreachable` names locations in. */
const locationOf = (name: string) => name.split('/').slice(0, 4).join('/');

/** A transport as `watchHalves` compares it. proto3 JSON omits `false`: no `adminEnabled` = disabled. */
export function observedOf(t: Transport): ObservedHalf {
  return {
    linkId: t.labels?.[LINK_LABEL] ?? parseTransportName(t.name)?.id,
    resourceId: t.name,
    nativeState: t.state ?? null,
    adminEnabled: t.adminEnabled === true,
    location: locationOf(t.name),
  };
}

function knownOf(link: LinkRecord, resourceId: string): KnownHalf {
  const h = link.halves.gcp;
  const k: KnownHalf = {
    linkId: link.id,
    resourceId,
    nativeState: h.nativeState,
    sequence: h.sequence,
    location: locationOf(resourceId),
  };
  if (h.adminEnabled !== undefined) k.adminEnabled = h.adminEnabled;
  return k;
}

/** Spaces calls by `minCallIntervalMs` on the deps' clock. */
function pacer(deps: GoogleWatchDeps) {
  const interval = deps.minCallIntervalMs ?? 250;
  const sleep = deps.sleep ?? letTimePass;
  let last: number | undefined;
  let calls = 0;
  return {
    get calls() {
      return calls;
    },
    async next() {
      if (last !== undefined) {
        const wait = last + interval - deps.clock.now();
        if (wait > 0) await sleep(wait);
      }
      last = deps.clock.now();
      calls++;
    },
  };
}

/** The scheduled poll: every transport of every owned project against every live link's Google half. */
export async function watchTransports(deps: GoogleWatchDeps): Promise<GoogleWatchReport> {
  const now = deps.clock.now();
  // Live links, and FAILED ones whose transport is still there (compensation gave up).
  const scan = await scanOwnHalves(deps.store, 'gcp', now, locationOf);
  const { known, stale, failed, creating } = scan;
  const pace = pacer(deps);
  // Nothing to watch and no orphan sweep due: the store's one read was the whole run.
  if (nothingWatched(scan) && !orphanSweepDue(now, deps.orphanSweepEveryMs))
    return {
      changed: [],
      orphans: [],
      failedWithHalf: [],
      unknown: [],
      unchanged: 0,
      calls: 0,
      projectErrors: [],
      health: [],
      healthErrors: [],
    };

  const listed: ObservedHalf[] = [];
  const unreachable = new Set<string>();
  const projectErrors: string[] = [];
  for (const project of deps.projects) {
    const client = deps.transports(project, '-');
    const fromProject: ObservedHalf[] = [];
    let pageToken: string | undefined;
    try {
      do {
        await pace.next();
        const page = await client.listTransports({
          location: '-',
          pageSize: deps.pageSize ?? 100,
          ...(pageToken ? { pageToken } : {}),
        });
        fromProject.push(...page.items.map(observedOf));
        for (const u of page.unreachable) unreachable.add(u);
        pageToken = page.nextPageToken;
      } while (pageToken);
      listed.push(...fromProject);
    } catch (e) {
      // A project that cannot be listed (impersonation refused, API down) holds unknown halves, not
      // gone ones: every location of its known halves counts as unreachable; the others go on.
      if (!(e instanceof GoogleApiError)) throw e;
      projectErrors.push(`${project}: ${e.message}`);
      for (const k of known) if (k.location?.startsWith(`projects/${project}/`)) unreachable.add(k.location);
    }
  }

  const unknown: string[] = [];
  const result = await watchHalves(
    {
      side: 'gcp',
      policyHash: deps.policy.hash,
      known,
      listed,
      unreachable: [...unreachable],
      creating,
      now,
    },
    async (k) => {
      await pace.next();
      return confirm(deps, k, unknown);
    },
  );
  const changed = await record(deps, result);
  // Events a failed put left in an outbox (after their state was written) go out now, same ids.
  await flushStaleOutboxes(deps, stale);
  const { health, healthErrors } = await observeHealth(deps, known, listed, pace);
  // A FAILED link's transport seen gone this round is no longer billing.
  for (const c of result.changes) if (c.nativeState === null) failed.delete(c.linkId);
  return {
    changed,
    orphans: result.orphans.map((o) => o.resourceId),
    failedWithHalf: [...failed].map(([linkId, name]) => `${linkId} ${name}`),
    unknown: [...result.unknown.map((k) => k.linkId), ...unknown],
    unchanged: result.unchanged - unknown.length,
    calls: pace.calls,
    projectErrors,
    health,
    healthErrors,
  };
}

/**
 * The data path of every watched link whose transport is listed ACTIVE and enabled: its BGP sessions
 * judged by the core's rules (docs/link-health.md) and recorded when the status changed. Each read is
 * one more paced call; past `healthReadsPerRun` links, a run reads its share (`healthShare`).
 */
async function observeHealth(
  deps: GoogleWatchDeps,
  known: readonly KnownHalf[],
  listed: readonly ObservedHalf[],
  pace: { next(): Promise<void> },
): Promise<{ health: string[]; healthErrors: string[] }> {
  const health: string[] = [];
  const healthErrors: string[] = [];
  if (!deps.bgp) return { health, healthErrors };
  const up = new Set(
    listed.filter((h) => h.nativeState === 'ACTIVE' && h.adminEnabled === true).map((h) => h.resourceId),
  );
  const budget =
    deps.healthReadsPerRun ?? Math.floor((0.75 * WATCHER_EVERY_MS) / (deps.minCallIntervalMs ?? 250));
  const share = healthShare(
    known.filter((k) => up.has(k.resourceId)),
    deps.clock.now(),
    budget,
  );
  for (const k of share) {
    try {
      await pace.next();
      const sessions = await deps.bgp.sessions(k.resourceId);
      // No router, or one without sessions: nothing to judge, said rather than silent
      // (bgp-sessions.ts reads the router named after the transport).
      if (sessions.length === 0) {
        healthErrors.push(`${k.linkId}: no BGP sessions found for transport ${k.resourceId}`);
        continue;
      }
      const judged = judgeHealth({ connectionUp: true, sessions });
      if (!judged) continue;
      const r = await recordHealth(deps, k.linkId, judged);
      if (r.ignored === undefined) health.push(`${k.linkId} ${judged.status}`);
    } catch (e) {
      // One link's failure (an API error, the network, a store conflict) leaves the others judged;
      // the next round tries it again.
      healthErrors.push(`${k.linkId}: ${(e as Error).message}`);
    }
  }
  return { health, healthErrors };
}

/**
 * A Get of a known half the list did not show: null on 404 (gone); when its location answers 503,
 * or its project is not one this side is configured for, it is unknown, reported as unchanged
 * (nothing is recorded) and named in `unknown`.
 */
async function confirm(deps: GoogleWatchDeps, k: KnownHalf, unknown: string[]): Promise<ObservedHalf | null> {
  const at = parseTransportName(k.resourceId);
  if (!at) throw new Error(`link ${k.linkId}: ${k.resourceId} is not a transport name`);
  const unchanged = () => {
    unknown.push(k.linkId);
    const same: ObservedHalf = { linkId: k.linkId, resourceId: k.resourceId, nativeState: k.nativeState };
    if (k.adminEnabled !== undefined) same.adminEnabled = k.adminEnabled;
    return same;
  };
  // A project no longer configured cannot be asked: its link is unknown, never gone.
  if (!deps.projects.includes(at.project)) return unchanged();
  try {
    return observedOf(await deps.transports(at.project, at.location).getTransport(at.id));
  } catch (e) {
    if (e instanceof NotFound) return null;
    if (e instanceof Unavailable || e instanceof DeadlineExceeded) return unchanged();
    throw e;
  }
}

/** Records each change through the core (next sequence, `LinkSideStateChanged`) and resumes the waits. */
async function record(deps: GoogleWatchDeps, result: WatchResult): Promise<string[]> {
  const changed: string[] = [];
  for (const c of result.changes) {
    const out = await recordOwnHalf(deps, {
      linkId: c.linkId,
      nativeState: c.nativeState,
      ...(c.adminEnabled !== undefined ? { adminEnabled: c.adminEnabled } : {}),
      ...(c.resourceId !== undefined && c.nativeState !== null ? { resourceId: c.resourceId } : {}),
    });
    if (out.ignored === undefined) changed.push(c.linkId);
    // Even when another run recorded it first: answering a callback is idempotent (one taker).
    await deps.resume(out.link, PHASES_OF_OWN_HALF);
  }
  return changed;
}

// ---- audit-log trigger ---------------------------------------------------------------------------

/** The Pub/Sub message a log sink publishes: `data` is the LogEntry's JSON (base64 in a push). */
export interface PubSubMessage {
  data?: string | Uint8Array | null;
  attributes?: Record<string, string>;
  messageId?: string;
}

export interface AuditCheckOutcome {
  outcome: 'checked' | 'ignored';
  reason: string;
  linkId?: string;
  changed?: boolean;
}

const TRANSPORT_WRITE = /\.TransportManager\.(CreateTransport|UpdateTransport|DeleteTransport)$/;

/** The transport an Admin Activity entry names, or why the entry is not one the watcher acts on. */
export function transportOfAuditEntry(message: PubSubMessage): { name: string } | { ignored: string } {
  let entry: {
    protoPayload?: {
      serviceName?: unknown;
      methodName?: unknown;
      resourceName?: unknown;
      status?: { code?: unknown };
    };
  };
  try {
    const raw = message.data ?? '';
    const text =
      typeof raw === 'string'
        ? Buffer.from(raw, 'base64').toString('utf8')
        : Buffer.from(raw).toString('utf8');
    entry = JSON.parse(text);
  } catch {
    throw new ValidationError(
      [{ path: 'message.data', reason: 'is not a base64 JSON LogEntry' }],
      'audit message',
    );
  }
  const p = entry?.protoPayload;
  if (typeof p !== 'object' || p === null)
    throw new ValidationError([{ path: 'message.data.protoPayload', reason: 'is missing' }], 'audit message');
  if (
    p.serviceName !== 'networkconnectivity.googleapis.com' ||
    typeof p.methodName !== 'string' ||
    !TRANSPORT_WRITE.test(p.methodName)
  )
    return { ignored: `not a TransportManager write: ${String(p.methodName)}` };
  if (typeof p.status?.code === 'number' && p.status.code !== 0)
    return { ignored: `the call failed (code ${p.status.code}): nothing changed` };
  if (typeof p.resourceName !== 'string' || !parseTransportName(p.resourceName))
    return { ignored: `resourceName ${String(p.resourceName)} is not a transport` };
  return { name: p.resourceName };
}

/**
 * The early check an audit-log entry triggers: Get that one transport and record a change of its
 * link's half, as the scheduled poll would. Malformed messages throw ValidationError (the entry
 * point acknowledges and logs them: a redelivery cannot fix them); entries about other calls are
 * ignored with the reason.
 */
export async function onTransportAuditEntry(
  deps: GoogleWatchDeps,
  message: PubSubMessage,
): Promise<AuditCheckOutcome> {
  const found = transportOfAuditEntry(message);
  if ('ignored' in found) return { outcome: 'ignored', reason: found.ignored };
  return checkTransport(deps, found.name);
}

/** Checks one transport (by full name) against its link (the transport id is the link id). */
export async function checkTransport(deps: GoogleWatchDeps, name: string): Promise<AuditCheckOutcome> {
  const at = parseTransportName(name);
  if (!at) throw new ValidationError([{ path: 'name', reason: 'is not a transport name' }], 'transport');
  const stored = await deps.store.get(at.id);
  if (!stored)
    return { outcome: 'ignored', reason: `no link ${at.id}: not crosslink's (the poll reports orphans)` };
  const link = stored.link;
  if (!watched(link, 'gcp')) return { outcome: 'ignored', linkId: link.id, reason: `link is ${link.state}` };
  const known = knownOf(link, link.halves.gcp.resourceId ?? name);
  let seen: ObservedHalf | null;
  try {
    seen = observedOf(await deps.transports(at.project, at.location).getTransport(at.id));
  } catch (e) {
    if (e instanceof NotFound) seen = null;
    else if (e instanceof Unavailable || e instanceof DeadlineExceeded)
      return {
        outcome: 'ignored',
        linkId: link.id,
        reason: `${locationOf(name)} is unavailable: state unknown`,
      };
    else throw e;
  }
  const result = await watchHalves(
    {
      side: 'gcp',
      policyHash: deps.policy.hash,
      known: [known],
      listed: seen ? [seen] : [],
      now: deps.clock.now(),
    },
    async () => null, // not listed = the Get above said 404
  );
  const changed = await record(deps, result);
  return {
    outcome: 'checked',
    linkId: link.id,
    changed: changed.length > 0,
    reason: seen
      ? `transport is ${seen.nativeState}${seen.adminEnabled ? '' : ' (disabled)'}`
      : 'transport is gone (404)',
  };
}
