/**
 * The link use cases every intake and event consumer runs, on either cloud: request, approve or
 * reject, decommission, record this side's own half, and apply a peer's event to this side's record.
 *
 * Each reads the record, runs the pure `transition`, and writes it back conditionally (retrying a lost
 * race). The events a change causes are written in the same item (`outbox`) and then put on this
 * cloud's bus; `flushOutbox` re-puts whatever a crash left there, with the same event ids, so a retried
 * call loses nothing and receivers deduplicate what arrives twice. Every step is idempotent.
 */

import { buildEvent, type CloudEvent, parseEventType } from '../envelope.ts';
import {
  ConflictError,
  IllegalTransitionError,
  NotFoundError,
  PermissionDeniedError,
  PolicyHashMismatchError,
  PolicyRefusedError,
  ValidationError,
} from '../errors.ts';
import {
  type EventDataByName,
  type EventName,
  isLinkEvent,
  type LinkEventName,
  type LinkSideStateChangedData,
} from '../events/catalog.ts';
import type { EventCheck } from '../events/checks.ts';
import * as checks from '../events/checks.ts';
import { checkEventData, parseEventData } from '../events/schemas.ts';
import { isLinkId, mintLinkId } from '../ids.ts';
import { canonicalHash, identityOf } from '../policy/policy.ts';
import { canonicalAwsPrincipal, cloudOfPrincipal, matchesPrincipal } from '../policy/principals.ts';
import { type LinkRequest, parseLinkRequest } from '../policy/request.ts';
import { approverDecision, type Evaluation, evaluatePolicy } from '../policy/rules.ts';
import type { HealthJudgement } from './health.ts';
import { type Cloud, conditionOf, type LinkRecord, type NativeState } from './model.ts';
import type { AuditEntry, LinkDeps, StoredLink } from './ports.ts';
import { createLink, type LinkInput, type TransitionResult, transition } from './transition.ts';

const DAY = 86_400_000;
const MAX_RACES = 8;

export interface Caller {
  /** The verified principal: an IAM principal ARN or a Google account email. */
  principal: string;
  /** The cloud whose intake verified it. */
  side: Cloud;
}

const iso = (ms: number) => new Date(ms).toISOString();

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

async function audit(deps: LinkDeps, entry: Omit<AuditEntry, 'at' | 'policyHash'>): Promise<void> {
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

// ---- request -----------------------------------------------------------------------------------

export interface RequestLinkInput {
  /** The request as parsed from the caller's body (validated here). */
  request: unknown;
  caller: Caller;
  /** The caller's retry key (e.g. an `Idempotency-Key` header): the same key and body return the same link. */
  idempotencyKey?: string;
  traceparent?: string;
}

export interface RequestLinkOutput {
  link: LinkRecord;
  /** The request as validated (bandwidth in one spelling): what the stages run with. */
  request: LinkRequest;
  /** Absent when an earlier call with the same idempotency key had already made the link. */
  evaluation?: Evaluation;
  /** False when an earlier call with the same idempotency key already made this link. */
  created: boolean;
}

/**
 * Accepts a link request from its verified caller.
 * Main course: validate -> (idempotency: the same key and body return the earlier link, not
 * re-judged) -> judge by policy (with live capacity when a probe is given) -> mint the id -> store
 * REQUESTED with `LinkRequested` (and `LinkApproved` for both sides when policy auto-approves) in the
 * outbox -> audit -> put the events.
 * Errors: ValidationError (malformed, or a key reused with another body), PolicyRefusedError.
 */
export async function requestLink(deps: LinkDeps, input: RequestLinkInput): Promise<RequestLinkOutput> {
  const request = parseLinkRequest(input.request);
  const misplaced = deps.placement?.(request) ?? [];
  if (misplaced.length > 0) throw new ValidationError(misplaced, 'request');
  let linkId = mintLinkId(deps.clock);
  if (input.idempotencyKey) {
    const fingerprint = canonicalHash(request);
    const claim = await deps.store.claim(
      `request:${canonicalAwsPrincipal(input.caller.principal)}:${input.idempotencyKey}`,
      deps.clock.now() + (deps.idempotencyTtlMs ?? DAY),
      { linkId, fingerprint },
    );
    if (!claim.claimed) {
      const earlier = claim.result as { linkId: string; fingerprint: string };
      if (earlier.fingerprint !== fingerprint) {
        throw new ValidationError([
          {
            path: 'idempotencyKey',
            reason: `was used for a different request (link ${earlier.linkId}); use a new key`,
          },
        ]);
      }
      const existing = await deps.store.get(earlier.linkId);
      if (existing) {
        await flushOutbox(deps, earlier.linkId);
        return { link: existing.link, request, created: false };
      }
      linkId = earlier.linkId; // refused, or crashed before the write: judge again, under the same id
    }
  }
  const live = deps.capacity ? await deps.capacity.check(request) : undefined;
  const evaluation = evaluatePolicy(deps.policy, request, {
    requester: input.caller,
    ...(live ? { live } : {}),
  });
  if (!evaluation.accepted) {
    const reasons = evaluation.decisions.filter((d) => !d.ok).map((d) => `${d.rule}: ${d.message}`);
    throw new PolicyRefusedError(reasons);
  }
  const now = deps.clock.now();
  const events: CloudEvent[] = [
    emit(
      deps,
      checks.LinkRequested,
      {
        linkId,
        policyHash: deps.policy.hash,
        request,
        requester: input.caller.principal,
        requestedVia: input.caller.side,
        requestedAt: iso(now),
      },
      input.traceparent,
    ),
  ];
  const link = newRecord(deps, linkId, request, input.caller.principal, now, evaluation.autoApproved);
  if (evaluation.autoApproved) {
    for (const side of ['aws', 'gcp'] as const) {
      events.push(
        emit(
          deps,
          checks.LinkApproved,
          { linkId, policyHash: deps.policy.hash, side, approver: AUTO, approvedAt: iso(now), auto: true },
          input.traceparent,
        ),
      );
    }
  }
  let created = true;
  try {
    await deps.store.create({ ...link, outbox: events });
  } catch (e) {
    if (!(e instanceof ConflictError)) throw e;
    created = false; // a concurrent retry with the same key made it first
  }
  await audit(deps, {
    linkId,
    actor: input.caller.principal,
    action: 'request',
    outcome: 'allowed',
    reasons: evaluation.decisions.map((d) => `${d.rule}: ${d.message}`),
  });
  await flushOutbox(deps, linkId);
  const stored = await deps.store.get(linkId);
  return { link: stored?.link ?? link, request, evaluation, created };
}

const AUTO = 'policy:auto-approve';

/** A new REQUESTED record; with `autoApproved`, approved on both sides by policy. */
function newRecord(
  deps: LinkDeps,
  linkId: string,
  request: LinkRequest,
  requester: string,
  at: number,
  autoApproved: boolean,
): LinkRecord {
  let link = createLink(
    {
      id: linkId,
      name: request.name,
      initiator: request.initiator,
      environment: request.environment,
      requester,
      requesterIdentity: identityOf(deps.policy, canonicalAwsPrincipal(requester)),
      bandwidth: request.bandwidth,
      policyHash: deps.policy.hash,
    },
    at,
  );
  if (autoApproved) {
    for (const side of ['aws', 'gcp'] as const)
      link = transition(link, { kind: 'approve', side, by: AUTO }, at).link;
  }
  return link;
}

// ---- approve / reject --------------------------------------------------------------------------

/** The link after a decision; `unchanged` says why when the link already held that decision. */
export interface DecidedLink extends StoredLink {
  unchanged?: string;
}

function decided(result: { link: LinkRecord; version: number; ignored?: string }): DecidedLink {
  return {
    link: result.link,
    version: result.version,
    ...(result.ignored !== undefined ? { unchanged: result.ignored } : {}),
  };
}

export interface DecideInput {
  linkId: string;
  /** The approver; the side approved for is the side of the intake that verified them. */
  caller: Caller;
  decision: 'approve' | 'reject';
  reason?: string;
  traceparent?: string;
}

/**
 * Records this side's approval or rejection by a verified approver.
 * Main course: check the approver's role for this side (never the requester) -> transition -> write
 * with `LinkApproved` / `LinkRejected` and any `LinkStateChanged` -> audit -> put the events.
 * A decision the link already holds for this side changes nothing and says so (`unchanged`).
 * Errors: NotFoundError, PermissionDeniedError (audited), IllegalTransitionError, ValidationError.
 */
export async function decideApproval(deps: LinkDeps, input: DecideInput): Promise<DecidedLink> {
  if (!isLinkId(input.linkId)) throw new ValidationError([{ path: 'linkId', reason: 'is not a link id' }]);
  if (input.decision === 'reject' && !input.reason?.trim())
    throw new ValidationError([{ path: 'reason', reason: 'is required when rejecting' }]);
  const stored = await deps.store.get(input.linkId);
  if (!stored) throw new NotFoundError(`link ${input.linkId} does not exist`);
  const role = approverDecision(
    deps.policy,
    stored.link.environment,
    input.caller.side,
    input.caller.principal,
    stored.link.requester,
  );
  if (!role.ok) {
    await audit(deps, {
      linkId: input.linkId,
      actor: input.caller.principal,
      action: input.decision,
      outcome: 'refused',
      reasons: [role.message],
    });
    throw new PermissionDeniedError(role.message);
  }
  const identity = identityOf(deps.policy, canonicalAwsPrincipal(input.caller.principal));
  const command: LinkInput =
    input.decision === 'approve'
      ? { kind: 'approve', side: input.caller.side, by: input.caller.principal, identity }
      : {
          kind: 'reject',
          side: input.caller.side,
          by: input.caller.principal,
          identity,
          reason: input.reason as string,
        };
  const base = {
    linkId: input.linkId,
    policyHash: deps.policy.hash,
    side: input.caller.side,
    approver: input.caller.principal,
  };
  const result = await mutateLink(deps, input.linkId, command, {
    ...(input.traceparent ? { traceparent: input.traceparent } : {}),
    extra: () => decisionEvents(deps, input, base),
  });
  if (result.ignored === undefined) {
    await audit(deps, {
      linkId: input.linkId,
      actor: input.caller.principal,
      action: input.decision,
      outcome: 'allowed',
      reasons: [role.message],
    });
  }
  await flushOutbox(deps, input.linkId);
  return decided(result);
}

/** `LinkApproved` or `LinkRejected` for a decision (of the link, or with `stage`, of its decommission). */
function decisionEvents(
  deps: LinkDeps,
  input: DecideInput,
  base: { linkId: string; policyHash: string; side: Cloud; approver: string; stage?: 'decommissioning' },
): CloudEvent[] {
  const at = iso(deps.clock.now());
  return [
    input.decision === 'approve'
      ? emit(deps, checks.LinkApproved, { ...base, approvedAt: at, auto: false }, input.traceparent)
      : emit(
          deps,
          checks.LinkRejected,
          { ...base, rejectedAt: at, reason: input.reason as string },
          input.traceparent,
        ),
  ];
}

// ---- decommission ------------------------------------------------------------------------------

/** A link approved by policy on both sides is decommissioned by policy too: the same rule judged it. */
function approvedByPolicy(link: LinkRecord): boolean {
  const approved = link.approvals.filter((a) => a.decision === 'approved');
  return approved.length > 0 && approved.every((a) => a.by.startsWith('policy:'));
}

/**
 * Asks for a link to be taken down. Anyone who may request or approve links of its environment on
 * the caller's side may ask. The request needs one approval (`decideDecommission`) from an approver
 * of either side other than the person who asked, unless policy auto-approved the link itself; until
 * then the link stays as it was. Main course: transition -> write with `LinkDecommissionRequested` ->
 * audit -> put the events. Errors: NotFoundError, PermissionDeniedError, IllegalTransitionError.
 */
export async function requestDecommission(
  deps: LinkDeps,
  input: { linkId: string; caller: Caller; reason?: string; traceparent?: string },
): Promise<StoredLink> {
  const stored = await deps.store.get(input.linkId);
  if (!stored) throw new NotFoundError(`link ${input.linkId} does not exist`);
  const env = deps.policy.document.environments[stored.link.environment];
  const p =
    input.caller.side === 'aws' ? canonicalAwsPrincipal(input.caller.principal) : input.caller.principal;
  const allowed =
    cloudOfPrincipal(input.caller.principal) === input.caller.side &&
    [...env.requesters[input.caller.side], ...env.approvers[input.caller.side]].some((pat) =>
      matchesPrincipal(pat, p),
    );
  if (!allowed) {
    const why = `${input.caller.principal} may not decommission ${stored.link.environment} links on ${input.caller.side}`;
    await audit(deps, {
      linkId: input.linkId,
      actor: input.caller.principal,
      action: 'decommission',
      outcome: 'refused',
      reasons: [why],
    });
    throw new PermissionDeniedError(why);
  }
  const data = {
    linkId: input.linkId,
    policyHash: deps.policy.hash,
    requestedBy: input.caller.principal,
    requestedVia: input.caller.side,
    requestedAt: iso(deps.clock.now()),
    ...(input.reason ? { reason: input.reason } : {}),
  };
  const result = await mutateLink(deps, input.linkId, (link) => decommissionProposal(deps, link, data), {
    ...(input.traceparent ? { traceparent: input.traceparent } : {}),
    extra: () => [emit(deps, checks.LinkDecommissionRequested, data, input.traceparent)],
  });
  if (result.ignored === undefined) {
    await audit(deps, {
      linkId: input.linkId,
      actor: input.caller.principal,
      action: 'decommission',
      outcome: 'allowed',
      reasons: [
        ...(input.reason ? [input.reason] : []),
        result.link.decommission?.status === 'APPROVED'
          ? 'approved by policy (the link was auto-approved)'
          : 'awaiting one approval from either side',
      ],
    });
  }
  await flushOutbox(deps, input.linkId);
  return { link: result.link, version: result.version };
}

function decommissionProposal(
  deps: LinkDeps,
  link: LinkRecord,
  d: EventDataByName['LinkDecommissionRequested'],
): LinkInput {
  const identity = identityOf(deps.policy, canonicalAwsPrincipal(d.requestedBy));
  return {
    kind: 'proposeDecommission',
    by: d.requestedBy,
    via: d.requestedVia,
    ...(identity ? { identity } : {}),
    ...(d.reason ? { reason: d.reason } : {}),
    auto: approvedByPolicy(link),
  };
}

/**
 * Approves or rejects the pending decommission of a link: the caller must be an approver of the
 * link's environment on their side, and not the person who asked for it. Approval moves the link to
 * DECOMMISSIONING; rejection closes the request and leaves the link as it was.
 * Errors: ValidationError, NotFoundError, PermissionDeniedError (audited), IllegalTransitionError.
 */
export async function decideDecommission(deps: LinkDeps, input: DecideInput): Promise<DecidedLink> {
  if (input.decision === 'reject' && !input.reason?.trim())
    throw new ValidationError([{ path: 'reason', reason: 'is required when rejecting' }]);
  const stored = await deps.store.get(input.linkId);
  if (!stored) throw new NotFoundError(`link ${input.linkId} does not exist`);
  const pending = stored.link.decommission;
  const role = approverDecision(
    deps.policy,
    stored.link.environment,
    input.caller.side,
    input.caller.principal,
    pending?.requestedBy ?? stored.link.requester,
  );
  if (!role.ok) {
    const message = role.message.replace('requested this link', 'requested this decommission');
    await audit(deps, {
      linkId: input.linkId,
      actor: input.caller.principal,
      action: `decommission-${input.decision}`,
      outcome: 'refused',
      reasons: [message],
    });
    throw new PermissionDeniedError(message);
  }
  const identity = identityOf(deps.policy, canonicalAwsPrincipal(input.caller.principal));
  const base = {
    linkId: input.linkId,
    policyHash: deps.policy.hash,
    side: input.caller.side,
    approver: input.caller.principal,
    stage: 'decommissioning' as const,
  };
  const result = await mutateLink(
    deps,
    input.linkId,
    {
      kind: 'decideDecommission',
      side: input.caller.side,
      by: input.caller.principal,
      decision: input.decision,
      ...(identity ? { identity } : {}),
      ...(input.reason ? { reason: input.reason } : {}),
    },
    {
      ...(input.traceparent ? { traceparent: input.traceparent } : {}),
      extra: () => decisionEvents(deps, input, base),
    },
  );
  if (result.ignored === undefined) {
    await audit(deps, {
      linkId: input.linkId,
      actor: input.caller.principal,
      action: `decommission-${input.decision}`,
      outcome: 'allowed',
      reasons: [role.message],
    });
  }
  await flushOutbox(deps, input.linkId);
  return decided(result);
}

// ---- this side's own half ----------------------------------------------------------------------

export interface OwnHalfObservation {
  linkId: string;
  /** null: the provider said 404 (confirmed gone). */
  nativeState: NativeState | null;
  adminEnabled?: boolean;
  resourceId?: string;
  sharedId?: string;
}

/**
 * Records what this cloud observed of its own half (the watcher, or a provisioning step). The
 * sequence is assigned inside the conditional write from the stored half, so two overlapping watcher
 * runs cannot publish the same sequence with different states; `LinkSideStateChanged` is emitted only
 * by the write that won, and only on a real change.
 */
export async function recordOwnHalf(deps: LinkDeps, obs: OwnHalfObservation): Promise<MutateResult> {
  const side = deps.origin.cloud;
  let emitted: LinkSideStateChangedData | undefined;
  const result = await mutateLink(
    deps,
    obs.linkId,
    (link) => {
      const half = link.halves[side];
      const same =
        half.sequence > 0 &&
        half.nativeState === obs.nativeState &&
        (obs.adminEnabled === undefined || obs.adminEnabled === half.adminEnabled) &&
        (obs.sharedId === undefined || obs.sharedId === half.sharedId) &&
        (obs.resourceId === undefined || obs.resourceId === half.resourceId);
      if (same) return undefined;
      const input: LinkInput = {
        kind: 'halfObserved',
        side,
        sequence: half.sequence + 1,
        nativeState: obs.nativeState,
      };
      if (obs.adminEnabled !== undefined) input.adminEnabled = obs.adminEnabled;
      if (obs.resourceId !== undefined) input.resourceId = obs.resourceId;
      if (obs.sharedId !== undefined) input.sharedId = obs.sharedId;
      emitted = {
        linkId: obs.linkId,
        policyHash: deps.policy.hash,
        side,
        sequence: half.sequence + 1,
        nativeState: obs.nativeState,
        previousNativeState: half.nativeState,
        condition: conditionOf(side, obs.nativeState, obs.adminEnabled ?? half.adminEnabled),
        observedAt: iso(deps.clock.now()),
        ...(obs.resourceId !== undefined
          ? { resourceId: obs.resourceId }
          : half.resourceId
            ? { resourceId: half.resourceId }
            : {}),
        ...(obs.sharedId !== undefined ? { sharedId: obs.sharedId } : {}),
        ...(obs.adminEnabled !== undefined ? { adminEnabled: obs.adminEnabled } : {}),
      };
      return input;
    },
    { extra: () => (emitted ? [emit(deps, checks.LinkSideStateChanged, emitted)] : []) },
  );
  await flushOutbox(deps, obs.linkId);
  return result;
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

// ---- peer events -------------------------------------------------------------------------------

export interface PeerEventOutcome {
  outcome: 'applied' | 'ignored';
  reason: string;
  link?: LinkRecord;
}

/**
 * Applies an event that arrived on this cloud's bus (from the peer, through the relay) to this side's
 * record of the link. An event made under another policy is refused; events this side produced are
 * ignored; a repeated or stale event changes nothing (the lifecycle is idempotent), so a redelivery is
 * always safe. An event about a link this side does not know yet throws NotFoundError, so that the
 * bus redelivers it after the `LinkRequested` that creates the record.
 * Errors: PolicyHashMismatchError (audited), ValidationError (malformed data), NotFoundError (retry).
 */
export async function applyPeerEvent(deps: LinkDeps, event: CloudEvent): Promise<PeerEventOutcome> {
  const type = parseEventType(event.type);
  if (!type)
    throw new ValidationError(
      [{ path: 'type', reason: `${event.type} is not a crosslink event type` }],
      'event',
    );
  if (event.crosslinkorigin === deps.origin.cloud)
    return { outcome: 'ignored', reason: `own event (${event.crosslinkorigin})` };
  const anyName = type.name as EventName;
  if (!isLinkEvent(anyName)) return { outcome: 'ignored', reason: `${anyName} is not a link event` };
  const name = anyName;
  const data = parseEventData(name, event.data) as EventDataByName[LinkEventName];
  const peer = event.crosslinkorigin;
  if (data.policyHash !== deps.policy.hash) {
    await audit(deps, {
      linkId: data.linkId,
      actor: `peer:${peer}`,
      action: name,
      outcome: 'refused',
      reasons: [`policy hash ${data.policyHash} differs from ${deps.policy.hash}`],
      eventId: event.id,
      eventTime: event.time,
    });
    throw new PolicyHashMismatchError(data.policyHash, deps.policy.hash);
  }

  if (name === 'LinkRequested')
    return applyRequested(deps, event, data as EventDataByName['LinkRequested'], peer);

  const stored = await deps.store.get(data.linkId);
  if (!stored)
    throw new NotFoundError(`link ${data.linkId} is not known here yet; ${name} will be redelivered`);
  const input = peerInput(deps, name, data, peer, stored.link);
  if (!input)
    return done(deps, event, peer, {
      outcome: 'ignored',
      reason: `${name} carries nothing this side applies`,
    });
  let result: MutateResult;
  try {
    result = await mutateLink(deps, data.linkId, input, { traceparent: event.traceparent });
  } catch (e) {
    // A peer's view that this side's state no longer allows (an approval after an expiry here) is
    // dropped: redelivering it would never succeed. The coordinator answers with its own verdict.
    if (e instanceof IllegalTransitionError || e instanceof PermissionDeniedError) {
      await answerLateDecision(deps, stored.link, name, event);
      return done(deps, event, peer, { outcome: 'ignored', reason: e.message });
    }
    throw e;
  }
  await flushOutbox(deps, data.linkId);
  if (result.ignored !== undefined)
    return done(deps, event, peer, { outcome: 'ignored', reason: result.ignored, link: result.link });
  return done(deps, event, peer, { outcome: 'applied', reason: name, link: result.link });
}

async function applyRequested(
  deps: LinkDeps,
  event: CloudEvent,
  d: EventDataByName['LinkRequested'],
  peer: Cloud,
): Promise<PeerEventOutcome> {
  const existing = await deps.store.get(d.linkId);
  if (existing)
    return done(deps, event, peer, { outcome: 'ignored', reason: 'link already known', link: existing.link });
  // The same policy judges the same request the same way here, so auto-approval holds on both sides.
  const evaluation = evaluatePolicy(deps.policy, d.request, {
    requester: { principal: d.requester, side: d.requestedVia },
  });
  const link = newRecord(
    deps,
    d.linkId,
    d.request,
    d.requester,
    Date.parse(d.requestedAt),
    evaluation.autoApproved,
  );
  try {
    await deps.store.create(link);
  } catch (e) {
    if (!(e instanceof ConflictError)) throw e;
  }
  return done(deps, event, peer, {
    outcome: 'applied',
    reason: evaluation.autoApproved ? 'replica created, approved by policy' : 'replica created',
    link,
  });
}

/** The coordinator owns approvals: a late peer approval of a link it already closed gets its verdict again. */
async function answerLateDecision(
  deps: LinkDeps,
  link: LinkRecord,
  name: LinkEventName,
  event: CloudEvent,
): Promise<void> {
  if (link.initiator !== deps.origin.cloud || name !== 'LinkApproved') return;
  if (link.state === 'EXPIRED') {
    const waitingFor = (['aws', 'gcp'] as const).filter(
      (s) => !link.approvals.some((a) => a.side === s && a.decision === 'approved'),
    );
    await deps.events.put([
      emit(
        deps,
        checks.LinkExpired,
        {
          linkId: link.id,
          policyHash: deps.policy.hash,
          waitingFor: waitingFor.length > 0 ? waitingFor : ['aws', 'gcp'],
          expiredAt: link.updatedAt,
        },
        event.traceparent,
      ),
    ]);
  }
}

async function done(
  deps: LinkDeps,
  event: CloudEvent,
  peer: Cloud,
  outcome: PeerEventOutcome,
): Promise<PeerEventOutcome> {
  const linkId = (event.data as { linkId?: string }).linkId ?? event.subject;
  await audit(deps, {
    linkId,
    actor: `peer:${peer}`,
    action: parseEventType(event.type)?.name ?? event.type,
    outcome: outcome.outcome,
    reasons: [outcome.reason],
    eventId: event.id,
    eventTime: event.time,
  });
  return outcome;
}

/** What a peer event means for this side's record, or undefined when nothing. */
function peerInput(
  deps: LinkDeps,
  name: LinkEventName,
  data: EventDataByName[LinkEventName],
  peer: Cloud,
  link: LinkRecord,
): LinkInput | undefined {
  const fromCoordinator = link.initiator === peer;
  switch (name) {
    case 'LinkApproved': {
      const d = data as EventDataByName['LinkApproved'];
      if (d.side !== peer) return undefined;
      if (d.stage === 'decommissioning') {
        const identity = identityOf(deps.policy, canonicalAwsPrincipal(d.approver));
        return {
          kind: 'decideDecommission',
          side: d.side,
          by: d.approver,
          decision: 'approve',
          ...(identity ? { identity } : {}),
        };
      }
      return { kind: 'approve', side: d.side, by: d.approver };
    }
    case 'LinkRejected': {
      const d = data as EventDataByName['LinkRejected'];
      if (d.side !== peer) return undefined;
      if (d.stage === 'decommissioning')
        return {
          kind: 'decideDecommission',
          side: d.side,
          by: d.approver,
          decision: 'reject',
          reason: d.reason,
        };
      return { kind: 'reject', side: d.side, by: d.approver, reason: d.reason };
    }
    case 'LinkSideStateChanged': {
      const d = data as EventDataByName['LinkSideStateChanged'];
      if (d.side !== peer) return undefined; // a cloud reports only its own half
      const obs: LinkInput = {
        kind: 'halfObserved',
        side: d.side,
        sequence: d.sequence,
        nativeState: d.nativeState,
      };
      if (d.adminEnabled !== undefined) obs.adminEnabled = d.adminEnabled;
      if (d.resourceId !== undefined) obs.resourceId = d.resourceId;
      if (d.sharedId !== undefined) obs.sharedId = d.sharedId;
      return obs;
    }
    case 'LinkDecommissionRequested':
      return decommissionProposal(deps, link, data as EventDataByName['LinkDecommissionRequested']);
    case 'LinkExpired':
      if ((data as EventDataByName['LinkExpired']).stage === 'decommissioning')
        return link.decommission?.status === 'PENDING' ? { kind: 'expireDecommission' } : undefined;
      return { kind: 'expire', authoritative: fromCoordinator };
    case 'LinkFailed': {
      const d = data as EventDataByName['LinkFailed'];
      const reason = `${d.side} ${d.stage} failed: ${d.error.name}: ${d.error.message}`;
      return d.stage === 'verify' ? { kind: 'failVerify', reason } : { kind: 'fail', reason };
    }
    default:
      // LinkStateChanged is derived on each side by the same function; LinkApprovalRequested goes to
      // people; LinkKeyIssued goes to the acceptor's activation step, not to the record.
      return undefined;
  }
}
