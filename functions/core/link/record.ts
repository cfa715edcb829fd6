/**
 * The record of a link, as every stage writes it: read, run the pure `transition`, write back
 * conditionally (retrying a lost race). The events a change causes are written in the same item
 * (`outbox`) and then put on this cloud's bus; `flushOutbox` re-puts whatever a crash left there,
 * with the same event ids, so a retried call loses nothing and receivers deduplicate what arrives
 * twice. `recordOwnHalf` is the one way either side records what it observed of its own half: the
 * provisioning and decommissioning steps and both clouds' watchers call it.
 */

import { buildEvent, type CloudEvent } from '../envelope.ts';
import { ConflictError, NotFoundError } from '../errors.ts';
import type { EventDataByName, LinkEventName } from '../events/catalog.ts';
import type { EventCheck } from '../events/checks.ts';
import * as checks from '../events/checks.ts';
import { checkEventData } from '../events/schemas.ts';
import type { Cloud, LinkRecord, NativeState } from './model.ts';
import type { AuditEntry, LinkDeps, OwnHalfView, StoredLink } from './ports.ts';
import { type LinkInput, type TransitionResult, transition } from './transition.ts';

const MAX_RACES = 8;

export const iso = (ms: number) => new Date(ms).toISOString();

/**
 * An event of this side, its data checked against the catalog first: an event the peer would refuse
 * fails here, where it is made, not as a dead letter on the other cloud.
 */
export function emit<N extends LinkEventName>(
  deps: LinkDeps,
  event: EventCheck<N>,
  data: EventDataByName[N],
  traceparent?: string,
): CloudEvent<EventDataByName[N]> {
  checkEventData(event, data);
  const input: Parameters<typeof buildEvent<EventDataByName[N]>>[0] = {
    name: event.name,
    origin: deps.origin,
    subject: data.linkId,
    data,
    clock: deps.clock,
  };
  if (traceparent) input.traceparent = traceparent;
  return buildEvent(input);
}

export async function audit(deps: LinkDeps, entry: Omit<AuditEntry, 'at' | 'policyHash'>): Promise<void> {
  await deps.store.appendAudit({ ...entry, at: iso(deps.clock.now()), policyHash: deps.policy.hash });
}

/** `LinkStateChanged` for each move, stamped with the policy this side runs now (not the link's original one). */
function stateEvents(deps: LinkDeps, result: TransitionResult, traceparent?: string): CloudEvent[] {
  return result.events.map((e) =>
    emit(deps, checks.LinkStateChanged, { ...e.data, policyHash: deps.policy.hash }, traceparent),
  );
}

export interface MutateResult extends TransitionResult {
  version: number;
}

/**
 * Reads, transitions and conditionally writes one link, retrying when another writer won the race.
 * `input` may be computed from the fresh record (undefined: nothing to do). The events of the change
 * (its `LinkStateChanged`s plus `extra(result)`) go into the record's outbox in the same write; call
 * `flushOutbox` to put them. Nothing is written when the transition ignores the input.
 */
export async function mutateLink(
  deps: LinkDeps,
  linkId: string,
  input: LinkInput | ((link: LinkRecord) => LinkInput | undefined),
  options: { extra?: (result: TransitionResult) => CloudEvent[]; traceparent?: string } = {},
): Promise<MutateResult> {
  for (let attempt = 1; ; attempt++) {
    const stored = await deps.store.get(linkId);
    if (!stored) throw new NotFoundError(`link ${linkId} does not exist`);
    const command = typeof input === 'function' ? input(stored.link) : input;
    if (command === undefined)
      return { link: stored.link, events: [], ignored: 'no change', version: stored.version };
    const result = transition(stored.link, command, deps.clock.now());
    if (result.ignored !== undefined) return { ...result, version: stored.version };
    const events = [...(options.extra?.(result) ?? []), ...stateEvents(deps, result, options.traceparent)];
    const next: LinkRecord = { ...result.link, outbox: [...(stored.link.outbox ?? []), ...events] };
    try {
      const written = await deps.store.update(next, stored.version);
      return { ...result, link: written.link, version: written.version };
    } catch (e) {
      if (!(e instanceof ConflictError) || attempt >= MAX_RACES) throw e;
    }
  }
}

/**
 * Puts the link's pending events on the bus, then removes them from the outbox. If the put fails the
 * events stay, and the next call for this link puts them again (same ids).
 */
export async function flushOutbox(deps: LinkDeps, linkId: string): Promise<void> {
  const stored = await deps.store.get(linkId);
  const pending = stored?.link.outbox ?? [];
  if (!stored || pending.length === 0) return;
  await deps.events.put(pending);
  const sent = new Set(pending.map((e) => e.id));
  for (let attempt = 1, cur: StoredLink | undefined = stored; cur; attempt++) {
    const rest = (cur.link.outbox ?? []).filter((e) => !sent.has(e.id));
    try {
      await deps.store.update({ ...cur.link, outbox: rest }, cur.version);
      return;
    } catch (e) {
      if (!(e instanceof ConflictError) || attempt >= MAX_RACES) throw e;
      cur = await deps.store.get(linkId);
    }
  }
}

/**
 * Puts what earlier runs left in the outboxes of `links` (a put that failed after its write): the
 * watcher calls it on every link it lists, so an event is delivered even if no step runs again.
 * A link whose put fails again keeps its outbox for the next run; the others still go out.
 */
export async function flushStaleOutboxes(deps: LinkDeps, links: LinkRecord[]): Promise<string[]> {
  const failed: string[] = [];
  for (const l of links) {
    if (!l.outbox?.length) continue;
    try {
      await flushOutbox(deps, l.id);
    } catch {
      failed.push(l.id);
    }
  }
  return failed;
}

/** What this side observed of its own half; `nativeState` null: the provider said 404 (confirmed gone). */
export interface OwnHalfObservation {
  linkId: string;
  nativeState: NativeState | null;
  adminEnabled?: boolean;
  resourceId?: string;
  sharedId?: string;
}

/** A half as a provider call returned it (null: gone), as an observation of `linkId`'s own half. */
export function observationOf(linkId: string, half: OwnHalfView | null): OwnHalfObservation {
  const obs: OwnHalfObservation = { linkId, nativeState: half?.state ?? null };
  if (half) obs.resourceId = half.connectionId;
  if (half?.sharedId) obs.sharedId = half.sharedId;
  if (half?.adminEnabled !== undefined) obs.adminEnabled = half.adminEnabled;
  return obs;
}

/**
 * Records what this side observed of its own half (a step, or either cloud's watcher). The sequence
 * is assigned inside the conditional write from the stored half, so two overlapping runs cannot
 * publish the same sequence with different states; `LinkSideStateChanged` (built from the record
 * the write produced), any `LinkStateChanged` and `extra` go into the outbox in that write, then
 * the outbox is flushed. A failed put leaves them there for the next flush (same ids).
 *
 * Nothing is written when the observation says nothing new (the same state, admin switch and ids
 * as recorded), unless it carries events of its own (`extra`, written with the observation), which must go out.
 *
 * `observedBefore` (a step that created the half: its sequence before the provider call) keeps a
 * step's snapshot from undoing a newer observation: the provider's answer to a create is read when
 * the call began, while the audit-log watcher may already have recorded the same resource further
 * along (ACTIVE while the create's answer still says PENDING_CONFIG); writing the snapshot over it
 * would flap the link ACTIVE -> DOWN. Then the record stands (the watcher keeps observing).
 */
export async function recordOwnHalf(
  deps: LinkDeps,
  obs: OwnHalfObservation,
  options: { extra?: CloudEvent[]; observedBefore?: number } = {},
): Promise<MutateResult> {
  const side = deps.origin.cloud;
  let previous: NativeState | null = null;
  const result = await mutateLink(
    deps,
    obs.linkId,
    (link) => {
      const h = link.halves[side];
      if (staleSnapshot(h, obs, options.observedBefore) || (!options.extra && sameAsRecorded(h, obs)))
        return undefined;
      previous = h.nativeState;
      const input: LinkInput = {
        kind: 'halfObserved',
        side,
        sequence: h.sequence + 1,
        nativeState: obs.nativeState,
      };
      if (obs.adminEnabled !== undefined) input.adminEnabled = obs.adminEnabled;
      if (obs.resourceId !== undefined) input.resourceId = obs.resourceId;
      if (obs.sharedId !== undefined) input.sharedId = obs.sharedId;
      return input;
    },
    {
      extra: (r) => [
        ...(options.extra ?? []),
        emit(deps, checks.LinkSideStateChanged, sideData(deps, r, previous)),
      ],
    },
  );
  await flushOutbox(deps, obs.linkId);
  return result;
}

type RecordedHalf = LinkRecord['halves'][Cloud];

/** A step's snapshot of a half the record already knows at a later sequence. */
function staleSnapshot(
  h: RecordedHalf,
  obs: OwnHalfObservation,
  observedBefore: number | undefined,
): boolean {
  return (
    observedBefore !== undefined &&
    h.sequence > observedBefore &&
    obs.resourceId !== undefined &&
    h.resourceId === obs.resourceId
  );
}

/** Whether the observation says what the record says already (a half observed at least once). */
function sameAsRecorded(h: RecordedHalf, obs: OwnHalfObservation): boolean {
  return (
    h.sequence > 0 &&
    h.nativeState === obs.nativeState &&
    (obs.adminEnabled === undefined || obs.adminEnabled === h.adminEnabled) &&
    (obs.sharedId === undefined || obs.sharedId === h.sharedId) &&
    (obs.resourceId === undefined || obs.resourceId === h.resourceId)
  );
}

function sideData(
  deps: LinkDeps,
  result: TransitionResult,
  previous: NativeState | null,
): EventDataByName['LinkSideStateChanged'] {
  const side = deps.origin.cloud;
  const h = result.link.halves[side];
  const data: EventDataByName['LinkSideStateChanged'] = {
    linkId: result.link.id,
    policyHash: deps.policy.hash,
    side,
    sequence: h.sequence,
    nativeState: h.nativeState,
    previousNativeState: previous,
    condition: h.condition,
    observedAt: iso(deps.clock.now()),
  };
  if (h.resourceId) data.resourceId = h.resourceId;
  if (h.sharedId) data.sharedId = h.sharedId;
  if (h.adminEnabled !== undefined) data.adminEnabled = h.adminEnabled;
  return data;
}
