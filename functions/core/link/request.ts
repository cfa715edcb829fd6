/**
 * Request. The use case `requestLink` takes a link request from its verified caller at this side's
 * intake (REQUESTED, `LinkRequested`). The step `request` opens the approval wait of a provisioning
 * run: ASL state `Request` of link-provisioning (Lambda `stepRequest`), Workflows step `request`
 * (`POST /request`).
 */

import type { CloudEvent } from '../envelope.ts';
import { ConflictError, IllegalTransitionError, PolicyRefusedError, ValidationError } from '../errors.ts';
import * as checks from '../events/checks.ts';
import { mintLinkId } from '../ids.ts';
import { parseBandwidth } from '../policy/bandwidth.ts';
import { canonicalHash, identityOf, type RegionPair } from '../policy/policy.ts';
import { canonicalAwsPrincipal } from '../policy/principals.ts';
import { type LinkRequest, parseLinkRequest } from '../policy/request.ts';
import { type Evaluation, evaluatePolicy, keyFlowDecision } from '../policy/rules.ts';
import type { LinkRecord } from './model.ts';
import type { Caller, LinkDeps } from './ports.ts';
import { audit, emit, flushOutbox, iso, mutateLink } from './record.ts';
import { CapacityUnavailableError, type ExecutionInput, type StepDeps, waitSeconds } from './stage.ts';
import { createLink, transition } from './transition.ts';

const DAY = 86_400_000;

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
export function newRecord(
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
      endpoints: {
        aws: {
          accountId: request.aws.accountId,
          region: request.aws.region,
          directConnectGateway: request.aws.directConnectGateway,
          routes: [...request.aws.routes],
        },
        gcp: {
          project: request.gcp.project,
          region: request.gcp.region,
          network: request.gcp.network,
          routes: [...request.gcp.routes],
        },
      },
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

/** The policy's region pair of the request; a pair the policy does not list is refused. */
function pairOf(deps: StepDeps, request: LinkRequest): RegionPair {
  const pair = deps.policy.document.regionPairs.find(
    (p) => p.aws === request.aws.region && p.gcp === request.gcp.region,
  );
  if (!pair)
    throw new CapacityUnavailableError(
      `the policy pairs no AWS ${request.aws.region} with Google ${request.gcp.region}`,
    );
  return pair;
}

/**
 * Request stage: live capacity of the pair on this side (discovered in the request's regions; on
 * Google also the profile's key flow), then AWAITING_APPROVAL and `LinkApprovalRequested` with
 * the deadlines.
 */
export async function request(deps: StepDeps, input: ExecutionInput) {
  // A run started for a link that already FAILED (the peer-event consumer's compensation run, see
  // COMPENSATION_ATTEMPT) has nothing to provision: its Catch takes it to compensation.
  const current = await deps.store.get(input.linkId);
  if (current?.link.state === 'FAILED')
    throw new IllegalTransitionError(
      'FAILED',
      'provision',
      `link ${input.linkId} already FAILED (${current.link.stages.at(-1)?.reason ?? 'no reason'}): this run compensates this side's half`,
    );
  // The initiator's intake refused a misplaced request before recording it; the acceptor learns of
  // the request here first. Refusing now (not retried: compensation, FAILED, LinkFailed to the peer)
  // spares the approvers a link that would fail only at activation. (A link policy auto-approves may
  // already be activating on the initiator: its compensation deletes what it created.)
  const misplaced = deps.placement?.(input.request) ?? [];
  if (misplaced.length > 0) throw new ValidationError(misplaced, 'request');
  pairOf(deps, input.request);
  const cap = await deps.halves.capacity(input.request);
  // Either spelling (1Gbps, BPS_1G) on either side: compare the rates.
  const wanted = parseBandwidth(input.request.bandwidth)?.mbps;
  const offered = cap.availableBandwidths.some((b) => parseBandwidth(b)?.mbps === wanted);
  if (cap.state === 'unavailable' || !offered)
    throw new CapacityUnavailableError(
      `${cap.offering} is ${cap.state}; ${input.request.bandwidth} available: ${offered}`,
    );
  if (cap.flow) {
    const [ok, why] = keyFlowDecision(cap.flow, input.request.initiator);
    if (!ok) throw new CapacityUnavailableError(`${cap.offering}: ${why}`);
  }
  const now = deps.clock.now();
  const escalateAt = now + deps.settings.escalateAfterMs;
  const expiresAt = now + deps.settings.expireAfterMs;
  // In the record's outbox with the state change: a put that fails is retried by the next flush
  // (this step's retry, or any later step or watcher run), with the same event id.
  await mutateLink(
    deps,
    input.linkId,
    { kind: 'requestApproval' },
    {
      extra: (result) => [
        emit(deps, checks.LinkApprovalRequested, {
          linkId: input.linkId,
          policyHash: deps.policy.hash,
          name: result.link.name,
          environment: result.link.environment,
          initiator: result.link.initiator,
          bandwidth: input.request.bandwidth,
          requester: result.link.requester,
          approvers: deps.policy.document.environments[result.link.environment].approvers,
          escalateAt: iso(escalateAt),
          expiresAt: iso(expiresAt),
        }),
      ],
    },
  );
  await flushOutbox(deps, input.linkId);
  return {
    escalateAt: iso(escalateAt),
    expiresAt: iso(expiresAt),
    waitSeconds: waitSeconds(deps, now, escalateAt),
    escalated: false,
  };
}
