/**
 * Activate. The initiator creates its half and seals the activation key for the peer
 * (`activateInitiate`: ASL state `ActivateInitiate`, Lambda `stepActivateInitiate`; Workflows step
 * `activate_initiate`, `POST /activateInitiate`); the acceptor waits for the sealed key
 * (`keyDeadline`: ASL `KeyDeadline`, Lambda `stepKeyDeadline`; Workflows `key_deadline`, `POST
 * /keyDeadline`) and accepts it (`activateAccept`: ASL `ActivateAccept`, Lambda
 * `stepActivateAccept`; Workflows `activate_accept`, `POST /activateAccept`).
 */

import { openSealedKey, sealKey } from '../crypto/seal.ts';
import { NotConfiguredError, TimedOutError } from '../errors.ts';
import * as checks from '../events/checks.ts';
import { emit, flushOutbox, iso, mutateLink, observationOf } from './record.ts';
import { type ExecutionInput, HalfFailedError, load, type StepDeps, type StepSettings } from './stage.ts';
import { decommissioned, recordOwnHalfAndResume, waitOutcome } from './waits.ts';

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
  await recordOwnHalfAndResume(deps, observationOf(input.linkId, half), {
    extra: [
      emit(deps, checks.LinkKeyIssued, {
        linkId: input.linkId,
        policyHash: deps.policy.hash,
        issuer: deps.origin.cloud,
        sealedKey: sealed,
        bandwidth: input.request.bandwidth,
        issuerResource: half.connectionId,
        issuedAt: iso(deps.clock.now()),
      }),
    ],
  });
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
  await recordOwnHalfAndResume(deps, observationOf(input.linkId, half), { observedBefore });
  return { connectionId: half.connectionId };
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
