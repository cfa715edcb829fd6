/**
 * Approve. The use case `decideApproval` records an approver's decision at this side's intake. The
 * step `approvalDeadline` is the fallback poll of the approval wait (escalate once, expire, or wait
 * again): ASL state `ApprovalDeadline` of link-provisioning (Lambda `stepApprovalDeadline`),
 * Workflows step `approval_deadline` (`POST /approvalDeadline`).
 */

import type { CloudEvent } from '../envelope.ts';
import { NotFoundError, PermissionDeniedError, ValidationError } from '../errors.ts';
import * as checks from '../events/checks.ts';
import { isLinkId } from '../ids.ts';
import { identityOf } from '../policy/policy.ts';
import { canonicalAwsPrincipal } from '../policy/principals.ts';
import { approverDecision } from '../policy/rules.ts';
import type { Cloud, LinkRecord } from './model.ts';
import type { Caller, LinkDeps, StoredLink } from './ports.ts';
import { audit, emit, flushOutbox, iso, mutateLink } from './record.ts';
import { load, type StepDeps, waitSeconds } from './stage.ts';
import type { LinkInput } from './transition.ts';
import { decommissioned, waitOutcome } from './waits.ts';

/** The link after a decision; `unchanged` says why when the link already held that decision. */
export interface DecidedLink extends StoredLink {
  unchanged?: string;
}

export function decided(result: { link: LinkRecord; version: number; ignored?: string }): DecidedLink {
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
export function decisionEvents(
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

/** `LinkApprovalRequested` again (an escalation, or a decommission's approval) for a link's approvers. */
export function approvalRequested(
  deps: StepDeps,
  link: LinkRecord,
  requester: string,
  escalateAt: string,
  expiresAt: string,
  stage?: 'decommissioning',
) {
  return emit(deps, checks.LinkApprovalRequested, {
    linkId: link.id,
    policyHash: deps.policy.hash,
    name: link.name,
    environment: link.environment,
    initiator: link.initiator,
    bandwidth: link.bandwidth,
    requester,
    approvers: deps.policy.document.environments[link.environment].approvers,
    escalateAt,
    expiresAt,
    ...(stage ? { stage } : {}),
  });
}

/**
 * The fallback poll after an approval wait timed out: decides whether to wait again, escalate
 * (once) or expire, so no wait parks longer than `pollEveryMs`.
 */
export async function approvalDeadline(
  deps: StepDeps,
  input: {
    linkId: string;
    check: { escalateAt: string; expiresAt: string; escalated: boolean };
  },
) {
  await flushOutbox(deps, input.linkId);
  const link = await load(deps, input.linkId);
  const done = waitOutcome(link, 'approval', deps.origin.cloud);
  if (done)
    return {
      ...input.check,
      next: 'error' in done ? done.error : decommissioned(link) ? 'decommissioning' : 'approved',
      waitSeconds: 1,
    };
  const now = deps.clock.now();
  const expiresAt = Date.parse(input.check.expiresAt);
  if (now >= expiresAt) {
    const waitingFor = (['aws', 'gcp'] as const).filter((s) => !link.approvals.some((a) => a.side === s));
    await mutateLink(
      deps,
      input.linkId,
      { kind: 'expire' },
      {
        extra: () => [
          emit(deps, checks.LinkExpired, {
            linkId: input.linkId,
            policyHash: deps.policy.hash,
            waitingFor,
            expiredAt: iso(now),
          }),
        ],
      },
    );
    await flushOutbox(deps, input.linkId);
    return { ...input.check, next: 'LinkExpired', waitSeconds: 1 };
  }
  deps.metrics?.pending('provisioning', now - Date.parse(link.createdAt));
  const escalateAt = Date.parse(input.check.escalateAt);
  if (!input.check.escalated && now >= escalateAt) {
    deps.metrics?.escalated('provisioning');
    await deps.events.put([
      approvalRequested(deps, link, link.requester, input.check.escalateAt, input.check.expiresAt),
    ]);
    return { ...input.check, escalated: true, next: 'wait', waitSeconds: waitSeconds(deps, now, expiresAt) };
  }
  const deadline = input.check.escalated ? expiresAt : escalateAt;
  return { ...input.check, next: 'wait', waitSeconds: waitSeconds(deps, now, deadline) };
}
