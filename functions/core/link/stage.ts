/**
 * What the orchestrated steps of every stage share: their ports and settings, the input of a
 * provisioning run, the errors the state machines and workflows match on, and the deadline sums.
 * The AWS state machines run the steps as Lambda tasks (functions/aws/handlers/step-*.ts), Google
 * Workflows as `POST /<step>` on the `steps` function (functions/gcp/steps.ts), with the same JSON
 * in and out. "Own half" is `deps.origin.cloud`'s: the half this side creates, watches and deletes;
 * the other half is the peer's replica.
 *
 * No step ever returns or receives an activation key: the key lives in the secret store (initiator)
 * or arrives sealed in the store (acceptor) and is read only inside activation.
 */

import { CrosslinkError, IllegalTransitionError } from '../errors.ts';
import type { LinkRequest } from '../policy/request.ts';
import type { LinkRecord } from './model.ts';
import type { LinkDeps, OwnHalves, SecretStore, StageStore, TaskTokens, Unwrap } from './ports.ts';

/** The environment could not take the link now (state or bandwidth). */
export class CapacityUnavailableError extends CrosslinkError {
  override name = 'CapacityUnavailableError';
}

/** This side's half failed or vanished while the link was being provisioned. */
export class HalfFailedError extends CrosslinkError {
  override name = 'HalfFailedError';
}

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
  /**
   * How often a watcher run with no link to watch still lists the provider for orphans (absent:
   * every run; `CROSSLINK_ORPHAN_SWEEP_EVERY`, default 15 minutes).
   */
  orphanSweepEveryMs?: number;
}

const DEFAULT_UP_DEADLINE_MS = 7 * 86_400_000;

export function upDeadline(deps: StepDeps): number {
  return deps.settings.upDeadlineMs ?? DEFAULT_UP_DEADLINE_MS;
}

/** When the link's first stage named `state` began (ms), or undefined. */
export function enteredAt(link: LinkRecord, state: string): number | undefined {
  const s = link.stages.find((x) => x.state === state);
  return s ? Date.parse(s.at) : undefined;
}

export const days = (ms: number) => `${Math.round((ms / 86_400_000) * 10) / 10} days`;

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

export async function load(deps: StepDeps, linkId: string): Promise<LinkRecord> {
  const s = await deps.store.get(linkId);
  if (!s) throw new IllegalTransitionError('ABSENT', 'provision', `link ${linkId} does not exist`);
  return s.link;
}

export function waitSeconds(deps: StepDeps, now: number, deadline: number): number {
  return Math.max(1, Math.ceil(Math.min(deps.settings.pollEveryMs, deadline - now) / 1000));
}
