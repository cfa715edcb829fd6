/**
 * The Lambda tasks of the provisioning and decommissioning state machines. The steps are
 * cloud-neutral and live in functions/core/link/steps.ts (Google's Workflows call the same ones
 * over HTTP); what is AWS-only stays here: the Direct Connect gateway's allowed-prefix verify.
 * Each takes the state input and returns plain JSON; named errors propagate so the ASL's Retry /
 * Catch match on them. No task ever returns or receives an activation key.
 *
 * Each step is its own Lambda function, from its own entry (functions/aws/handlers/step-*.ts),
 * which wires the ports that step uses.
 */

import { CrosslinkError } from '#core/errors.ts';
import { associationToExtend, prefixCoverage } from '#core/link/prefixes.ts';
import type { StepDeps as CoreStepDeps, StepSettings as CoreStepSettings } from '#core/link/steps.ts';
import type { LinkRequest } from '#core/policy/request.ts';
import type { BgpSessionReader } from './bgp-sessions.ts';
import type { GatewayPrefixes } from './gateway-prefixes.ts';
import type { InterconnectHalves } from './interconnect-adapter.ts';

export {
  type ApprovalMetrics,
  activateAccept,
  activateInitiate,
  answer,
  approvalDeadline,
  CapacityUnavailableError,
  compensate,
  confirmDeleted,
  decommissionDeadline,
  decommissionRequest,
  deleteOwnHalf,
  drainCheck,
  type ExecutionInput,
  flushStaleOutboxes,
  HalfFailedError,
  keyDeadline,
  park,
  peerDrained,
  pollHalf,
  recordOwnHalf,
  report,
  request,
  resumeWaiting,
  type TaskTokens,
  waitOutcome,
} from '#core/link/steps.ts';

/** The Direct Connect gateway does not allow the link's AWS routes (and crosslink may not add them). */
export class PrefixesNotCoveredError extends CrosslinkError {}

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

const iso = (ms: number) => new Date(ms).toISOString();

/** Re-check period of an uncovered route in verify (s): an association update takes minutes. */
const PREFIX_RECHECK_S = 120;

/**
 * Verify, after both halves are up: the Direct Connect gateway's applied allowed prefixes must
 * cover the request's AWS routes. Missing ones are added when crosslink manages the prefixes (then
 * re-checked until the update is applied); otherwise it re-checks until `prefixWaitMs` has passed
 * and fails naming them, so that compensation deletes the connection.
 */
export async function verifyPrefixes(
  deps: StepDeps,
  input: { linkId: string; request: LinkRequest; verify?: { deadline: string; added: string[] } },
) {
  const gateway = input.request.aws.directConnectGateway;
  const where = { accountId: input.request.aws.accountId, region: input.request.aws.region };
  const associations = await deps.prefixes.associations(gateway, where);
  const { missing, pending } = prefixCoverage(input.request.aws.routes, associations);
  const now = deps.clock.now();
  const deadline = input.verify?.deadline ?? iso(now + deps.settings.prefixWaitMs);
  const added = [...(input.verify?.added ?? [])];
  if (missing.length === 0 && pending.length === 0)
    return { next: 'covered', deadline, added, waitSeconds: 1 };
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
    return { next: 'wait', deadline, added, waitSeconds: PREFIX_RECHECK_S };
  }
  const left = Date.parse(deadline) - now;
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
    waitSeconds: Math.max(1, Math.min(PREFIX_RECHECK_S, Math.ceil(left / 1000))),
  };
}
