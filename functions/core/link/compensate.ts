/**
 * Compensate: after a provisioning run failed, delete what this side created and record the
 * outcome. ASL state `Compensate` of link-provisioning (Lambda `stepCompensate`), Workflows step
 * `run` of the `compensate` subworkflow (`POST /compensate`). The adapters turn their
 * orchestrator's error (Step Functions' `{Error, Cause}`, the workflow's) into `{errorName,
 * message}`.
 */

import { IllegalTransitionError } from '../errors.ts';
import type { EventDataByName } from '../events/catalog.ts';
import * as checks from '../events/checks.ts';
import { ownRegion } from './model.ts';
import { emit, flushOutbox, iso, mutateLink } from './record.ts';
import { HalfFailedError, load, type StepDeps } from './stage.ts';
import { PrefixesNotCoveredError } from './verify.ts';
import { decommissioned } from './waits.ts';

/** The states of a link that is (or was) carrying traffic: its halves are the peer's too. */
const LIVE: readonly string[] = ['ACTIVE', 'DEGRADED', 'DOWN'];

/**
 * The provisioning stage that failed, from what the run had done: no request check yet (the
 * request step itself, e.g. a request this side cannot place), no approval and no activation yet
 * (the approval wait), else activation, or verify for its own error. A stage given wins.
 */
/**
 * Why a run failed, as its orchestrator's adapter read it: the error's name (the one the ASL's and
 * the workflow's Catch matched) and its message.
 */
export interface RunFailure {
  errorName: string;
  message: string;
}

/**
 * The attempt of the provisioning run that only compensates: started by the peer-event consumer when
 * the peer's `LinkFailed` closed a link whose own run is over (a live link whose peer's verify
 * failed) while this side's half still bills. Its `request` step finds the link FAILED and its
 * Catch compensates, as in any other failed run; the name `<linkId>-provisioning-2` is reserved, so
 * a redelivered `LinkFailed` starts nothing twice.
 */
export const COMPENSATION_ATTEMPT = 2;

/** The error of verify's failure: the one that closes a live link. */
const VERIFY_FAILURE = PrefixesNotCoveredError.name;

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
 * like any other. A link already FAILED keeps nothing, live or not: the peer's verify failure
 * closed it (the peer-event consumer started this side's compensation run, `COMPENSATION_ATTEMPT`),
 * or an earlier compensation left a half; this side's halves are deleted and no second `LinkFailed`
 * is emitted.
 */
export async function compensate(
  deps: StepDeps,
  input: {
    linkId: string;
    error?: RunFailure;
    stage?: string;
    // What the run had done when it failed (the state machine's and the workflow's state carry
    // each step's output under these names): which stage failed, for LinkFailed.
    check?: unknown;
    approved?: unknown;
    activate?: unknown;
  },
) {
  const errorName = input.error?.errorName || 'Unknown';
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
  if (
    before.state !== 'FAILED' &&
    errorName !== VERIFY_FAILURE &&
    before.stages.some((s) => LIVE.includes(s.state))
  ) {
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
  for (const h of await deps.halves.findHalves(input.linkId, ownRegion(before, deps.origin.cloud))) {
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
    const message = (input.error?.message || 'no cause').slice(0, 500);
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
