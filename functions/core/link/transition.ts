/**
 * The link lifecycle as one pure function: `transition(link, input, now) -> { link, events }`.
 *
 * Main course: REQUESTED -> AWAITING_APPROVAL -> APPROVED (both sides) -> PROVISIONING -> ACTIVE
 * (both halves up) <-> DEGRADED (health) -> DOWN (a half down) -> DECOMMISSIONING -> DECOMMISSIONED
 * (both halves gone). Side exits: REJECTED, EXPIRED, FAILED.
 *
 * Delivery is at-least-once and out of order, so a repeated command whose effect already holds is a
 * no-op, and an observation with a sequence not above the half's is ignored (`ignored` says why).
 * A command the state does not allow throws IllegalTransitionError; self-approval throws
 * PermissionDeniedError.
 */
import { IllegalTransitionError, PermissionDeniedError } from '../errors.ts';
import type { LinkStateChangedData } from '../events/catalog.ts';
import { canonicalAwsPrincipal } from '../policy/principals.ts';
import {
  type Approval,
  type Cloud,
  conditionOf,
  emptyHalf,
  type Half,
  type LinkEndpoints,
  type LinkHealth,
  type LinkRecord,
  type LinkState,
  type NativeState,
  TERMINAL_STATES,
} from './model.ts';

export type LinkCommand =
  | { kind: 'requestApproval' }
  | {
      kind: 'approve';
      side: Cloud;
      by: string /** who `by` is, when policy knows (same person on both clouds) */;
      identity?: string;
    }
  | { kind: 'reject'; side: Cloud; by: string; identity?: string; reason?: string }
  | {
      kind: 'expire';
      /** From the coordinator: it owns approvals, so its expiry stands even over a late approval here. */
      authoritative?: boolean;
    }
  | { kind: 'startProvisioning' }
  | { kind: 'fail'; reason: string }
  | {
      /**
       * Provisioning's verify stage failed (the routes are not allowed on the Direct Connect
       * gateway): both halves may already be up, so this also closes an ACTIVE / DEGRADED / DOWN link,
       * whose halves compensation deletes.
       */
      kind: 'failVerify';
      reason: string;
    }
  | { kind: 'requestDecommission'; by: string }
  | {
      /** Asks for a decommission that needs one approval; `auto`: policy approves it at once. */
      kind: 'proposeDecommission';
      by: string;
      identity?: string;
      via: Cloud;
      reason?: string;
      auto?: boolean;
    }
  | {
      kind: 'decideDecommission';
      side: Cloud;
      by: string;
      identity?: string;
      decision: 'approve' | 'reject';
      reason?: string;
    }
  | { kind: 'expireDecommission' }
  | {
      /** The peer never reported its half drained in time: nothing was deleted; the next attempt may retry. */
      kind: 'drainStalled';
      reason: string;
    }
  | {
      /**
       * The decommissioning run of attempt `after` ended without finishing (failed, or closed): the
       * next request runs attempt `after + 1` (execution names are reserved, so a new run needs one).
       */
      kind: 'nextDecommissionAttempt';
      after: number;
    };

export type LinkObservation =
  | {
      kind: 'halfObserved';
      side: Cloud;
      sequence: number;
      /** null: the provider said 404 (confirmed gone). */
      nativeState: NativeState | null;
      adminEnabled?: boolean;
      resourceId?: string;
      sharedId?: string;
    }
  | { kind: 'healthObserved'; status: LinkHealth; at: string; detail?: string };

export type LinkInput = LinkCommand | LinkObservation;

export type LinkDomainEvent = { name: 'LinkStateChanged'; data: LinkStateChangedData };

export interface TransitionResult {
  link: LinkRecord;
  events: LinkDomainEvent[];
  /** Set when the input changed nothing, with why (`duplicate`, `stale`, `already <state>`). */
  ignored?: string;
}

export interface NewLink {
  id: string;
  name: string;
  initiator: Cloud;
  environment: 'prod' | 'nonprod';
  requester: string;
  requesterIdentity?: string;
  /** As requested (normalised by the intake): events that describe the link carry it. */
  bandwidth: string;
  endpoints?: LinkEndpoints;
  policyHash: string;
}

export function createLink(input: NewLink, now: number): LinkRecord {
  const at = iso(now);
  return {
    ...input,
    state: 'REQUESTED',
    halves: { aws: emptyHalf('aws'), gcp: emptyHalf('gcp') },
    approvals: [],
    health: { status: 'healthy', at: null },
    stages: [{ state: 'REQUESTED', at }],
    createdAt: at,
    updatedAt: at,
  };
}

export function transition(link: LinkRecord, input: LinkInput, now: number): TransitionResult {
  switch (input.kind) {
    case 'requestApproval':
      return requestApproval(link, now);
    case 'approve':
    case 'reject':
      return decide(link, input, now);
    case 'expire':
      return expire(link, input, now);
    case 'startProvisioning':
      return startProvisioning(link, now);
    case 'fail':
      return fail(link, input, now);
    case 'failVerify':
      return failVerify(link, input, now);
    case 'requestDecommission':
      return requestDecommission(link, input, now);
    case 'proposeDecommission':
      return proposeDecommission(link, input, now);
    case 'decideDecommission':
      return decideDecommission(link, input, now);
    case 'expireDecommission':
      return expireDecommission(link, now);
    case 'drainStalled':
      return drainStalled(link, input, now);
    case 'nextDecommissionAttempt':
      return nextDecommissionAttempt(link, input, now);
    case 'halfObserved':
      return observeHalf(link, input, now);
    case 'healthObserved':
      return observeHealth(link, input, now);
  }
}

/** The input of one kind. */
type Input<K extends LinkInput['kind']> = Extract<LinkInput, { kind: K }>;

function requestApproval(link: LinkRecord, now: number): TransitionResult {
  if (link.state === 'REQUESTED')
    return move(link, 'AWAITING_APPROVAL', 'approval requested from both sides', now);
  if (['AWAITING_APPROVAL', 'APPROVED', 'PROVISIONING'].includes(link.state) || isPastApproval(link.state)) {
    return unchanged(link, `already ${link.state}`);
  }
  throw new IllegalTransitionError(link.state, 'request approval for');
}

function expire(link: LinkRecord, input: Input<'expire'>, now: number): TransitionResult {
  if (link.state === 'REQUESTED' || link.state === 'AWAITING_APPROVAL')
    return move(link, 'EXPIRED', 'approval wait timed out', now);
  if (input.authoritative && link.state === 'APPROVED')
    return move(
      link,
      'EXPIRED',
      'the coordinator expired the approval wait before this approval reached it',
      now,
    );
  if (link.state === 'EXPIRED') return unchanged(link, 'already EXPIRED');
  throw new IllegalTransitionError(link.state, 'expire', 'only a link still awaiting approval can expire');
}

function startProvisioning(link: LinkRecord, now: number): TransitionResult {
  if (link.state === 'APPROVED') return move(link, 'PROVISIONING', 'both sides approved', now);
  if (link.state === 'PROVISIONING') return unchanged(link, 'already PROVISIONING');
  throw new IllegalTransitionError(
    link.state,
    'provision',
    link.state === 'AWAITING_APPROVAL' ? 'both sides must approve first' : undefined,
  );
}

function fail(link: LinkRecord, input: Input<'fail'>, now: number): TransitionResult {
  if (link.state === 'FAILED') return unchanged(link, 'already FAILED');
  if (['REQUESTED', 'AWAITING_APPROVAL', 'APPROVED', 'PROVISIONING'].includes(link.state)) {
    return move(link, 'FAILED', input.reason, now);
  }
  // A DECOMMISSIONING link is being taken down on request: a provisioning error does not fail it.
  throw new IllegalTransitionError(link.state, 'fail');
}

function failVerify(link: LinkRecord, input: Input<'failVerify'>, now: number): TransitionResult {
  if (link.state === 'FAILED') return unchanged(link, 'already FAILED');
  if (['PROVISIONING', 'ACTIVE', 'DEGRADED', 'DOWN'].includes(link.state))
    return move(link, 'FAILED', input.reason, now);
  throw new IllegalTransitionError(link.state, 'fail verification of', 'only a provisioned link is verified');
}

function requestDecommission(
  link: LinkRecord,
  input: Input<'requestDecommission'>,
  now: number,
): TransitionResult {
  if (link.state === 'DECOMMISSIONING' || link.state === 'DECOMMISSIONED')
    return unchanged(link, `already ${link.state}`);
  if (['APPROVED', 'PROVISIONING', 'ACTIVE', 'DEGRADED', 'DOWN'].includes(link.state)) {
    const moved = move(link, 'DECOMMISSIONING', `decommission requested by ${input.by}`, now);
    const derived = derive(moved.link, now);
    return { link: derived.link, events: [...moved.events, ...derived.events] };
  }
  throw new IllegalTransitionError(link.state, 'decommission');
}

function expireDecommission(link: LinkRecord, now: number): TransitionResult {
  const d = link.decommission;
  if (d?.status === 'EXPIRED') return unchanged(link, 'already EXPIRED');
  if (d?.status !== 'PENDING')
    throw new IllegalTransitionError(link.state, 'expire the decommission of', 'no decommission is pending');
  return {
    link: { ...link, decommission: { ...d, status: 'EXPIRED', closedAt: iso(now) }, updatedAt: iso(now) },
    events: [],
  };
}

function drainStalled(link: LinkRecord, input: Input<'drainStalled'>, now: number): TransitionResult {
  const d = link.decommission;
  if (link.state !== 'DECOMMISSIONING' || d?.status !== 'APPROVED')
    throw new IllegalTransitionError(link.state, 'stall the drain of', 'no approved decommission is running');
  return {
    link: {
      ...link,
      decommission: { ...d, attempt: d.attempt + 1, stalled: { at: iso(now), reason: input.reason } },
      updatedAt: iso(now),
    },
    events: [],
  };
}

function nextDecommissionAttempt(
  link: LinkRecord,
  input: Input<'nextDecommissionAttempt'>,
  now: number,
): TransitionResult {
  const d = link.decommission;
  if (!d) throw new IllegalTransitionError(link.state, 'retry the decommission of', 'none was requested');
  if (d.attempt > input.after) return unchanged(link, `already attempt ${d.attempt}`);
  return {
    link: { ...link, decommission: { ...d, attempt: input.after + 1 }, updatedAt: iso(now) },
    events: [],
  };
}

function decide(
  link: LinkRecord,
  input: Extract<LinkCommand, { kind: 'approve' | 'reject' }>,
  now: number,
): TransitionResult {
  const existing = link.approvals.find((a) => a.side === input.side);
  const wanted = input.kind === 'approve' ? 'approved' : 'rejected';
  if (existing) {
    if (existing.decision === wanted) return unchanged(link, `duplicate: ${input.side} already ${wanted}`);
    throw new IllegalTransitionError(
      link.state,
      input.kind,
      `the ${input.side} side already ${existing.decision} this link`,
    );
  }
  if (!(link.state === 'REQUESTED' || link.state === 'AWAITING_APPROVAL')) {
    throw new IllegalTransitionError(link.state, input.kind, 'the link is no longer awaiting approval');
  }
  const selfApproval =
    canonicalAwsPrincipal(input.by) === canonicalAwsPrincipal(link.requester) ||
    input.by === link.requester ||
    (input.identity !== undefined && input.identity === link.requesterIdentity);
  if (selfApproval && !input.by.startsWith('policy:')) {
    throw new PermissionDeniedError(`${input.by} requested link ${link.id} and cannot also ${input.kind} it`);
  }
  const approval: Approval = { side: input.side, decision: wanted, by: input.by, at: iso(now) };
  if (input.kind === 'reject' && input.reason) approval.reason = input.reason;
  const next: LinkRecord = { ...link, approvals: [...link.approvals, approval], updatedAt: iso(now) };
  if (input.kind === 'reject') {
    return move(
      next,
      'REJECTED',
      `rejected by ${input.by} (${input.side})${input.reason ? `: ${input.reason}` : ''}`,
      now,
    );
  }
  const sides = new Set(next.approvals.filter((a) => a.decision === 'approved').map((a) => a.side));
  if (sides.has('aws') && sides.has('gcp')) return move(next, 'APPROVED', 'approved on both sides', now);
  if (next.state === 'REQUESTED')
    return move(
      next,
      'AWAITING_APPROVAL',
      `approved by ${input.by} (${input.side}); waiting for the other side`,
      now,
    );
  return { link: next, events: [] };
}

const DECOMMISSIONABLE: readonly LinkState[] = ['APPROVED', 'PROVISIONING', 'ACTIVE', 'DEGRADED', 'DOWN'];

function proposeDecommission(
  link: LinkRecord,
  input: Extract<LinkCommand, { kind: 'proposeDecommission' }>,
  now: number,
): TransitionResult {
  if (link.state === 'DECOMMISSIONING' || link.state === 'DECOMMISSIONED')
    return unchanged(link, `already ${link.state}`);
  // A FAILED link whose compensation gave up still has a half billing: it may be decommissioned.
  const failedWithHalf =
    link.state === 'FAILED' &&
    [link.halves.aws, link.halves.gcp].some((h) => h.condition !== 'GONE' && h.condition !== 'NONE');
  if (!DECOMMISSIONABLE.includes(link.state) && !failedWithHalf)
    throw new IllegalTransitionError(link.state, 'decommission');
  if (link.decommission?.status === 'PENDING')
    return unchanged(
      link,
      `duplicate: a decommission requested by ${link.decommission.requestedBy} is pending`,
    );
  const at = iso(now);
  const request: LinkRecord['decommission'] = {
    requestedBy: input.by,
    requestedVia: input.via,
    requestedAt: at,
    status: 'PENDING',
    attempt: 1,
    ...(input.identity ? { requesterIdentity: input.identity } : {}),
    ...(input.reason ? { reason: input.reason } : {}),
  };
  const next: LinkRecord = { ...link, decommission: request, updatedAt: at };
  if (!input.auto) return { link: next, events: [] };
  return decideDecommission(
    next,
    { kind: 'decideDecommission', side: input.via, by: AUTO, decision: 'approve' },
    now,
  );
}

const AUTO = 'policy:auto-approve';

function decideDecommission(
  link: LinkRecord,
  input: Extract<LinkCommand, { kind: 'decideDecommission' }>,
  now: number,
): TransitionResult {
  const d = link.decommission;
  const wanted = input.decision === 'approve' ? 'APPROVED' : 'REJECTED';
  // Already decided the way this approver wants (by them or another approver): nothing to do.
  if (d?.status === wanted)
    return unchanged(link, `duplicate: decommission already ${wanted.toLowerCase()} by ${d.decision?.by}`);
  if (d?.status !== 'PENDING')
    throw new IllegalTransitionError(
      link.state,
      `${input.decision} the decommission of`,
      d ? `the decommission request is ${d.status}` : 'no decommission was requested',
    );
  const self =
    canonicalAwsPrincipal(input.by) === canonicalAwsPrincipal(d.requestedBy) ||
    (input.identity !== undefined && input.identity === d.requesterIdentity);
  if (self && !input.by.startsWith('policy:'))
    throw new PermissionDeniedError(
      `${input.by} requested the decommission of link ${link.id} and cannot also ${input.decision} it`,
    );
  const at = iso(now);
  const decision: Approval = {
    side: input.side,
    decision: input.decision === 'approve' ? 'approved' : 'rejected',
    by: input.by,
    at,
    ...(input.reason ? { reason: input.reason } : {}),
  };
  const next: LinkRecord = {
    ...link,
    decommission: { ...d, status: wanted, decision, closedAt: at },
    updatedAt: at,
  };
  if (input.decision === 'reject') return { link: next, events: [] };
  const moved = move(
    next,
    'DECOMMISSIONING',
    `decommission requested by ${d.requestedBy}, approved by ${input.by} (${input.side})`,
    now,
  );
  const derived = derive(moved.link, now);
  return { link: derived.link, events: [...moved.events, ...derived.events] };
}

function observeHalf(
  link: LinkRecord,
  input: Extract<LinkObservation, { kind: 'halfObserved' }>,
  now: number,
): TransitionResult {
  const half = link.halves[input.side];
  if (input.sequence === half.sequence)
    return unchanged(link, `duplicate: ${input.side} sequence ${input.sequence}`);
  if (input.sequence < half.sequence)
    return unchanged(link, `stale: ${input.side} sequence ${input.sequence} < ${half.sequence}`);
  const updated: Half = {
    ...half,
    nativeState: input.nativeState,
    // Google's JSON omits a false boolean: an observation without adminEnabled keeps the last known value.
    condition: conditionOf(input.side, input.nativeState, input.adminEnabled ?? half.adminEnabled),
    sequence: input.sequence,
    observedAt: iso(now),
  };
  if (input.adminEnabled !== undefined) updated.adminEnabled = input.adminEnabled;
  if (input.resourceId !== undefined) updated.resourceId = input.resourceId;
  if (input.sharedId !== undefined) updated.sharedId = input.sharedId;
  const next: LinkRecord = {
    ...link,
    halves: { ...link.halves, [input.side]: updated },
    updatedAt: iso(now),
  };
  return derive(next, now);
}

function observeHealth(
  link: LinkRecord,
  input: Extract<LinkObservation, { kind: 'healthObserved' }>,
  now: number,
): TransitionResult {
  if (link.health.at !== null && Date.parse(input.at) <= Date.parse(link.health.at)) {
    return unchanged(link, `stale: health at ${input.at} is not after ${link.health.at}`);
  }
  const health: LinkRecord['health'] = { status: input.status, at: input.at };
  if (input.detail !== undefined) health.detail = input.detail;
  return derive({ ...link, health, updatedAt: iso(now) }, now);
}

/** Recomputes the state that follows from the halves and health, where the state depends on them. */
function derive(link: LinkRecord, now: number): TransitionResult {
  const { aws, gcp } = link.halves;
  const bothUp = aws.condition === 'UP' && gcp.condition === 'UP';
  // With both halves up, the data path decides: every BGP session up ACTIVE, some DEGRADED, none DOWN.
  const live: LinkState =
    link.health.status === 'down' ? 'DOWN' : link.health.status === 'impaired' ? 'DEGRADED' : 'ACTIVE';
  const why = (h: LinkRecord['health']) =>
    `${h.status === 'healthy' ? 'health restored' : `health ${h.status}`}${h.detail ? `: ${h.detail}` : ''}`;
  // A half never observed is gone only if activation never started: once PROVISIONING began, a create
  // may be in flight, and only an observation (404 / deleted) proves the half is not billing.
  const activationStarted = link.stages.some((s) => s.state === 'PROVISIONING');
  const gone = (h: Half) => h.condition === 'GONE' || (h.condition === 'NONE' && !activationStarted);
  switch (link.state) {
    case 'PROVISIONING':
      return bothUp ? move(link, live, 'both halves up', now) : { link, events: [] };
    case 'ACTIVE':
    case 'DEGRADED': {
      if (!bothUp) {
        const which = aws.condition !== 'UP' ? aws : gcp;
        return move(link, 'DOWN', `${which.cloud} half is ${which.nativeState ?? 'gone'}`, now);
      }
      if (link.state !== live) return move(link, live, why(link.health), now);
      return { link, events: [] };
    }
    case 'DOWN': {
      if (!bothUp || live === 'DOWN') return { link, events: [] };
      // Down because of a half (now back) or because of health (now better).
      const byHealth = link.stages.at(-1)?.reason?.startsWith('health ') === true;
      return move(link, live, byHealth ? why(link.health) : 'both halves up again', now);
    }
    case 'DECOMMISSIONING':
      return gone(aws) && gone(gcp)
        ? move(link, 'DECOMMISSIONED', 'both halves deleted', now)
        : { link, events: [] };
    case 'DECOMMISSIONED': {
      // A half seen alive after the link was closed (a create that was in flight) must be cleaned up.
      const alive = [aws, gcp].find((h) => h.condition !== 'GONE' && h.condition !== 'NONE');
      return alive
        ? move(
            link,
            'DECOMMISSIONING',
            `${alive.cloud} half reappeared (${alive.nativeState}): deleting it`,
            now,
          )
        : { link, events: [] };
    }
    default:
      return { link, events: [] };
  }
}

function move(link: LinkRecord, to: LinkState, reason: string, now: number): TransitionResult {
  const at = iso(now);
  const from = link.state;
  const next: LinkRecord = {
    ...link,
    state: to,
    stages: [...link.stages, { state: to, at, reason }],
    updatedAt: at,
  };
  const slim = (h: Half) => ({ nativeState: h.nativeState, condition: h.condition, sequence: h.sequence });
  return {
    link: next,
    events: [
      {
        name: 'LinkStateChanged',
        data: {
          linkId: link.id,
          from,
          to,
          reason,
          halves: { aws: slim(next.halves.aws), gcp: slim(next.halves.gcp) },
          policyHash: link.policyHash,
        },
      },
    ],
  };
}

function unchanged(link: LinkRecord, why: string): TransitionResult {
  return { link, events: [], ignored: why };
}

function isPastApproval(s: LinkState): boolean {
  return TERMINAL_STATES.has(s) ? false : ['ACTIVE', 'DEGRADED', 'DOWN', 'DECOMMISSIONING'].includes(s);
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}
