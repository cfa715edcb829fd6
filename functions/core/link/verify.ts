/**
 * Verify. `pollHalf` is the fallback poll of the "both halves up" wait (ASL state `PollHalf` of
 * link-provisioning, Lambda `stepPollHalf`; Workflows step `poll_half`, `POST /pollHalf`). On AWS
 * the Direct Connect gateway's allowed prefixes are then checked (functions/aws/steps.ts
 * `verifyPrefixes`, ASL state `VerifyPrefixes`); its failure is `PrefixesNotCoveredError`, the one
 * error that closes a live link. `report` is the summary both runs end with (ASL state `Report` of
 * link-provisioning and link-decommissioning, Lambda `stepReport`; Workflows step `report`, `POST
 * /report`).
 */

import { CrosslinkError, TimedOutError } from '../errors.ts';
import { flushOutbox, observationOf } from './record.ts';
import { days, enteredAt, HalfFailedError, load, type StepDeps, upDeadline } from './stage.ts';
import { recordOwnHalfAndResume } from './waits.ts';

/** The fallback poll of the "both halves up" wait: Get this half, record a change, decide. */
export async function pollHalf(
  deps: StepDeps,
  input: { linkId: string; activate: { connectionId: string } },
) {
  const half = await deps.halves.getHalf(input.activate.connectionId);
  const link = await load(deps, input.linkId);
  const own = link.halves[deps.origin.cloud];
  if (half?.state !== own.nativeState || half?.adminEnabled !== own.adminEnabled)
    await recordOwnHalfAndResume(deps, observationOf(input.linkId, half));
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

/**
 * Verify failed: the routes of the link are not allowed end to end (on AWS the Direct Connect
 * gateway does not allow the link's routes, and crosslink may not add them). The one error after
 * which compensation closes a live link.
 */
export class PrefixesNotCoveredError extends CrosslinkError {
  override name = 'PrefixesNotCoveredError';
}
