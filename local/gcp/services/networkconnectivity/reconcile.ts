/**
 * Reconciliation of local transports with the partner's halves, on a tick of the virtual clock:
 * each transport moves as the partner's half dictates (PENDING_KEY -> PENDING_CONFIG -> ACTIVE and
 * back), then the partner is told about ours. Also the snapshots the world and status read.
 */

import { type LocalHalf, remoteProvider } from '../../remote.ts';
import type { GcpWorld } from '../../service.ts';
import {
  globalOf,
  isStuck,
  type ProjectState,
  setState,
  settingsOf,
  type Transport,
  type TransportRecord,
  view,
} from './model.ts';

// ---------- reconciliation with the partner, on a tick of the virtual clock ----------

export function allRecords(world: GcpWorld): TransportRecord[] {
  return world
    .projects('networkconnectivity')
    .flatMap((p) => [...world.stateOf<ProjectState>('networkconnectivity', p).transports.values()]);
}

/** Moves every transport as its partner's half dictates, then tells the partner about ours. */
export function reconcileTransports(world: GcpWorld): void {
  const remote = remoteProvider(world);
  const { delays } = settingsOf(world);
  const now = world.clock.now();
  for (const r of allRecords(world)) {
    if (r.deleting || r.t.state === 'CREATING' || isStuck(world, r)) continue;
    const theirs = r.sharedId && remote ? remote.remoteState(r.sharedId) : undefined;
    if (r.t.state === 'PENDING_KEY') {
      if (r.sharedId && r.keyIssuedAt !== undefined && !r.keyExpired && theirs === undefined) {
        if (now - r.keyIssuedAt >= delays.keyExpiry) {
          r.keyExpired = true;
          remote?.withdrawKey(r.sharedId);
        }
      }
      if (r.sharedId && theirs !== undefined && theirs !== 'failed' && theirs !== 'deleted') {
        setState(world, r, 'PENDING_CONFIG');
      }
      continue;
    }
    if (r.t.state === 'PENDING_CONFIG') {
      if (theirs === 'available' && now - (r.pendingConfigSince ?? now) >= delays.configuring) {
        setState(world, r, 'ACTIVE');
      }
      continue;
    }
    if (r.t.state === 'ACTIVE' && theirs !== 'available' && theirs !== 'updating') {
      setState(world, r, 'PENDING_CONFIG');
    }
  }
  remote?.syncLocalHalves(localHalves(world));
}

/** The Google halves as the partner should see them (every transport that holds a shared id). */
export function localHalves(world: GcpWorld): LocalHalf[] {
  return allRecords(world)
    .filter((r) => r.sharedId !== undefined)
    .map((r) => ({
      sharedId: r.sharedId as string,
      project: r.project,
      location: r.location,
      transportId: r.id,
      presence: r.deleting ? 'absent' : 'present',
      adminEnabled: r.t.adminEnabled === true,
      state: r.t.state,
      advertisedRoutes: [...(r.t.advertisedRoutes ?? [])],
    }));
}

/** A snapshot of every transport (wire shape, keys included) for the world and status. */
export function transportsOf(
  world: GcpWorld,
): (Transport & { sharedId?: string; project: string; location: string })[] {
  return allRecords(world).map((r) => ({
    ...view(r),
    project: r.project,
    location: r.location,
    ...(r.sharedId ? { sharedId: r.sharedId } : {}),
  }));
}

export function ensureTicking(world: GcpWorld): void {
  const g = globalOf(world);
  if (g.ticker) return;
  const tick = () => {
    g.ticker = undefined;
    reconcileTransports(world);
    if (allRecords(world).length > 0) g.ticker = world.clock.after(settingsOf(world).delays.tick, tick);
  };
  g.ticker = world.clock.after(settingsOf(world).delays.tick, tick);
}
