/**
 * The steps of the provisioning and decommissioning orchestrations, cloud-neutral: the AWS state
 * machines run them as Lambda tasks (functions/aws/link-steps.ts), Google Workflows as `POST
 * /<step>` on the `steps` function (functions/gcp/steps.ts), with the same JSON in and out. Each
 * takes the stage input and returns plain JSON; named errors propagate so the orchestrator's
 * Retry / Catch match on them. "Own half" is `deps.origin.cloud`'s: the half this side creates,
 * watches and deletes; the other half is the peer's replica.
 *
 * No step ever returns or receives an activation key: the key lives in the secret store (initiator)
 * or arrives sealed in the store (acceptor) and is read only inside `activate`.
 */

import { openSealedKey, sealKey } from '../crypto/seal.ts';
import type { CloudEvent } from '../envelope.ts';
import {
  CrosslinkError,
  IllegalTransitionError,
  NotConfiguredError,
  TimedOutError,
  ValidationError,
} from '../errors.ts';
import type { EventDataByName } from '../events/catalog.ts';
import * as checks from '../events/checks.ts';
import { parseBandwidth } from '../policy/bandwidth.ts';
import type { RegionPair } from '../policy/policy.ts';
import type { LinkRequest } from '../policy/request.ts';
import { keyFlowDecision } from '../policy/rules.ts';
import type { Cloud, LinkRecord, NativeState } from './model.ts';
import type {
  LinkDeps,
  OwnHalfView,
  OwnHalves,
  SecretStore,
  StageStore,
  TaskTokens,
  Unwrap,
  WaitPhase,
} from './ports.ts';
import type { TransitionResult } from './transition.ts';
import { emit, flushOutbox, mutateLink } from './use-cases.ts';

export type { OwnHalfView, OwnHalves, SecretStore, TaskTokens, Unwrap } from './ports.ts';
export { flushStaleOutboxes } from './use-cases.ts';

/** The environment could not take the link now (state or bandwidth). */
export class CapacityUnavailableError extends CrosslinkError {}
/** This side's half failed or vanished while the link was being provisioned. */
export class HalfFailedError extends CrosslinkError {}

export interface StepSettings {
  /** Escalate an approval wait after this long (ms). */
  escalateAfterMs: number;
  /** Expire it after this long (ms). */
  expireAfterMs: number;
  /** The longest a wait parks before a fallback poll (ms; at most an hour). */
  pollEveryMs: number;
  /**
   * The peer's public key (PEM) and id, from config: a sealed key is for it alone. Absent in the
   * first phase of a deploy (the peer not deployed yet): no key can be sealed, so no link starts.
   */
  peerKey?: { publicKeyPem: string; keyId: string } | undefined;
  /** Cost tags / labels put on every created resource, beside the link id. */
  tags: Record<string, string>;
  /** How long decommissioning waits for the peer to report its half drained before it stops, deleting nothing (ms). */
  drainWaitMs: number;
  /** How long a drained link stays drained before the half is deleted (ms). */
  drainSoakMs: number;
  /**
   * The longest the "both halves up" wait lasts after activation, and the "half gone" wait after
   * the delete (ms; default 7 days, `CROSSLINK_UP_DEADLINE`): past it the step throws TimedOutError.
   */
  upDeadlineMs?: number;
}

const DEFAULT_UP_DEADLINE_MS = 7 * 86_400_000;

function upDeadline(deps: StepDeps): number {
  return deps.settings.upDeadlineMs ?? DEFAULT_UP_DEADLINE_MS;
}

/** When the link's first stage named `state` began (ms), or undefined. */
function enteredAt(link: LinkRecord, state: string): number | undefined {
  const s = link.stages.find((x) => x.state === state);
  return s ? Date.parse(s.at) : undefined;
}

const days = (ms: number) => `${Math.round((ms / 86_400_000) * 10) / 10} days`;

/** What the approval waits publish (CloudWatch EMF on AWS, Cloud Monitoring on Google). */
export interface ApprovalMetrics {
  /** An approval (of a link or of its decommission) is still pending after `ageMs`. */
  pending(stage: 'provisioning' | 'decommissioning', ageMs: number): void;
  escalated(stage: 'provisioning' | 'decommissioning'): void;
  /** The watcher's count of halves billing with nobody watching (unknown ones, and those of FAILED links). */
  orphaned?(count: number): void;
}

export interface StepDeps extends LinkDeps {
  store: StageStore;
  halves: OwnHalves;
  secrets: SecretStore;
  tokens: TaskTokens;
  metrics?: ApprovalMetrics;
  /** This side's key the peer seals to (KMS key id, Cloud KMS key version name), and its decrypt. */
  ownKeyId: string;
  unwrap: Unwrap;
  settings: StepSettings;
}

export interface ExecutionInput {
  linkId: string;
  mode: 'initiate' | 'accept';
  request: LinkRequest;
}

const iso = (ms: number) => new Date(ms).toISOString();

async function load(deps: StepDeps, linkId: string): Promise<LinkRecord> {
  const s = await deps.store.get(linkId);
  if (!s) throw new IllegalTransitionError('ABSENT', 'provision', `link ${linkId} does not exist`);
  return s.link;
}

// ---- resume: answer the token a stage waits on, once what it waits for has happened ---------------

/** Whether `phase` is over for `link`, and how: the output to send, or the error name to fail with. */
export function waitOutcome(
  link: LinkRecord,
  phase: WaitPhase,
  own: Cloud = 'aws',
): { output: unknown } | { error: string; cause: string } | undefined {
  const s = link.state;
  const failed = ['REJECTED', 'EXPIRED', 'FAILED'].includes(s);
  if (failed && phase !== 'gone')
    return { error: `Link${s[0]}${s.slice(1).toLowerCase()}`, cause: lastReason(link) };
  // Decommissioned before it was ever up: provisioning ends quietly (its ASL / workflow routes
  // `decommissioning: true` to its end, without compensating); the decommissioning run deletes.
  if (PROVISIONING_WAITS.includes(phase) && decommissioned(link))
    return { output: { state: s, decommissioning: true } };
  switch (phase) {
    case 'approval':
      return s === 'AWAITING_APPROVAL' || s === 'REQUESTED' ? undefined : { output: { state: s } };
    case 'key':
      return undefined; // answered by the arrival of LinkKeyIssued, not by a state
    case 'up':
      return s === 'ACTIVE' || s === 'DEGRADED' ? { output: { state: s } } : undefined;
    case 'gone':
      return halfGone(link, own) ? { output: { state: s } } : undefined;
    case 'decommissionApproval': {
      const d = link.decommission;
      if (d?.status === 'APPROVED' || s === 'DECOMMISSIONING' || s === 'DECOMMISSIONED')
        return { output: { state: s } };
      if (d?.status === 'REJECTED')
        return {
          error: 'LinkDecommissionRejected',
          cause: `rejected by ${d.decision?.by}: ${d.decision?.reason ?? ''}`,
        };
      if (d?.status === 'EXPIRED')
        return { error: 'LinkDecommissionExpired', cause: 'no approval before the deadline' };
      return undefined;
    }
    case 'drained':
      return peerDrained(link) ? { output: { state: s } } : undefined;
  }
}

const PROVISIONING_WAITS: readonly WaitPhase[] = ['approval', 'key', 'up'];

/** Whether the link was taken into decommissioning (so provisioning has nothing left to do). */
function decommissioned(link: LinkRecord): boolean {
  return link.state === 'DECOMMISSIONING' || link.state === 'DECOMMISSIONED';
}

function halfGone(link: LinkRecord, side: Cloud): boolean {
  const c = link.halves[side].condition;
  return c === 'GONE' || c === 'NONE';
}

/**
 * Google's half carries no traffic: its transport is admin-disabled (routes withdrawn both ways) or
 * gone. Only Google can drain (AWS has no admin switch on a connection), so on either side the link
 * is drained when the gcp half is.
 */
export function peerDrained(link: LinkRecord): boolean {
  const g = link.halves.gcp;
  return g.adminEnabled === false || halfGone(link, 'gcp');
}

function lastReason(link: LinkRecord): string {
  return link.stages.at(-1)?.reason ?? link.state;
}

/** Sends the waiting token of `phase` when the link says the wait is over. Safe to call from anywhere, any number of times. */
export async function resumeWaiting(deps: StepDeps, link: LinkRecord, phases: WaitPhase[]): Promise<void> {
  for (const phase of phases) {
    const outcome = waitOutcome(link, phase, deps.origin.cloud);
    if (outcome) await answer(deps, link.id, phase, outcome);
  }
}

export async function answer(
  deps: StepDeps,
  linkId: string,
  phase: WaitPhase,
  outcome: { output: unknown } | { error: string; cause: string },
): Promise<void> {
  const token = await deps.store.takeToken(linkId, phase);
  if (!token) return;
  try {
    if ('output' in outcome) await deps.tokens.success(token, outcome.output);
    else await deps.tokens.failure(token, outcome.error, outcome.cause);
  } catch (e) {
    // Answered already (the other racer won) or timed out: the execution has moved on.
    if (['TaskTimedOut', 'InvalidToken', 'TaskDoesNotExist'].includes((e as Error).name)) return;
    if (!retryable(e)) throw e;
    // Throttled or unavailable: what the caller asked for is recorded, so it succeeds; the token goes
    // back for the next resumer or the wait's own fallback poll (at most `pollEveryMs` away).
    await deps.store.putToken(linkId, phase, token);
  }
}

/** A failure to answer a token that a later try can overcome (throttling, 5xx, 429, the network). */
function retryable(e: unknown): boolean {
  const err = e as {
    name?: string;
    $retryable?: unknown;
    $metadata?: { httpStatusCode?: number };
    status?: number;
  };
  const status = err.$metadata?.httpStatusCode ?? err.status;
  return (
    err.$retryable !== undefined ||
    (status !== undefined && (status === 429 || status >= 500)) ||
    [
      'ThrottlingException',
      'TooManyRequestsException',
      'ServiceUnavailable',
      'InternalServerError',
      'TimeoutError',
    ].includes(err.name ?? '')
  );
}

// ---- request -------------------------------------------------------------------------------------

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

function waitSeconds(deps: StepDeps, now: number, deadline: number): number {
  return Math.max(1, Math.ceil(Math.min(deps.settings.pollEveryMs, deadline - now) / 1000));
}

// ---- waits -----------------------------------------------------------------------------------------

/**
 * The `.waitForTaskToken` task of every wait: parks the token, then answers it at once if what the
 * stage waits for has already happened (an approval that came before the token was stored).
 */
export async function park(deps: StepDeps, input: { linkId: string; phase: WaitPhase; token: string }) {
  await deps.store.putToken(input.linkId, input.phase, input.token);
  await flushOutbox(deps, input.linkId);
  const link = await load(deps, input.linkId);
  if (input.phase === 'key' && !decommissioned(link) && (await deps.store.getSealedKey(input.linkId))) {
    await answer(deps, input.linkId, 'key', { output: { key: 'sealed' } });
    return { parked: true };
  }
  await resumeWaiting(deps, link, [input.phase]);
  return { parked: true };
}

/** `LinkApprovalRequested` again (an escalation, or a decommission's approval) for a link's approvers. */
function approvalRequested(
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

/** The fallback poll of the wait for the peer's sealed key (acceptor): ready, wait again, or give up. */
export async function keyDeadline(deps: StepDeps, input: { linkId: string; check: { expiresAt: string } }) {
  await flushOutbox(deps, input.linkId);
  const link = await load(deps, input.linkId);
  if (decommissioned(link)) return { next: 'decommissioning' };
  if (await deps.store.getSealedKey(input.linkId)) return { next: 'ready' };
  const done = waitOutcome(link, 'approval', deps.origin.cloud);
  if (done && 'error' in done) throw new HalfFailedError(`link ${link.id} is ${link.state}`);
  // A key is never issued once the approval deadline and the provider's 7-day key life have passed.
  if (deps.clock.now() > Date.parse(input.check.expiresAt) + 7 * 86_400_000)
    throw new TimedOutError(`no activation key arrived for ${input.linkId}`);
  return { next: 'wait' };
}

// ---- activate ----------------------------------------------------------------------------------------

/** The peer's sealing key; NotConfiguredError naming its variables when the deploy gave none. */
export function peerKeyOf(settings: Pick<StepSettings, 'peerKey'>): { publicKeyPem: string; keyId: string } {
  if (!settings.peerKey) throw new NotConfiguredError(PEER_NOT_CONFIGURED);
  return settings.peerKey;
}

/** Why a side without the peer's values refuses links (the first phase of a deploy). */
export const PEER_NOT_CONFIGURED =
  "this installation has no peer yet: CROSSLINK_PEER_PUBLIC_KEY_PEM and CROSSLINK_PEER_KEY_ID are empty (the first phase of the deploy); deploy the peer cloud, then deploy this side again with the peer's values (docs/deploy.md)";

/** Initiator: PROVISIONING, create own half (key to the secret store at once), a sealed copy for the peer. */
export async function activateInitiate(deps: StepDeps, input: ExecutionInput) {
  await mutateLink(deps, input.linkId, { kind: 'startProvisioning' });
  const { half, keyRef } = await deps.halves.initiate({
    linkId: input.linkId,
    request: input.request,
    tags: deps.settings.tags,
  });
  const key = await deps.secrets.getActivationKey(keyRef);
  const sealed = sealKey(key, peerKeyOf(deps.settings), input.linkId);
  // The sealed key (for the peer's eyes only) travels in the outbox with the half's first state.
  await recordOwnHalf(deps, input.linkId, half, () => [
    emit(deps, checks.LinkKeyIssued, {
      linkId: input.linkId,
      policyHash: deps.policy.hash,
      issuer: deps.origin.cloud,
      sealedKey: sealed,
      bandwidth: input.request.bandwidth,
      issuerResource: half.connectionId,
      issuedAt: iso(deps.clock.now()),
    }),
  ]);
  return { connectionId: half.connectionId, keyRef };
}

/** Acceptor: unseal the peer's key (KMS), accept it (AcceptConnectionProposal, CreateTransport with the key). */
export async function activateAccept(deps: StepDeps, input: ExecutionInput) {
  const started = await mutateLink(deps, input.linkId, { kind: 'startProvisioning' });
  const observedBefore = started.link.halves[deps.origin.cloud].sequence;
  await flushOutbox(deps, input.linkId);
  const sealed = await deps.store.getSealedKey(input.linkId);
  if (!sealed) throw new HalfFailedError(`no sealed key for ${input.linkId} has arrived`);
  const key = await openSealedKey(sealed, input.linkId, { keyId: deps.ownKeyId, unwrap: deps.unwrap });
  const half = await deps.halves.accept({
    linkId: input.linkId,
    request: input.request,
    activationKey: key,
    tags: deps.settings.tags,
  });
  await recordOwnHalf(deps, input.linkId, half, () => [], observedBefore);
  return { connectionId: half.connectionId };
}

/**
 * Records what this side observed of its own half (next sequence): `LinkSideStateChanged`, any
 * `LinkStateChanged` and `extra` go into the record's outbox in the same write, then the outbox is
 * flushed. A failed put leaves them there for the next flush (same ids). Used by the steps and the
 * watcher. Returns whether a change was recorded.
 *
 * `observedBefore` (a step that created the half: its sequence before the provider call) keeps a
 * step's snapshot from undoing a newer observation: the provider's answer to a create is read when
 * the call began, while the audit-log watcher may already have recorded the same resource further
 * along (ACTIVE while the create's answer still says PENDING_CONFIG); writing the snapshot over it
 * would flap the link ACTIVE -> DOWN and leave the `up` wait unanswered. Then the record stands
 * (the watcher keeps observing) and only the waits are resumed.
 */
export async function recordOwnHalf(
  deps: StepDeps,
  linkId: string,
  half: OwnHalfView | null,
  extra: () => CloudEvent[] = () => [],
  observedBefore?: number,
): Promise<boolean> {
  const side = deps.origin.cloud;
  let previous: NativeState | null = null;
  const result = await mutateLink(
    deps,
    linkId,
    (link) => {
      const h = link.halves[side];
      if (
        observedBefore !== undefined &&
        h.sequence > observedBefore &&
        half !== null &&
        h.resourceId === half.connectionId
      )
        return undefined;
      previous = h.nativeState;
      return {
        kind: 'halfObserved',
        side,
        sequence: link.halves[side].sequence + 1,
        nativeState: half?.state ?? null,
        ...(half ? { resourceId: half.connectionId } : {}),
        ...(half?.sharedId ? { sharedId: half.sharedId } : {}),
        ...(half?.adminEnabled !== undefined ? { adminEnabled: half.adminEnabled } : {}),
      };
    },
    { extra: (r) => [...extra(), emit(deps, checks.LinkSideStateChanged, sideData(deps, r, previous))] },
  );
  await flushOutbox(deps, linkId);
  await resumeWaiting(deps, result.link, ['up', 'gone']);
  return result.ignored === undefined;
}

function sideData(
  deps: StepDeps,
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

// ---- verify ------------------------------------------------------------------------------------------

/** The fallback poll of the "both halves up" wait: Get this half, record a change, decide. */
export async function pollHalf(
  deps: StepDeps,
  input: { linkId: string; activate: { connectionId: string } },
) {
  const half = await deps.halves.getHalf(input.activate.connectionId);
  const link = await load(deps, input.linkId);
  const own = link.halves[deps.origin.cloud];
  if (half?.state !== own.nativeState || half?.adminEnabled !== own.adminEnabled)
    await recordOwnHalf(deps, input.linkId, half);
  else await flushOutbox(deps, input.linkId);
  if (!half || ['failed', 'deleted', 'deleting'].includes(half.state))
    throw new HalfFailedError(`connection ${input.activate.connectionId} is ${half?.state ?? 'gone'}`);
  const now = await load(deps, input.linkId);
  // A peer that never comes up must not keep this wait (and this half's bill) going forever.
  const since = enteredAt(now, 'PROVISIONING');
  if (now.state === 'PROVISIONING' && since !== undefined && deps.clock.now() - since >= upDeadline(deps)) {
    const { aws, gcp } = now.halves;
    throw new TimedOutError(
      `link ${input.linkId} was not up on both sides ${days(upDeadline(deps))} after activation (aws ${aws.nativeState ?? 'none'}, gcp ${gcp.nativeState ?? 'none'})`,
    );
  }
  return { state: now.state, waitSeconds: Math.ceil(deps.settings.pollEveryMs / 1000) };
}

/** Report: the execution's summary (no key, no secret reference beyond its name). */
export async function report(deps: StepDeps, input: { linkId: string }) {
  await flushOutbox(deps, input.linkId);
  const link = await load(deps, input.linkId);
  return {
    linkId: link.id,
    state: link.state,
    connectionId: link.halves[deps.origin.cloud].resourceId ?? null,
  };
}

// ---- compensation ---------------------------------------------------------------------------------

/** The states of a link that is (or was) carrying traffic: its halves are the peer's too. */
const LIVE: readonly string[] = ['ACTIVE', 'DEGRADED', 'DOWN'];

/** The error of verify's failure (the gateway does not allow the routes): the one that closes a live link. */
export const VERIFY_FAILURE = 'PrefixesNotCoveredError';

/**
 * The provisioning stage that failed, from what the run had done: no request check yet (the
 * request step itself, e.g. a request this side cannot place), no approval and no activation yet
 * (the approval wait), else activation, or verify for its own error. A stage given wins.
 */
function failedStage(
  input: { stage?: string; check?: unknown; approved?: unknown; activate?: unknown },
  errorName: string,
): EventDataByName['LinkFailed']['stage'] {
  if (input.stage) return input.stage as EventDataByName['LinkFailed']['stage'];
  if (errorName === VERIFY_FAILURE) return 'verify';
  if (input.check === undefined) return 'request';
  if (input.approved === undefined && input.activate === undefined) return 'approve';
  return 'activate';
}

/**
 * Deletes what this side created for the link (found by its link id, so a create whose answer was
 * lost is found too), removes the key, and records the outcome: FAILED with `LinkFailed` after a
 * failure; the link stays REJECTED / EXPIRED after those.
 *
 * A link that reached ACTIVE / DEGRADED / DOWN is live on both sides: only verify's failure
 * (`PrefixesNotCoveredError`) closes it. After any other error nothing is deleted and nothing is
 * recorded: the output says `outcome: 'KEPT'` with the reason, and the link is decommissioned
 * like any other.
 */
export async function compensate(
  deps: StepDeps,
  input: {
    linkId: string;
    error?: { Error?: string; Cause?: string };
    stage?: string;
    // What the run had done when it failed (the state machine's and the workflow's state carry
    // each step's output under these names): which stage failed, for LinkFailed.
    check?: unknown;
    approved?: unknown;
    activate?: unknown;
  },
) {
  const errorName = input.error?.Error ?? 'Unknown';
  const before = await load(deps, input.linkId);
  if (decommissioned(before)) {
    // Asked to go away while it was being provisioned: the decommissioning run deletes the halves
    // (after its drain); a provisioning error is no failure of the link.
    await flushOutbox(deps, input.linkId);
    return {
      outcome: 'DECOMMISSIONING',
      state: before.state,
      deleted: [],
      reason: `the link is ${before.state}: ${errorName} ends provisioning; the decommissioning run deletes the halves`,
    };
  }
  if (errorName !== VERIFY_FAILURE && before.stages.some((s) => LIVE.includes(s.state))) {
    await flushOutbox(deps, input.linkId);
    return {
      outcome: 'KEPT',
      state: before.state,
      deleted: [],
      kept: before.halves[deps.origin.cloud].resourceId ?? null,
      reason: `the link reached ${before.stages.find((s) => LIVE.includes(s.state))?.state}: ${errorName} after that deletes nothing (decommission it to take it down)`,
    };
  }
  const deleted: string[] = [];
  const remaining: string[] = [];
  for (const h of await deps.halves.findHalves(input.linkId)) {
    try {
      await deps.halves.deleteHalf(h.connectionId);
      deleted.push(h.connectionId);
    } catch {
      remaining.push(h.connectionId);
    }
  }
  await deps.secrets.deleteActivationKey(input.linkId);
  const link = await load(deps, input.linkId);
  const outcome = ['REJECTED', 'EXPIRED'].includes(link.state) ? link.state : 'FAILED';
  if (outcome === 'FAILED') {
    const message = causeMessage(input.error?.Cause);
    await mutateLink(
      deps,
      input.linkId,
      {
        kind: errorName === VERIFY_FAILURE ? 'failVerify' : 'fail',
        reason: `${errorName}: ${message}`,
      },
      {
        extra: () => [
          emit(deps, checks.LinkFailed, {
            linkId: input.linkId,
            policyHash: deps.policy.hash,
            side: deps.origin.cloud,
            stage: failedStage(input, errorName),
            error: { name: errorName, message },
            compensation: { deleted, remaining },
            failedAt: iso(deps.clock.now()),
          }),
        ],
      },
    ).catch((e) => {
      if (e instanceof IllegalTransitionError) return undefined;
      throw e;
    });
  }
  await flushOutbox(deps, input.linkId);
  if (remaining.length) throw new HalfFailedError(`could not delete ${remaining.join(', ')}`);
  return { outcome, deleted };
}

/** The message of a Lambda error cause (`{"errorType","errorMessage"}`), without its stack. */
function causeMessage(cause: string | undefined): string {
  if (!cause) return 'no cause';
  try {
    const c = JSON.parse(cause) as { errorMessage?: string };
    return (c.errorMessage ?? cause).slice(0, 500);
  } catch {
    return cause.slice(0, 500);
  }
}

// ---- decommissioning --------------------------------------------------------------------------------

/** Delete stage: delete this side's half (idempotent; a gone half counts as deleted). */
export async function deleteOwnHalf(deps: StepDeps, input: { linkId: string }) {
  const link = await load(deps, input.linkId);
  const own = link.halves[deps.origin.cloud];
  const ids = new Set<string>(own.resourceId ? [own.resourceId] : []);
  for (const h of await deps.halves.findHalves(input.linkId)) ids.add(h.connectionId);
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
  if (gone && !halfGone(link, deps.origin.cloud)) await recordOwnHalf(deps, input.linkId, last);
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

// ---- decommissioning: request -> approve -> drain ----------------------------------------------------

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
    await recordOwnHalf(deps, link.id, half);
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
