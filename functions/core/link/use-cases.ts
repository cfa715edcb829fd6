/**
 * The link use cases every intake and event consumer runs, on either cloud: request, approve or
 * reject, decommission, and applying a peer's event to this side's replica. Each reads the record,
 * runs the pure `transition`, and writes it back conditionally (retrying a lost race), then records
 * an audit entry and puts the resulting events on this cloud's bus. Every step is idempotent, so an
 * at-least-once redelivery or a retried intake call changes nothing the second time.
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
import type { EventDataByName, EventName } from '../events/catalog.ts';
import { parseEventData } from '../events/schemas.ts';
import { isLinkId, mintLinkId } from '../ids.ts';
import { identityOf } from '../policy/policy.ts';
import { canonicalAwsPrincipal, cloudOfPrincipal, matchesPrincipal } from '../policy/principals.ts';
import { parseLinkRequest } from '../policy/request.ts';
import { approverDecision, type Evaluation, evaluatePolicy } from '../policy/rules.ts';
import type { Cloud, LinkRecord } from './model.ts';
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

function emit<N extends EventName>(
  deps: LinkDeps,
  name: N,
  data: EventDataByName[N],
  traceparent?: string,
): CloudEvent<EventDataByName[N]> {
  const input = { name, origin: deps.origin, subject: data.linkId, data, clock: deps.clock } as Parameters<
    typeof buildEvent<EventDataByName[N]>
  >[0];
  if (traceparent) input.traceparent = traceparent;
  return buildEvent(input);
}

async function audit(deps: LinkDeps, entry: Omit<AuditEntry, 'at' | 'policyHash'>): Promise<void> {
  await deps.store.appendAudit({ ...entry, at: iso(deps.clock.now()), policyHash: deps.policy.hash });
}

/**
 * Reads, transitions and conditionally writes one link, retrying when another writer won the race.
 * Returns the transition's result (with `ignored` set when nothing changed, in which case nothing is written).
 */
export async function mutateLink(
  deps: LinkDeps,
  linkId: string,
  input: LinkInput | ((link: LinkRecord) => LinkInput),
): Promise<TransitionResult & { version: number }> {
  for (let attempt = 1; ; attempt++) {
    const stored = await deps.store.get(linkId);
    if (!stored) throw new NotFoundError(`link ${linkId} does not exist`);
    const result = transition(
      stored.link,
      typeof input === 'function' ? input(stored.link) : input,
      deps.clock.now(),
    );
    if (result.ignored !== undefined || result.link === stored.link)
      return { ...result, version: stored.version };
    try {
      const written = await deps.store.update(result.link, stored.version);
      return { ...result, version: written.version };
    } catch (e) {
      if (!(e instanceof ConflictError) || attempt >= MAX_RACES) throw e;
    }
  }
}

function stateEvents(deps: LinkDeps, result: TransitionResult, traceparent?: string): CloudEvent[] {
  return result.events.map((e) => emit(deps, 'LinkStateChanged', e.data, traceparent));
}

// ---- request -----------------------------------------------------------------------------------

export interface RequestLinkInput {
  /** The request as parsed from the caller's body (validated here). */
  request: unknown;
  caller: Caller;
  /** The caller's retry key (e.g. an `Idempotency-Key` header): the same key returns the same link. */
  idempotencyKey?: string;
  traceparent?: string;
}

export interface RequestLinkOutput {
  link: LinkRecord;
  evaluation: Evaluation;
  /** False when an earlier call with the same idempotency key already made this link. */
  created: boolean;
}

/**
 * Accepts a link request from its verified caller.
 * Main course: validate -> judge by policy (with live capacity when a probe is given) -> mint the id
 * -> store REQUESTED -> audit -> `LinkRequested` (plus `LinkApproved` for both sides when policy
 * auto-approves). Errors: ValidationError (malformed), PolicyRefusedError (policy said no; audited).
 */
export async function requestLink(deps: LinkDeps, input: RequestLinkInput): Promise<RequestLinkOutput> {
  const request = parseLinkRequest(input.request);
  const ttl = deps.idempotencyTtlMs ?? DAY;
  const live = deps.capacity ? await deps.capacity.check(request) : undefined;
  const evaluation = evaluatePolicy(deps.policy, request, {
    requester: input.caller,
    ...(live ? { live } : {}),
  });
  if (!evaluation.accepted) {
    const reasons = evaluation.decisions.filter((d) => !d.ok).map((d) => `${d.rule}: ${d.message}`);
    throw new PolicyRefusedError(reasons);
  }
  const linkId = mintLinkId(deps.clock);
  if (input.idempotencyKey) {
    const claim = await deps.store.claim(
      `request:${input.caller.principal}:${input.idempotencyKey}`,
      deps.clock.now() + ttl,
      linkId,
    );
    if (!claim.claimed) {
      const earlier = await deps.store.get(claim.result as string);
      if (earlier) return { link: earlier.link, evaluation, created: false };
      // The claim won but the record was never written (a crash in between): make it now under that id.
      return createRequested(deps, input, request, evaluation, claim.result as string);
    }
  }
  return createRequested(deps, input, request, evaluation, linkId);
}

async function createRequested(
  deps: LinkDeps,
  input: RequestLinkInput,
  request: ReturnType<typeof parseLinkRequest>,
  evaluation: Evaluation,
  linkId: string,
): Promise<RequestLinkOutput> {
  const now = deps.clock.now();
  let link = createLink(
    {
      id: linkId,
      name: request.name,
      initiator: request.initiator,
      environment: request.environment,
      requester: input.caller.principal,
      requesterIdentity: identityOf(deps.policy, input.caller.principal),
      policyHash: deps.policy.hash,
    },
    now,
  );
  const events: CloudEvent[] = [
    emit(
      deps,
      'LinkRequested',
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
  if (evaluation.autoApproved) {
    for (const side of ['aws', 'gcp'] as const) {
      link = transition(link, { kind: 'approve', side, by: 'policy:auto-approve' }, now).link;
      events.push(
        emit(
          deps,
          'LinkApproved',
          {
            linkId,
            policyHash: deps.policy.hash,
            side,
            approver: 'policy:auto-approve',
            approvedAt: iso(now),
            auto: true,
          },
          input.traceparent,
        ),
      );
    }
  }
  let created = true;
  try {
    await deps.store.create(link);
  } catch (e) {
    if (!(e instanceof ConflictError)) throw e;
    const existing = await deps.store.get(linkId);
    if (!existing) throw e;
    link = existing.link;
    created = false;
  }
  await audit(deps, {
    linkId,
    actor: input.caller.principal,
    action: 'request',
    outcome: 'allowed',
    reasons: evaluation.decisions.map((d) => `${d.rule}: ${d.message}`),
  });
  await deps.events.put(events);
  return { link, evaluation, created };
}

// ---- approve / reject --------------------------------------------------------------------------

export interface DecideInput {
  linkId: string;
  /** The side this approval is for: the side of the intake that verified the caller. */
  caller: Caller;
  decision: 'approve' | 'reject';
  reason?: string;
  traceparent?: string;
}

/**
 * Records this side's approval or rejection by a verified approver.
 * Main course: check the approver's role for this side (never the requester) -> transition -> write
 * -> audit -> `LinkApproved` / `LinkRejected` and any `LinkStateChanged`.
 * Errors: NotFoundError, PermissionDeniedError (audited), IllegalTransitionError, ValidationError.
 */
export async function decideApproval(deps: LinkDeps, input: DecideInput): Promise<StoredLink> {
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
  const command: LinkInput =
    input.decision === 'approve'
      ? {
          kind: 'approve',
          side: input.caller.side,
          by: input.caller.principal,
          identity: identityOf(deps.policy, input.caller.principal),
        }
      : {
          kind: 'reject',
          side: input.caller.side,
          by: input.caller.principal,
          identity: identityOf(deps.policy, input.caller.principal),
          reason: input.reason as string,
        };
  const result = await mutateLink(deps, input.linkId, command);
  if (result.ignored !== undefined) return { link: result.link, version: result.version };
  await audit(deps, {
    linkId: input.linkId,
    actor: input.caller.principal,
    action: input.decision,
    outcome: 'allowed',
    reasons: [role.message],
  });
  const at = iso(deps.clock.now());
  const base = {
    linkId: input.linkId,
    policyHash: deps.policy.hash,
    side: input.caller.side,
    approver: input.caller.principal,
  };
  const decisionEvent =
    input.decision === 'approve'
      ? emit(deps, 'LinkApproved', { ...base, approvedAt: at, auto: false }, input.traceparent)
      : emit(
          deps,
          'LinkRejected',
          { ...base, rejectedAt: at, reason: input.reason as string },
          input.traceparent,
        );
  await deps.events.put([decisionEvent, ...stateEvents(deps, result, input.traceparent)]);
  return { link: result.link, version: result.version };
}

// ---- decommission ------------------------------------------------------------------------------

/**
 * Asks for a link to be taken down. Anyone who may request or approve links of its environment on
 * the caller's side may ask. Main course: transition -> write -> audit -> `LinkDecommissionRequested`.
 * Errors: NotFoundError, PermissionDeniedError, IllegalTransitionError.
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
  const result = await mutateLink(deps, input.linkId, {
    kind: 'requestDecommission',
    by: input.caller.principal,
  });
  if (result.ignored !== undefined) return { link: result.link, version: result.version };
  await audit(deps, {
    linkId: input.linkId,
    actor: input.caller.principal,
    action: 'decommission',
    outcome: 'allowed',
    reasons: input.reason ? [input.reason] : [],
  });
  const data = {
    linkId: input.linkId,
    policyHash: deps.policy.hash,
    requestedBy: input.caller.principal,
    requestedVia: input.caller.side,
    requestedAt: iso(deps.clock.now()),
    ...(input.reason ? { reason: input.reason } : {}),
  };
  await deps.events.put([
    emit(deps, 'LinkDecommissionRequested', data, input.traceparent),
    ...stateEvents(deps, result, input.traceparent),
  ]);
  return { link: result.link, version: result.version };
}

// ---- peer events -------------------------------------------------------------------------------

export interface PeerEventOutcome {
  outcome: 'applied' | 'ignored';
  reason: string;
  link?: LinkRecord;
}

/**
 * Applies an event that arrived on this cloud's bus (from the peer, through the relay) to this side's
 * record of the link. Duplicates (by CloudEvent id) and stale half observations are ignored; an event
 * made under another policy is refused. Events this side produced itself are ignored.
 * Errors: PolicyHashMismatchError (audited), ValidationError (malformed data).
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
  const name = type.name as EventName;
  const data = parseEventData(name, event.data) as EventDataByName[EventName];
  const peer = event.crosslinkorigin;
  if (data.policyHash !== deps.policy.hash) {
    await audit(deps, {
      linkId: data.linkId,
      actor: `peer:${peer}`,
      action: name,
      outcome: 'refused',
      reasons: [`policy hash ${data.policyHash} differs from ${deps.policy.hash}`],
      eventId: event.id,
    });
    throw new PolicyHashMismatchError(data.policyHash, deps.policy.hash);
  }
  const seen = await deps.store.claim(
    `event:${event.id}`,
    deps.clock.now() + (deps.idempotencyTtlMs ?? DAY),
    name,
  );
  if (!seen.claimed) return { outcome: 'ignored', reason: `duplicate event ${event.id}` };

  if (name === 'LinkRequested') {
    const d = data as EventDataByName['LinkRequested'];
    const existing = await deps.store.get(d.linkId);
    if (existing)
      return done(deps, event, peer, {
        outcome: 'ignored',
        reason: 'link already known',
        link: existing.link,
      });
    const link = createLink(
      {
        id: d.linkId,
        name: d.request.name,
        initiator: d.request.initiator,
        environment: d.request.environment,
        requester: d.requester,
        requesterIdentity: identityOf(deps.policy, d.requester),
        policyHash: d.policyHash,
      },
      Date.parse(d.requestedAt),
    );
    try {
      await deps.store.create(link);
    } catch (e) {
      if (!(e instanceof ConflictError)) throw e;
    }
    return done(deps, event, peer, { outcome: 'applied', reason: 'replica created', link });
  }

  const input = peerInput(name, data, peer);
  if (!input)
    return done(deps, event, peer, {
      outcome: 'ignored',
      reason: `${name} carries nothing this side applies`,
    });
  let result: Awaited<ReturnType<typeof mutateLink>>;
  try {
    result = await mutateLink(deps, data.linkId, input);
  } catch (e) {
    // A peer's view that this side's state no longer allows (e.g. an approval after a rejection) is
    // recorded and dropped: redelivering it would never succeed.
    if (e instanceof IllegalTransitionError || e instanceof PermissionDeniedError) {
      return done(deps, event, peer, { outcome: 'ignored', reason: e.message });
    }
    throw e;
  }
  if (result.ignored !== undefined)
    return done(deps, event, peer, { outcome: 'ignored', reason: result.ignored, link: result.link });
  await deps.events.put(stateEvents(deps, result, event.traceparent));
  return done(deps, event, peer, { outcome: 'applied', reason: name, link: result.link });
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
  });
  return outcome;
}

/** What a peer event means for this side's record, or undefined when nothing. */
function peerInput(name: EventName, data: EventDataByName[EventName], peer: Cloud): LinkInput | undefined {
  switch (name) {
    case 'LinkApproved': {
      const d = data as EventDataByName['LinkApproved'];
      return d.side === peer ? { kind: 'approve', side: d.side, by: d.approver } : undefined;
    }
    case 'LinkRejected': {
      const d = data as EventDataByName['LinkRejected'];
      return d.side === peer ? { kind: 'reject', side: d.side, by: d.approver, reason: d.reason } : undefined;
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
      return {
        kind: 'requestDecommission',
        by: (data as EventDataByName['LinkDecommissionRequested']).requestedBy,
      };
    case 'LinkExpired':
      return { kind: 'expire' };
    case 'LinkFailed': {
      const d = data as EventDataByName['LinkFailed'];
      return { kind: 'fail', reason: `${d.side} ${d.stage} failed: ${d.error.name}: ${d.error.message}` };
    }
    default:
      // LinkStateChanged is derived on each side by the same function; LinkApprovalRequested goes to
      // people; LinkKeyIssued goes to the acceptor's activation step, not to the record.
      return undefined;
  }
}
