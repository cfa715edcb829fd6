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
import { buildEvent } from '../envelope.ts';
import { CrosslinkError, IllegalTransitionError, TimedOutError } from '../errors.ts';
import type { EventDataByName, EventName } from '../events/catalog.ts';
import { parseBandwidth } from '../policy/bandwidth.ts';
import type { RegionPair } from '../policy/policy.ts';
import type { LinkRequest } from '../policy/request.ts';
import type { Cloud, LinkRecord } from './model.ts';
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
import { mutateLink } from './use-cases.ts';

export type { OwnHalfView, OwnHalves, SecretStore, TaskTokens, Unwrap } from './ports.ts';

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
  /** The peer's public key (PEM) and id, from config: a sealed key is for it alone. */
  peerKey: { publicKeyPem: string; keyId: string };
  /** Cost tags / labels put on every created resource, beside the link id. */
  tags: Record<string, string>;
  /** How long decommissioning waits for the peer to report its half drained before it stops, deleting nothing (ms). */
  drainWaitMs: number;
  /** How long a drained link stays drained before the half is deleted (ms). */
  drainSoakMs: number;
}

/** What the approval waits publish (CloudWatch EMF on AWS, Cloud Monitoring on Google). */
export interface ApprovalMetrics {
  /** An approval (of a link or of its decommission) is still pending after `ageMs`. */
  pending(stage: 'provisioning' | 'decommissioning', ageMs: number): void;
  escalated(stage: 'provisioning' | 'decommissioning'): void;
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

function emit<N extends EventName>(deps: LinkDeps, name: N, data: EventDataByName[N]) {
  return buildEvent({
    name,
    origin: deps.origin,
    subject: data.linkId,
    data,
    clock: deps.clock,
  } as Parameters<typeof buildEvent<EventDataByName[N]>>[0]);
}

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
    if (!['TaskTimedOut', 'InvalidToken', 'TaskDoesNotExist'].includes((e as Error).name)) throw e;
  }
}

// ---- request -------------------------------------------------------------------------------------

/** Request stage: live capacity, then AWAITING_APPROVAL and `LinkApprovalRequested` with the deadlines. */
/** The policy's region pair of the request (its AWS environment and Google profile). */
function pairOf(deps: StepDeps, request: LinkRequest): RegionPair {
  const pair = deps.policy.document.regionPairs.find(
    (p) => p.aws === request.aws.region && p.gcp === request.gcp.region,
  );
  if (!pair)
    throw new CapacityUnavailableError(
      `no environment pairs ${request.aws.region} with ${request.gcp.region}`,
    );
  return pair;
}

export async function request(deps: StepDeps, input: ExecutionInput) {
  const pair = pairOf(deps, input.request);
  const cap = await deps.halves.capacity(pair);
  // Either spelling (1Gbps, BPS_1G) on either side: compare the rates.
  const wanted = parseBandwidth(input.request.bandwidth)?.mbps;
  const offered = cap.availableBandwidths.some((b) => parseBandwidth(b)?.mbps === wanted);
  if (cap.state === 'unavailable' || !offered)
    throw new CapacityUnavailableError(
      `environment ${pair.environmentId} is ${cap.state}; ${input.request.bandwidth} available: ${offered}`,
    );
  const now = deps.clock.now();
  const result = await mutateLink(deps, input.linkId, { kind: 'requestApproval' });
  const escalateAt = now + deps.settings.escalateAfterMs;
  const expiresAt = now + deps.settings.expireAfterMs;
  if (result.ignored === undefined) {
    const env = deps.policy.document.environments[result.link.environment];
    await deps.events.put([
      emit(deps, 'LinkApprovalRequested', {
        linkId: input.linkId,
        policyHash: deps.policy.hash,
        name: result.link.name,
        environment: result.link.environment,
        initiator: result.link.initiator,
        bandwidth: input.request.bandwidth,
        requester: result.link.requester,
        approvers: env.approvers,
        escalateAt: iso(escalateAt),
        expiresAt: iso(expiresAt),
      }),
      ...result.events.map((e) => emit(deps, 'LinkStateChanged', e.data)),
    ]);
  }
  return {
    environmentId: pair.environmentId,
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
  const link = await load(deps, input.linkId);
  if (input.phase === 'key') {
    if (await deps.store.getSealedKey(input.linkId))
      await answer(deps, input.linkId, 'key', { output: { key: 'sealed' } });
    else if (['REJECTED', 'EXPIRED', 'FAILED'].includes(link.state))
      await resumeWaiting(deps, link, ['approval']);
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
  return emit(deps, 'LinkApprovalRequested', {
    linkId: link.id,
    policyHash: deps.policy.hash,
    name: link.name,
    environment: link.environment,
    initiator: link.initiator,
    bandwidth: 'unchanged',
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
    check: { environmentId: string; escalateAt: string; expiresAt: string; escalated: boolean };
  },
) {
  const link = await load(deps, input.linkId);
  const done = waitOutcome(link, 'approval', deps.origin.cloud);
  if (done) return { ...input.check, next: 'error' in done ? done.error : 'approved', waitSeconds: 1 };
  const now = deps.clock.now();
  const expiresAt = Date.parse(input.check.expiresAt);
  if (now >= expiresAt) {
    const result = await mutateLink(deps, input.linkId, { kind: 'expire' });
    const waitingFor = (['aws', 'gcp'] as const).filter((s) => !link.approvals.some((a) => a.side === s));
    if (result.ignored === undefined)
      await deps.events.put([
        emit(deps, 'LinkExpired', {
          linkId: input.linkId,
          policyHash: deps.policy.hash,
          waitingFor,
          expiredAt: iso(now),
        }),
        ...result.events.map((e) => emit(deps, 'LinkStateChanged', e.data)),
      ]);
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
  if (await deps.store.getSealedKey(input.linkId)) return { next: 'ready' };
  const link = await load(deps, input.linkId);
  const done = waitOutcome(link, 'approval', deps.origin.cloud);
  if (done && 'error' in done) throw new HalfFailedError(`link ${link.id} is ${link.state}`);
  // A key is never issued once the approval deadline and the provider's 7-day key life have passed.
  if (deps.clock.now() > Date.parse(input.check.expiresAt) + 7 * 86_400_000)
    throw new TimedOutError(`no activation key arrived for ${input.linkId}`);
  return { next: 'wait' };
}

// ---- activate ----------------------------------------------------------------------------------------

/** Initiator: PROVISIONING, create own half (key to the secret store at once), a sealed copy for the peer. */
export async function activateInitiate(
  deps: StepDeps,
  input: ExecutionInput & { check: { environmentId: string } },
) {
  const started = await mutateLink(deps, input.linkId, { kind: 'startProvisioning' });
  const { half, keyRef } = await deps.halves.initiate({
    linkId: input.linkId,
    request: input.request,
    environmentId: input.check.environmentId,
    remoteProfile: pairOf(deps, input.request).remoteProfile,
    tags: deps.settings.tags,
  });
  const key = await deps.secrets.getActivationKey(keyRef);
  const sealed = sealKey(key, deps.settings.peerKey, input.linkId);
  const observed = await recordOwnHalf(deps, input.linkId, half);
  await deps.events.put([
    ...started.events.map((e) => emit(deps, 'LinkStateChanged', e.data)),
    emit(deps, 'LinkKeyIssued', {
      linkId: input.linkId,
      policyHash: deps.policy.hash,
      issuer: deps.origin.cloud,
      sealedKey: sealed,
      bandwidth: input.request.bandwidth,
      issuerResource: half.connectionId,
      issuedAt: iso(deps.clock.now()),
    }),
    ...observed,
  ]);
  return { connectionId: half.connectionId, keyRef };
}

/** Acceptor: unseal the peer's key (KMS), accept it (AcceptConnectionProposal, CreateTransport with the key). */
export async function activateAccept(deps: StepDeps, input: ExecutionInput) {
  const started = await mutateLink(deps, input.linkId, { kind: 'startProvisioning' });
  const sealed = await deps.store.getSealedKey(input.linkId);
  if (!sealed) throw new HalfFailedError(`no sealed key for ${input.linkId} has arrived`);
  const key = await openSealedKey(sealed, input.linkId, { keyId: deps.ownKeyId, unwrap: deps.unwrap });
  const half = await deps.halves.accept({
    linkId: input.linkId,
    request: input.request,
    activationKey: key,
    remoteProfile: pairOf(deps, input.request).remoteProfile,
    tags: deps.settings.tags,
  });
  const observed = await recordOwnHalf(deps, input.linkId, half);
  await deps.events.put([...started.events.map((e) => emit(deps, 'LinkStateChanged', e.data)), ...observed]);
  return { connectionId: half.connectionId };
}

/**
 * Records what this side observed of its own half (next sequence), returning the events to put:
 * `LinkSideStateChanged` and any `LinkStateChanged`. Used by the steps and the watcher.
 */
export async function recordOwnHalf(deps: StepDeps, linkId: string, half: OwnHalfView | null) {
  const side = deps.origin.cloud;
  const result = await mutateLink(deps, linkId, (link) => ({
    kind: 'halfObserved',
    side,
    sequence: link.halves[side].sequence + 1,
    nativeState: half?.state ?? null,
    ...(half ? { resourceId: half.connectionId } : {}),
    ...(half?.sharedId ? { sharedId: half.sharedId } : {}),
    ...(half?.adminEnabled !== undefined ? { adminEnabled: half.adminEnabled } : {}),
  }));
  if (result.ignored !== undefined) return [];
  const h = result.link.halves[side];
  const data: EventDataByName['LinkSideStateChanged'] = {
    linkId,
    policyHash: deps.policy.hash,
    side,
    sequence: h.sequence,
    nativeState: h.nativeState,
    previousNativeState: null,
    condition: h.condition,
    observedAt: iso(deps.clock.now()),
  };
  if (h.resourceId) data.resourceId = h.resourceId;
  if (h.sharedId) data.sharedId = h.sharedId;
  if (h.adminEnabled !== undefined) data.adminEnabled = h.adminEnabled;
  await resumeWaiting(deps, result.link, ['up', 'gone']);
  return [
    emit(deps, 'LinkSideStateChanged', data),
    ...result.events.map((e) => emit(deps, 'LinkStateChanged', e.data)),
  ];
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
  if (half?.state !== own.nativeState || half?.adminEnabled !== own.adminEnabled) {
    const events = await recordOwnHalf(deps, input.linkId, half);
    if (events.length) await deps.events.put(events);
  }
  if (!half || ['failed', 'deleted', 'deleting'].includes(half.state))
    throw new HalfFailedError(`connection ${input.activate.connectionId} is ${half?.state ?? 'gone'}`);
  const now = await load(deps, input.linkId);
  return { state: now.state, waitSeconds: Math.ceil(deps.settings.pollEveryMs / 1000) };
}

/** Report: the execution's summary (no key, no secret reference beyond its name). */
export async function report(deps: StepDeps, input: { linkId: string }) {
  const link = await load(deps, input.linkId);
  return {
    linkId: link.id,
    state: link.state,
    connectionId: link.halves[deps.origin.cloud].resourceId ?? null,
  };
}

// ---- compensation ---------------------------------------------------------------------------------

/**
 * Deletes what this side created for the link (found by its link id, so a create whose answer was
 * lost is found too), removes the key, and records the outcome: FAILED with `LinkFailed` after a
 * failure; the link stays REJECTED / EXPIRED after those.
 */
export async function compensate(
  deps: StepDeps,
  input: { linkId: string; error?: { Error?: string; Cause?: string }; stage?: string },
) {
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
  const errorName = input.error?.Error ?? 'Unknown';
  const outcome = ['REJECTED', 'EXPIRED'].includes(link.state) ? link.state : 'FAILED';
  if (outcome === 'FAILED') {
    const message = causeMessage(input.error?.Cause);
    const result = await mutateLink(deps, input.linkId, {
      kind: errorName === 'PrefixesNotCoveredError' ? 'failVerify' : 'fail',
      reason: `${errorName}: ${message}`,
    }).catch((e) => {
      if (e instanceof IllegalTransitionError) return undefined;
      throw e;
    });
    await deps.events.put([
      ...(result?.events ?? []).map((e) => emit(deps, 'LinkStateChanged', e.data)),
      emit(deps, 'LinkFailed', {
        linkId: input.linkId,
        policyHash: deps.policy.hash,
        side: deps.origin.cloud,
        stage:
          (input.stage as EventDataByName['LinkFailed']['stage']) ??
          (errorName === 'PrefixesNotCoveredError' ? 'verify' : 'activate'),
        error: { name: errorName, message },
        compensation: { deleted, remaining },
        failedAt: iso(deps.clock.now()),
      }),
    ]);
  }
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
  return { connectionIds: [...ids], waitSeconds: Math.ceil(deps.settings.pollEveryMs / 1000) };
}

/** Confirm stage: gone only when a Get says so (404 or state `deleted`), never on absence from a list. */
export async function confirmDeleted(
  deps: StepDeps,
  input: { linkId: string; deleted: { connectionIds: string[] } },
) {
  let gone = true;
  let last: OwnHalfView | null = null;
  for (const id of input.deleted.connectionIds) {
    const half = await deps.halves.getHalf(id);
    if (half && half.state !== 'deleted') gone = false;
    if (half) last = half;
  }
  const link = await load(deps, input.linkId);
  if (gone && !halfGone(link, deps.origin.cloud)) {
    const events = await recordOwnHalf(deps, input.linkId, last);
    if (events.length) await deps.events.put(events);
  }
  return { gone, waitSeconds: Math.ceil(deps.settings.pollEveryMs / 1000) };
}

// ---- decommissioning: request -> approve -> drain ----------------------------------------------------

/**
 * Decommission request stage: the deadlines of its approval wait (the escalation and expiry of
 * provisioning's) and `LinkApprovalRequested` for the approvers, unless it is already decided.
 */
export async function decommissionRequest(deps: StepDeps, input: { linkId: string }) {
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
  const link = await load(deps, input.linkId);
  const done = waitOutcome(link, 'decommissionApproval', deps.origin.cloud);
  if (done) return { ...input.check, next: 'error' in done ? done.error : 'approved', waitSeconds: 1 };
  const now = deps.clock.now();
  const expiresAt = Date.parse(input.check.expiresAt);
  if (now >= expiresAt) {
    const result = await mutateLink(deps, input.linkId, { kind: 'expireDecommission' });
    if (result.ignored === undefined) {
      await deps.store.appendAudit({
        linkId: input.linkId,
        at: iso(now),
        actor: 'crosslink',
        action: 'decommission-expire',
        outcome: 'applied',
        policyHash: deps.policy.hash,
        reasons: ['no approval before the deadline: the request expired, the link stays as it was'],
      });
      await deps.events.put([
        emit(deps, 'LinkExpired', {
          linkId: input.linkId,
          policyHash: deps.policy.hash,
          waitingFor: ['aws', 'gcp'],
          expiredAt: iso(now),
          stage: 'decommissioning',
        }),
      ]);
    }
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
    const events = await recordOwnHalf(deps, link.id, half);
    if (events.length) await deps.events.put(events);
    link = await load(deps, input.linkId);
  }
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
