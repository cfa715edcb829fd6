/**
 * What the AWS side adds to the cloud-neutral steps of functions/core/link (one module per stage,
 * which Google's Workflows call too, over HTTP): the ports and settings of the AWS steps and the
 * Direct Connect gateway's allowed-prefix verify (ASL state `VerifyPrefixes`, Lambda
 * `stepVerifyPrefixes`).
 * Each takes the state input and returns plain JSON; named errors propagate so the ASL's Retry /
 * Catch match on them. No task ever returns or receives an activation key.
 *
 * Each step is its own Lambda function, from its own entry (functions/aws/handlers/step-*.ts),
 * which wires the ports that step uses.
 */

import { compensate, type RunFailure } from '#core/link/compensate.ts';
import { associationToExtend, prefixCoverage } from '#core/link/prefixes.ts';
import { iso } from '#core/link/record.ts';
import type { StepDeps as CoreStepDeps, StepSettings as CoreStepSettings } from '#core/link/stage.ts';
import { PrefixesNotCoveredError } from '#core/link/verify.ts';
import type { LinkRequest } from '#core/policy/request.ts';
import type { BgpSessionReader } from './bgp-sessions.ts';
import type { GatewayPrefixes } from './gateway-prefixes.ts';
import type { InterconnectHalves } from './halves.ts';

export interface StepSettings extends CoreStepSettings {
  /**
   * Whether verify may add missing routes to the gateway association's allowed prefixes. Off by
   * default: the prefixes are shared by every connection on the gateway.
   */
  manageAllowedPrefixes: boolean;
  /** How long verify re-checks uncovered routes before failing (ms). */
  prefixWaitMs: number;
}

/** The AWS halves the steps and the watcher use: one account's, or routed across accounts. */
export type AwsHalves = Pick<
  InterconnectHalves,
  'capacity' | 'initiate' | 'accept' | 'getHalf' | 'listHalves' | 'findHalves' | 'deleteHalf'
>;

export interface StepDeps extends CoreStepDeps {
  halves: AwsHalves;
  /** The Direct Connect gateway's associations (allowed prefixes), for verify. */
  prefixes: GatewayPrefixes;
  /** The BGP sessions of a connection, for the watcher's health judgement (absent: health not read). */
  bgp?: BgpSessionReader;
  settings: StepSettings;
}

/** Re-check period of an uncovered route in verify (s): an association update takes minutes. */
const PREFIX_RECHECK_S = 120;
/**
 * The longest gap between two checks that still counts as watching (s): twice the re-check period,
 * which leaves room for a late Wait and a Lambda's retries.
 */
const PREFIX_STALE_S = 2 * PREFIX_RECHECK_S;

/**
 * Verify, after both halves are up: the Direct Connect gateway's applied allowed prefixes must
 * cover the request's AWS routes. Missing ones are added when crosslink manages the prefixes (then
 * re-checked until the update is applied); otherwise it re-checks until `prefixWaitMs` has passed
 * and fails naming them, so that compensation deletes the connection.
 *
 * The failure closes a live link, so it stands only on a watched deadline: the check before the
 * one past the deadline was at most `PREFIX_STALE_S` earlier. A check that follows a longer gap
 * (the run paused, the clock jumped) saw the gateway at one instant after time it did not watch: an
 * update applied in that gap may not show yet, so it re-checks once more before judging.
 */
export async function verifyPrefixes(
  deps: StepDeps,
  input: {
    linkId: string;
    request: LinkRequest;
    verify?: { deadline: string; added: string[]; checkedAt?: string };
  },
) {
  const gateway = input.request.aws.directConnectGateway;
  const where = { accountId: input.request.aws.accountId, region: input.request.aws.region };
  const associations = await deps.prefixes.associations(gateway, where);
  const { missing, pending } = prefixCoverage(input.request.aws.routes, associations);
  const now = deps.clock.now();
  const deadline = input.verify?.deadline ?? iso(now + deps.settings.prefixWaitMs);
  const added = [...(input.verify?.added ?? [])];
  const checkedAt = iso(now);
  if (missing.length === 0 && pending.length === 0)
    return { next: 'covered', deadline, added, checkedAt, waitSeconds: 1 };
  const target = associationToExtend(associations);
  if (missing.length > 0 && deps.settings.manageAllowedPrefixes && target) {
    await deps.prefixes.add(target.associationId, missing, where);
    added.push(...missing);
    await deps.store.appendAudit({
      linkId: input.linkId,
      at: iso(now),
      actor: 'crosslink',
      action: 'allowed-prefixes-added',
      outcome: 'allowed',
      policyHash: deps.policy.hash,
      reasons: [`added ${missing.join(', ')} to association ${target.associationId} of gateway ${gateway}`],
    });
    return { next: 'wait', deadline, added, checkedAt, waitSeconds: PREFIX_RECHECK_S };
  }
  const left = Date.parse(deadline) - now;
  const previous = input.verify?.checkedAt === undefined ? Number.NaN : Date.parse(input.verify.checkedAt);
  const watched = now - previous <= PREFIX_STALE_S * 1000;
  if (left <= 0 && !watched)
    return { next: 'wait', deadline, added, checkedAt, waitSeconds: PREFIX_RECHECK_S };
  if (left <= 0) {
    const why = [
      missing.length
        ? `does not allow ${missing.join(', ')}${deps.settings.manageAllowedPrefixes ? ' (no associated association to add them to)' : ' (crosslink does not manage allowed prefixes: CROSSLINK_MANAGE_ALLOWED_PREFIXES)'}`
        : '',
      pending.length ? `has not applied ${pending.join(', ')}` : '',
    ].filter(Boolean);
    throw new PrefixesNotCoveredError(
      `Direct Connect gateway ${gateway} ${why.join(' and ')}: routes not covered after ${Math.round(deps.settings.prefixWaitMs / 60_000)} min`,
    );
  }
  return {
    next: 'wait',
    deadline,
    added,
    checkedAt,
    waitSeconds: Math.max(1, Math.min(PREFIX_RECHECK_S, Math.ceil(left / 1000))),
  };
}

/**
 * Step Functions' error of a failed run, as the ASL's Catch puts it at `$.error`: `Error` is the
 * error's name; for a Lambda task, `Cause` is its `{"errorType","errorMessage","trace"}` JSON.
 */
export interface StateMachineError {
  Error?: string;
  Cause?: string;
}

/** Step Functions' `{Error, Cause}` as the core's `RunFailure`: a Lambda cause's message, without its stack. */
export function runFailureOf(error: StateMachineError | undefined): RunFailure | undefined {
  if (!error) return undefined;
  return { errorName: error.Error ?? '', message: causeMessage(error.Cause) };
}

function causeMessage(cause: string | undefined): string {
  if (!cause) return '';
  try {
    const c = JSON.parse(cause) as { errorMessage?: unknown };
    return typeof c.errorMessage === 'string' ? c.errorMessage : cause;
  } catch {
    return cause;
  }
}

/** Compensate (ASL state `Compensate`, Lambda `stepCompensate`): the core's `compensate` on the run's error. */
export function compensateRun(
  deps: StepDeps,
  input: Omit<Parameters<typeof compensate>[1], 'error'> & { error?: StateMachineError },
) {
  const { error, ...rest } = input;
  const failure = runFailureOf(error);
  return compensate(deps, failure ? { ...rest, error: failure } : rest);
}
