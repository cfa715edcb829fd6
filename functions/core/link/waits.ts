/**
 * The waits of both runs: a stage parks its task token (`park`: ASL states AwaitApproval, AwaitKey,
 * AwaitUp, AwaitDrained and AwaitGone, the `stepPark` Lambda; Workflows step `park`, `POST /park`),
 * and whatever records what it waits for answers it (`resumeWaiting`): an approval, the peer's
 * sealed key, both halves up, the Google half drained, this side's half gone.
 */

import type { CloudEvent } from '../envelope.ts';
import type { Cloud, LinkRecord } from './model.ts';
import type { WaitPhase } from './ports.ts';
import { flushOutbox, type MutateResult, type OwnHalfObservation, recordOwnHalf } from './record.ts';
import { load, type StepDeps } from './stage.ts';

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
    if (tokenGone(e)) return;
    if (!retryable(e)) throw e;
    // Throttled or unavailable: what the caller asked for is recorded, so it succeeds; the token goes
    // back for the next resumer or the wait's own fallback poll (at most `pollEveryMs` away).
    await deps.store.putToken(linkId, phase, token);
  }
}

/** A token that no execution waits on any more: answered already, timed out, or never valid. */
export function tokenGone(e: unknown): boolean {
  return ['TaskTimedOut', 'InvalidToken', 'TaskDoesNotExist'].includes((e as Error)?.name ?? '');
}

/** A failure to answer a token that a later try can overcome (throttling, 5xx, 429, the network). */
export function retryable(e: unknown): boolean {
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
export function decommissioned(link: LinkRecord): boolean {
  return link.state === 'DECOMMISSIONING' || link.state === 'DECOMMISSIONED';
}

export function halfGone(link: LinkRecord, side: Cloud): boolean {
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

/**
 * Records an observation of this side's own half (`recordOwnHalf`), then answers the waits it may
 * end (both halves up, this half gone), even when another run recorded it first: a token has one
 * taker.
 */
export async function recordOwnHalfAndResume(
  deps: StepDeps,
  obs: OwnHalfObservation,
  options: { extra?: CloudEvent[]; observedBefore?: number } = {},
): Promise<MutateResult> {
  const result = await recordOwnHalf(deps, obs, options);
  await resumeWaiting(deps, result.link, ['up', 'gone']);
  return result;
}
