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
import { ValidationError } from '#core/errors.ts';
import type { EventSink } from '#core/link/ports.ts';
import { runLinks } from '#core/vpn/run-links.ts';
import type { VpnPrices, VpnRunSettings } from '#core/vpn/run-policy.ts';
import { relayedPeerInventory, type VpnRunDeps, type VpnRunSources } from '#core/vpn/run-steps.ts';
import { pairedGcpTunnels } from '#core/vpn/run-traffic.ts';
import type { FirestoreLinkStore } from './link-store.ts';
import { type ComputeReads, FirestoreInventoryPages, readGcpExport } from './vpn-inventory.ts';
import { FirestoreVpnRuns } from './vpn-run-store.ts';
import { type MonitoringRest, readGcpTraffic } from './vpn-traffic.ts';
import type { WorkflowExecutionsClient } from './workflow-executions.ts';

/**
 * This side's sources: Compute Engine in the hub and each network project, the tunnels' traffic in
 * Cloud Monitoring (each tunnel named by the AWS VPN it is paired with in the peer's export), the
 * link records, and the peer's port.
 */
export function gcpRunSources(o: {
  compute: ComputeReads;
  monitoring: Pick<MonitoringRest, 'timeSeries'>;
  projects: readonly string[];
  peer: Pick<VpnRunSources, 'requestPeer' | 'peer'>;
  links: Pick<FirestoreLinkStore, 'list'>;
}): VpnRunSources {
  return {
    own: async (_runId, now, windowMs, peerExport) => {
      const own = await readGcpExport(o.compute, o.projects);
      const paired = pairedGcpTunnels(peerExport, own);
      return { export: own, traffic: await readGcpTraffic(o.monitoring, paired, now, windowMs) };
    },
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
    monitoring: Pick<MonitoringRest, 'timeSeries'>;
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
      monitoring: clients.monitoring,
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

/**
 * A firing of the Cloud Scheduler job `crosslink-vpn-run` (an HTTP target on the `vpn-run` function,
 * OIDC as the job's account): starts the `vpn-run` workflow with the firing's scheduled time, which
 * Cloud Scheduler sends in `X-CloudScheduler-ScheduleTime` (a workflow argument is fixed, so the
 * workflow could not know it), requested by the caller Cloud Run verified. Every start of one firing
 * names the same run (`vpn-<installation>-<scheduled time>`), whose claim makes the second a no-op.
 */
export async function startScheduledRun(
  o: { executions: Pick<WorkflowExecutionsClient, 'create'>; workflow: string },
  request: { scheduleTime: string | undefined; caller: string | undefined },
): Promise<{ execution: string; scheduledAt: string }> {
  const at = request.scheduleTime ? Date.parse(request.scheduleTime) : Number.NaN;
  const issues = [
    ...(Number.isNaN(at)
      ? [
          {
            path: 'X-CloudScheduler-ScheduleTime',
            reason: 'must be the firing’s time (ISO 8601), as Cloud Scheduler sends it',
          },
        ]
      : []),
    ...(request.caller
      ? []
      : [
          {
            path: 'Authorization',
            reason: 'must be an ID token Cloud Run verified, naming the job’s account',
          },
        ]),
  ];
  if (issues.length) throw new ValidationError(issues, 'scheduled VPN run');
  const scheduledAt = new Date(at).toISOString();
  const started = await o.executions.create(o.workflow, {
    argument: { scheduledAt, trigger: 'schedule', apply: true, requestedBy: request.caller },
  });
  return { execution: started.name, scheduledAt };
}
