/**
 * The connection lifecycle of the local AWS Interconnect on the virtual clock: timers that move a
 * connection to its next state (held by a `stuck` fault), and the lookups across accounts the
 * partner's side needs (a proposal for a key, a connection by shared id, id or ARN).
 */

import type { Timer } from '#local/clock.ts';
import type { World } from '../../service.ts';
import {
  ClientError,
  type ConnectionState,
  type Ctx,
  decodeActivationKey,
  type InterconnectState,
  NotFound,
  type Proposal,
  partnerOf,
  type Record_,
  settingsOf,
} from './model.ts';
import { UUID } from './requests.ts';

// ---------- state transitions on the virtual clock ----------

export const timers = new WeakMap<Record_, Timer>();

export function schedule(
  world: World,
  r: Record_,
  delay: number,
  from: ConnectionState,
  to: () => void,
): void {
  timers.get(r)?.cancel();
  const t = world.clock.after(delay, () => {
    timers.delete(r);
    if (r.connection.state !== from) return;
    if (world.faults.isStuck('interconnect', r.connection.id, from)) {
      // Held by a fault: look again after the same delay, so removing the fault lets it move on.
      schedule(world, r, delay, from, to);
      return;
    }
    to();
  });
  timers.set(r, t);
}

export function startProvisioning(world: World, r: Record_): void {
  r.connection.state = 'pending';
  schedule(world, r, settingsOf(world).delays.provisioning, 'pending', () => {
    r.connection.state = 'available';
  });
}

export function startDeletion(world: World, r: Record_, scope: InterconnectState): void {
  const { delays } = settingsOf(world);
  r.connection.state = 'deleting';
  schedule(world, r, delays.deletion, 'deleting', () => {
    r.connection.state = 'deleted';
    r.deletedAt = world.clock.now();
    timers.set(
      r,
      world.clock.after(delays.deletedRetention, () => {
        scope.connections.delete(r.connection.id);
      }),
    );
  });
}
/** Resolves a partner-issued key for the calling account, or throws the service's error. */
export function proposalFor(ctx: Ctx, activationKey: string): Proposal {
  const key = decodeActivationKey(activationKey);
  if (!key) throw ClientError('The activationKey is not a valid activation key');
  const proposal = partnerOf(ctx.world).proposals.get(key.sharedConnectionUuid);
  if (!proposal || proposal.activationKey !== activationKey) {
    throw NotFound(`No connection proposal matches the activationKey (sharedId ${key.sharedConnectionUuid})`);
  }
  if (key.destinationAccountId !== ctx.accountId) {
    throw ClientError(
      `The activationKey was issued for account ${key.destinationAccountId}, not ${ctx.accountId}`,
    );
  }
  return proposal;
}

export function findShared(world: World, sharedId: string) {
  for (const scope of world.scopes('interconnect')) {
    const st = world.stateOf<InterconnectState>('interconnect', scope.accountId, scope.region);
    for (const record of st.connections.values()) {
      if (record.connection.sharedId.toUpperCase() === sharedId.toUpperCase()) return { ...scope, record };
    }
  }
  return undefined;
}

/** A connection anywhere by id, ARN or shared id. */
export function findAny(world: World, identifier: string) {
  const id = identifier.startsWith('arn:') ? (identifier.split('/')[1] ?? '') : identifier;
  for (const scope of world.scopes('interconnect')) {
    const st = world.stateOf<InterconnectState>('interconnect', scope.accountId, scope.region);
    const record = st.connections.get(id);
    if (record) return { ...scope, record };
  }
  return UUID.test(identifier) ? findShared(world, identifier) : undefined;
}
