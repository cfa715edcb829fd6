/**
 * Peer events: an event of the peer's side, arrived on this cloud's bus through the relay, applied
 * to this side's record. No state machine or workflow calls it: the AWS `peerEvents` Lambda (an
 * EventBridge rule) and the Google peer-events function (a Pub/Sub push) do, through
 * `consumePeerEvent` (intake.ts).
 */

import { type CloudEvent, parseEventType } from '../envelope.ts';
import {
  ConflictError,
  IllegalTransitionError,
  NotFoundError,
  PermissionDeniedError,
  PolicyHashMismatchError,
  ValidationError,
} from '../errors.ts';
import { type EventDataByName, type EventName, isLinkEvent, type LinkEventName } from '../events/catalog.ts';
import * as checks from '../events/checks.ts';
import { parseLinkEventData } from '../events/schemas.ts';
import { identityOf } from '../policy/policy.ts';
import { canonicalAwsPrincipal } from '../policy/principals.ts';
import { evaluatePolicy } from '../policy/rules.ts';
import { decommissionProposal } from './decommission.ts';
import type { Cloud, LinkRecord } from './model.ts';
import type { LinkDeps } from './ports.ts';
import { audit, emit, flushOutbox, type MutateResult, mutateLink } from './record.ts';
import { newRecord } from './request.ts';
import type { LinkInput } from './transition.ts';

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
  const data = parseLinkEventData(name, event.data) as EventDataByName[LinkEventName];
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
    // Another delivery of the same request created the replica first.
    const created = await deps.store.get(d.linkId);
    return done(deps, event, peer, {
      outcome: 'ignored',
      reason: 'link already known',
      ...(created ? { link: created.link } : {}),
    });
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
