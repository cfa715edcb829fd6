/**
 * Decommission. The use cases `requestDecommission` and `decideDecommission` run at this side's
 * intake. The steps of link-decommissioning: `decommissionRequest` (ASL state `Request`, Lambda
 * `stepDecommissionRequest`; Workflows step `request`, `POST /decommissionRequest`),
 * `decommissionDeadline` (ASL `ApprovalDeadline`, Lambda `stepDecommissionDeadline`; Workflows
 * `approval_deadline`), `drainCheck` (ASL `DrainCheck`, Lambda `stepDrainCheck`; Workflows
 * `drain_check`), `deleteOwnHalf` (ASL `DeleteHalf`, Lambda `stepDeleteOwnHalf`; Workflows
 * `delete_half`) and `confirmDeleted` (ASL `Confirm`, Lambda `stepConfirmDeleted`; Workflows
 * `confirm`).
 */

import { NotFoundError, PermissionDeniedError, TimedOutError, ValidationError } from '../errors.ts';
import type { EventDataByName } from '../events/catalog.ts';
import * as checks from '../events/checks.ts';
import { identityOf } from '../policy/policy.ts';
import { canonicalAwsPrincipal, cloudOfPrincipal, matchesPrincipal } from '../policy/principals.ts';
import { approverDecision } from '../policy/rules.ts';
import { approvalRequested, type DecidedLink, type DecideInput, decided, decisionEvents } from './approve.ts';
import { type LinkRecord, ownRegion } from './model.ts';
import type { Caller, LinkDeps, OwnHalfView, StoredLink } from './ports.ts';
import { audit, emit, flushOutbox, iso, mutateLink, observationOf } from './record.ts';
import { days, enteredAt, load, type StepDeps, upDeadline, waitSeconds } from './stage.ts';
import type { LinkInput } from './transition.ts';
import { halfGone, peerDrained, recordOwnHalfAndResume, waitOutcome } from './waits.ts';

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

export function decommissionProposal(
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

/**
 * Decommission request stage: the deadlines of its approval wait (the escalation and expiry of
 * provisioning's) and `LinkApprovalRequested` for the approvers, unless it is already decided.
 */
export async function decommissionRequest(deps: StepDeps, input: { linkId: string }) {
  await flushOutbox(deps, input.linkId);
  const link = await load(deps, input.linkId);
  const d = link.decommission;
  const now = deps.clock.now();
  const since = d ? Date.parse(d.requestedAt) : now;
  const escalateAt = since + deps.settings.escalateAfterMs;
  const expiresAt = since + deps.settings.expireAfterMs;
  if (d?.status === 'PENDING') {
    await deps.events.put([
      approvalRequested(deps, link, d.requestedBy, iso(escalateAt), iso(expiresAt), 'decommissioning'),
    ]);
  }
  return {
    escalateAt: iso(escalateAt),
    expiresAt: iso(expiresAt),
    escalated: false,
    waitSeconds: waitSeconds(deps, now, escalateAt),
  };
}

/**
 * The fallback poll after a decommission approval wait timed out: approved, closed (rejected or
 * expired: the link stays as it was), escalate once, or wait again. At the deadline the request is
 * recorded EXPIRED (`LinkExpired` with stage decommissioning); nothing is deleted.
 */
export async function decommissionDeadline(
  deps: StepDeps,
  input: { linkId: string; check: { escalateAt: string; expiresAt: string; escalated: boolean } },
) {
  await flushOutbox(deps, input.linkId);
  const link = await load(deps, input.linkId);
  const done = waitOutcome(link, 'decommissionApproval', deps.origin.cloud);
  if (done) return { ...input.check, next: 'error' in done ? done.error : 'approved', waitSeconds: 1 };
  const now = deps.clock.now();
  const expiresAt = Date.parse(input.check.expiresAt);
  if (now >= expiresAt) {
    const result = await mutateLink(
      deps,
      input.linkId,
      { kind: 'expireDecommission' },
      {
        extra: () => [
          emit(deps, checks.LinkExpired, {
            linkId: input.linkId,
            policyHash: deps.policy.hash,
            waitingFor: ['aws', 'gcp'],
            expiredAt: iso(now),
            stage: 'decommissioning',
          }),
        ],
      },
    );
    if (result.ignored === undefined)
      await deps.store.appendAudit({
        linkId: input.linkId,
        at: iso(now),
        actor: 'crosslink',
        action: 'decommission-expire',
        outcome: 'applied',
        policyHash: deps.policy.hash,
        reasons: ['no approval before the deadline: the request expired, the link stays as it was'],
      });
    await flushOutbox(deps, input.linkId);
    return { ...input.check, next: 'LinkDecommissionExpired', waitSeconds: 1 };
  }
  deps.metrics?.pending(
    'decommissioning',
    now - Date.parse(link.decommission?.requestedAt ?? link.updatedAt),
  );
  const escalateAt = Date.parse(input.check.escalateAt);
  if (!input.check.escalated && now >= escalateAt) {
    deps.metrics?.escalated('decommissioning');
    const out = await decommissionRequest(deps, { linkId: input.linkId });
    return {
      ...input.check,
      escalated: true,
      next: 'wait',
      waitSeconds: waitSeconds(deps, now, expiresAt),
      requested: out.escalateAt,
    };
  }
  const deadline = input.check.escalated ? expiresAt : escalateAt;
  return { ...input.check, next: 'wait', waitSeconds: waitSeconds(deps, now, deadline) };
}

/**
 * Drain. Google drains its own half: `disableHalf` sets the transport's `adminEnabled: false`
 * (routes withdrawn both ways), recorded as the own half's change. AWS has no admin switch on a
 * connection, so that side waits for Google's half to report drained (transport `adminEnabled:
 * false`, or gone). Either way it then soaks before the irreversible delete. Past `drainWaitMs`
 * without that report it stops safely: nothing is deleted, the link stays DECOMMISSIONING, the
 * stall is recorded, and a new decommission request runs the next attempt.
 */
export async function drainCheck(deps: StepDeps, input: { linkId: string; drain?: { deadline: string } }) {
  let link = await load(deps, input.linkId);
  const own = link.halves[deps.origin.cloud];
  if (deps.halves.disableHalf && own.resourceId && !peerDrained(link)) {
    const half = await deps.halves.disableHalf(own.resourceId, link.decommission?.attempt ?? 1);
    await recordOwnHalfAndResume(deps, observationOf(link.id, half));
    link = await load(deps, input.linkId);
  } else await flushOutbox(deps, input.linkId);
  const now = deps.clock.now();
  const deadline = input.drain?.deadline ?? iso(now + deps.settings.drainWaitMs);
  const soakSeconds = Math.max(1, Math.ceil(deps.settings.drainSoakMs / 1000));
  if (peerDrained(link)) {
    if (!input.drain)
      await deps.store.appendAudit({
        linkId: link.id,
        at: iso(now),
        actor: 'crosslink',
        action: 'drain',
        outcome: 'applied',
        policyHash: deps.policy.hash,
        reasons: [
          `gcp half drained (${link.halves.gcp.adminEnabled === false ? 'adminEnabled false' : 'gone'}); soaking ${soakSeconds} s`,
        ],
      });
    return { next: 'drained', deadline, soakSeconds, waitSeconds: 1 };
  }
  const left = Date.parse(deadline) - now;
  if (left <= 0) {
    const reason = `the gcp half did not report drained within ${Math.round(deps.settings.drainWaitMs / 60_000)} min (nativeState ${link.halves.gcp.nativeState}, adminEnabled ${link.halves.gcp.adminEnabled ?? 'unknown'}): nothing deleted`;
    await mutateLink(deps, link.id, { kind: 'drainStalled', reason });
    await deps.store.appendAudit({
      linkId: link.id,
      at: iso(now),
      actor: 'crosslink',
      action: 'drain',
      outcome: 'refused',
      policyHash: deps.policy.hash,
      reasons: [reason],
    });
    return { next: 'stalled', deadline, soakSeconds, waitSeconds: 1, reason };
  }
  return { next: 'wait', deadline, soakSeconds, waitSeconds: waitSeconds(deps, now, Date.parse(deadline)) };
}

/** Delete stage: delete this side's half (idempotent; a gone half counts as deleted). */
export async function deleteOwnHalf(deps: StepDeps, input: { linkId: string }) {
  const link = await load(deps, input.linkId);
  const own = link.halves[deps.origin.cloud];
  const ids = new Set<string>(own.resourceId ? [own.resourceId] : []);
  // Only the link's own region holds its halves: an outage elsewhere must not hold its delete up.
  for (const h of await deps.halves.findHalves(input.linkId, ownRegion(link, deps.origin.cloud)))
    ids.add(h.connectionId);
  for (const id of ids) await deps.halves.deleteHalf(id, link.decommission?.attempt ?? 1);
  await deps.secrets.deleteActivationKey(input.linkId);
  await flushOutbox(deps, input.linkId);
  return {
    connectionIds: [...ids],
    deadline: iso(deps.clock.now() + upDeadline(deps)),
    waitSeconds: Math.ceil(deps.settings.pollEveryMs / 1000),
  };
}

/** Confirm stage: gone only when a Get says so (404 or state `deleted`), never on absence from a list. */
export async function confirmDeleted(
  deps: StepDeps,
  input: { linkId: string; deleted: { connectionIds: string[]; deadline?: string } },
) {
  let gone = true;
  let last: OwnHalfView | null = null;
  for (const id of input.deleted.connectionIds) {
    const half = await deps.halves.getHalf(id);
    if (half && half.state !== 'deleted') gone = false;
    if (half) last = half;
  }
  const link = await load(deps, input.linkId);
  if (gone && !halfGone(link, deps.origin.cloud))
    await recordOwnHalfAndResume(deps, observationOf(input.linkId, last));
  else await flushOutbox(deps, input.linkId);
  const deadline = input.deleted.deadline
    ? Date.parse(input.deleted.deadline)
    : (enteredAt(link, 'DECOMMISSIONING') ?? deps.clock.now()) + upDeadline(deps);
  if (!gone && deps.clock.now() >= deadline)
    throw new TimedOutError(
      `${input.deleted.connectionIds.join(', ')} of link ${input.linkId} still not deleted ${days(upDeadline(deps))} after the delete (last state ${last?.state ?? 'unknown'}): check the provider; ask for the decommission again to retry`,
    );
  return { gone, waitSeconds: Math.ceil(deps.settings.pollEveryMs / 1000) };
}
