/**
 * Google as the VPN runs' coordinator (docs/vpn-runs.md, "Google as coordinator"): the `vpn-run`
 * function, the one step of the `vpn-run` workflow (`{step: "claim" | "request-peer" | "peer-ready" |
 * "plan" | "emit" | "report", ...}`), over the same core steps as the AWS state machine
 * (functions/core/vpn/run-steps.ts). This module reads this side's inventory (Compute Engine, as
 * `crosslink vpn plan --gcp` and the inventory exchange read it), the links (Firestore's records,
 * their AWS gateways from the Direct Connect associations AWS's inventory carries) and wires the
 * stores; the peer's inventory comes through the relay's exchange.
 */
import type { Firestore } from '@google-cloud/firestore';
import type { Clock } from '#core/clock.ts';
import type { EventSink } from '#core/link/ports.ts';
import { runLinks } from '#core/vpn/run-links.ts';
import type { VpnPrices, VpnRunSettings } from '#core/vpn/run-policy.ts';
import { relayedPeerInventory, type VpnRunDeps, type VpnRunSources } from '#core/vpn/run-steps.ts';
import type { FirestoreLinkStore } from './link-store.ts';
import { type ComputeReads, FirestoreInventoryPages, readGcpExport } from './vpn-inventory.ts';
import { FirestoreVpnRuns } from './vpn-run-store.ts';

/**
 * This side's sources: Compute Engine in the hub and each network project, the link records, and the
 * peer's port. Google's VPN traffic is not read (an empty metrics file): the planner's idle gate
 * then finds no coverage and keeps every drained VPN, so no delete is planned from Google's side
 * alone.
 */
export function gcpRunSources(o: {
  compute: ComputeReads;
  projects: readonly string[];
  peer: Pick<VpnRunSources, 'requestPeer' | 'peer'>;
  links: Pick<FirestoreLinkStore, 'list'>;
}): VpnRunSources {
  return {
    own: async () => ({ export: await readGcpExport(o.compute, o.projects), traffic: { traffic: [] } }),
    requestPeer: (runId, at) => o.peer.requestPeer(runId, at),
    peer: (runId) => o.peer.peer(runId),
    links: (awsExport) => runLinks(o.links, awsExport),
  };
}

/** The `vpnRun` function's dependencies in `project` / `region`. */
export function buildVpnRunDeps(
  placement: { project: string; region: string },
  clients: {
    compute: ComputeReads;
    /** The hub and the network projects whose VPNs this side plans. */
    projects: readonly string[];
    firestore: Firestore;
    links: Pick<FirestoreLinkStore, 'list'>;
    bus: EventSink;
    clock: Clock;
    installation: string;
    settings: VpnRunSettings;
    prices: VpnPrices;
  },
): VpnRunDeps {
  const origin = { cloud: 'gcp' as const, project: placement.project, region: placement.region };
  return {
    runs: new FirestoreVpnRuns(clients.firestore),
    sources: gcpRunSources({
      compute: clients.compute,
      projects: clients.projects,
      peer: relayedPeerInventory({
        bus: clients.bus,
        origin,
        clock: clients.clock,
        pages: new FirestoreInventoryPages(clients.firestore),
      }),
      links: clients.links,
    }),
    bus: clients.bus,
    clock: clients.clock,
    origin,
    installation: clients.installation,
    settings: clients.settings,
    prices: clients.prices,
  };
}
