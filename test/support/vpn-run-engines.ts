/**
 * A VPN run on the local orchestration engines, without a cloud: the AWS state machine
 * (workflows/aws/vpn-run.asl.json) on the local Step Functions interpreter and the Google workflow
 * (workflows/gcp/vpn-run.workflows.yaml) on the local Workflows interpreter, each task or step answered
 * by the real core steps (`vpnRunStep`) over the ports a test gives (the runs' store in memory, the
 * peer's inventory as the exchange would hold it). And a synthetic estate of any size: N VPNs paired
 * across the clouds (one AWS connection and two Google HA VPN tunnels each), shaped like the acme
 * exports, every VPN behind one of N/4 virtual private gateways and Cloud Routers.
 */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { awsPlanSources } from '#aws/vpn-run.ts';
import { type Clock, ManualClock } from '#core/clock.ts';
import type { CloudEvent, Origin } from '#core/envelope.ts';
import type { EventSink } from '#core/link/ports.ts';
import {
  handleInventoryEvent,
  type InventoryExchangeDeps,
  storeOwnInventory,
} from '#core/vpn/inventory-exchange.ts';
import type { InventoryExport, InventoryPage, InventoryPageStore } from '#core/vpn/inventory-pages.ts';
import { DEFAULT_POLICY } from '#core/vpn/policy.ts';
import { relayedPeerInventory, type VpnRunDeps, vpnRunStep } from '#core/vpn/run-steps.ts';
import { stepErrorAnswer } from '#gcp/steps.ts';
import { MAX_HISTORY_EVENTS, type Execution as SfnExecution } from '#local/aws/sfn/execution.ts';
import { runOffline } from '#local/aws/sfn/offline-run.ts';
import { VirtualClock } from '#local/clock.ts';
import { loadWorkflow } from '#local/workflows/definition.ts';
import { Execution } from '#local/workflows/interpreter.ts';
import { type ExecutionOutcome, MAX_STEPS, MEMORY_LIMIT_BYTES } from '#local/workflows/outcome.ts';
import { defaultIsInternalUrl, type HttpPort } from '#local/workflows/ports.ts';
import { MemoryVpnRuns } from './memory-vpn-runs.ts';

const ROOT = resolve(import.meta.dirname, '../..');
export const GCP_RUN_WORKFLOW = join(ROOT, 'workflows/gcp/vpn-run.workflows.yaml');
export const AWS_RUN_MACHINE = join(ROOT, 'workflows/aws/vpn-run.asl.json');
const RUN_URL = 'https://us-east4-crosslink-hub.cloudfunctions.net/vpn-run';

const json = (v: unknown) => new TextEncoder().encode(JSON.stringify(v));

/** The Google workflow, its one function played by `vpnRunStep(deps)`; options are the Executions API's limits. */
export async function runGcpWorkflow(
  deps: () => VpnRunDeps,
  argument: Record<string, unknown>,
  options: { start?: number; memoryLimitBytes?: number; maxSteps?: number; execution?: string } = {},
): Promise<ExecutionOutcome & { calls: Record<string, number> }> {
  const calls: Record<string, number> = {};
  const http: HttpPort = async (req) => {
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (req.url !== RUN_URL) return { status: 404, headers, body: json({ error: 'not found' }) };
    const body = JSON.parse(new TextDecoder().decode(req.body)) as { step: string };
    calls[body.step] = (calls[body.step] ?? 0) + 1;
    try {
      const out = await vpnRunStep(deps(), body as never);
      return { status: 200, headers, body: json(out) };
    } catch (e) {
      const answer = stepErrorAnswer(e);
      return { status: answer.status, headers, body: json(answer.body) };
    }
  };
  const clock = new VirtualClock({ mode: 'manual', start: options.start ?? Date.now() });
  const wf = loadWorkflow(readFileSync(GCP_RUN_WORKFLOW, 'utf8'));
  const exec = new Execution(
    wf,
    {
      clock,
      http,
      tokens: { accessToken: async () => 'token', idToken: async () => 'token' },
      isInternalUrl: defaultIsInternalUrl,
      env: { CROSSLINK_VPN_RUN_URL: RUN_URL },
    },
    {
      identity: {
        project: 'crosslink-hub',
        location: 'us-east4',
        workflow: 'vpn-run',
        execution: options.execution ?? 'exec-1',
      },
      ...(options.memoryLimitBytes ? { memoryLimitBytes: options.memoryLimitBytes } : {}),
      ...(options.maxSteps ? { maxSteps: options.maxSteps } : {}),
    },
  );
  const done = exec.run(argument as never);
  let finished = false;
  void done.finally(() => {
    finished = true;
  });
  // Time moves only when nothing runs: a sys.sleep of 30 s takes no wall time.
  while (!finished) {
    await new Promise((r) => setImmediate(r));
    if (!finished) await clock.fireNext();
  }
  clock.stop();
  return { ...(await done), calls };
}

/**
 * The AWS state machine, its Lambda tasks played by the core: `stepVpnRun`'s and `stepVpnPlan`'s
 * steps by `vpnRunStep(deps)`, `vpnInventory`'s own-inventory task by `storeOwnInventory` with
 * `ownInventory` (this side's export and where the plan's `own` source reads it).
 */
export function runAwsStateMachine(
  deps: () => VpnRunDeps,
  input: Record<string, unknown>,
  ownInventory: Pick<InventoryExchangeDeps, 'origin' | 'clock' | 'readExport' | 'pages'>,
  options: { start?: number } = {},
): Promise<SfnExecution> {
  const step = async (event: unknown) => vpnRunStep(deps(), event as never);
  return runOffline(readFileSync(AWS_RUN_MACHINE, 'utf8'), JSON.stringify(input), {
    tasks: {
      Claim: step,
      RequestPeerInventory: step,
      PeerReady: step,
      ReadOwnInventory: (event: unknown) => storeOwnInventory(ownInventory, event),
      Plan: step,
      EmitPage: step,
      Report: step,
    },
    ...(options.start !== undefined ? { start: options.start } : {}),
  });
}

/**
 * The coordinator's bus with the peer behind the relay, in memory: everything the coordinator puts
 * is kept in `put`; a `VpnInventoryRequested` is answered by the peer's side of the exchange
 * (`handleInventoryEvent` with `peerExport`) when `answers`, and each of its `VpnInventoryReported`
 * pages is handed to the coordinator's side, which stores it in `pages`, as the relay and the
 * coordinator's inventory function would.
 */
export function relayedPeer(o: {
  coordinator: Origin;
  peer: Origin;
  peerExport: InventoryExport;
  clock: Clock;
  answers?: boolean;
  pageBytes?: number;
}): { bus: EventSink; pages: InventoryPageStore; put: CloudEvent[]; reported: CloudEvent[] } {
  const held = new Map<string, InventoryPage>();
  const put: CloudEvent[] = [];
  const reported: CloudEvent[] = [];
  const pages: InventoryPageStore = {
    put: async (p) => void held.set(`${p.runId}/${p.side}/${p.page}`, p),
    pages: async (runId, side) => [...held.values()].filter((p) => p.runId === runId && p.side === side),
  };
  const coordinatorSide = {
    origin: o.coordinator,
    clock: o.clock,
    readExport: async () => ({}),
    sink: { put: async () => {} },
    pages,
  };
  const peerSide = {
    origin: o.peer,
    clock: o.clock,
    readExport: async () => o.peerExport,
    sink: {
      put: async (events: CloudEvent[]) => {
        for (const e of events) {
          reported.push(e);
          await handleInventoryEvent(coordinatorSide, e);
        }
      },
    },
    pages: { put: async () => {}, pages: async () => [] },
    ...(o.pageBytes ? { pageBytes: o.pageBytes } : {}),
  };
  const bus: EventSink = {
    put: async (events) => {
      put.push(...events);
      if (o.answers === false) return;
      for (const e of events)
        if (e.type.includes('VpnInventoryRequested')) await handleInventoryEvent(peerSide, e);
    },
  };
  return { bus, pages, put, reported };
}

const hex = (n: number, width: number) => n.toString(16).padStart(width, '0');
const GCE = 'https://www.googleapis.com/compute/v1/projects/bench-net';

/**
 * `count` VPNs paired across the clouds: the AWS export (`aws ec2 describe-*` merged) and the Google
 * export (gcloud's lists and router status), as the planner imports them. VPN i has AWS tunnels with
 * outside addresses 3.a.b.{1,2} and Google tunnels `vpn-i-t0`, `vpn-i-t1` whose peerIp are those.
 */
export function pairedEstate(count: number): { aws: Record<string, unknown>; gcp: Record<string, unknown> } {
  const VpnConnections: unknown[] = [];
  const CustomerGateways: unknown[] = [];
  const vpnTunnels: unknown[] = [];
  const routers = new Map<string, { bgpPeers: unknown[]; interfaces: unknown[]; name: string }>();
  const externalVpnGateways: unknown[] = [];
  for (let i = 0; i < count; i++) {
    const id = `vpn-${hex(i, 17)}`;
    const group = Math.floor(i / 4);
    const vgw = `vgw-${hex(group, 17)}`;
    const router = `cr-${group}`;
    const ips = [1, 2].map((k) => `3.${(i >> 8) & 255}.${i & 255}.${k}`);
    const cgw = `cgw-${hex(i, 17)}`;
    VpnConnections.push({
      CustomerGatewayId: cgw,
      Category: 'VPN',
      State: 'available',
      Type: 'ipsec.1',
      VpnConnectionId: id,
      VpnGatewayId: vgw,
      Options: {
        StaticRoutesOnly: false,
        TunnelOptions: ips.map((ip, k) => ({ OutsideIpAddress: ip, TunnelInsideCidr: `169.254.${k}.0/30` })),
      },
      Routes: [],
      Tags: [{ Key: 'Name', Value: id }],
      VgwTelemetry: ips.map((ip) => ({
        AcceptedRouteCount: 1,
        LastStatusChange: '2026-10-11T12:00:00.000Z',
        OutsideIpAddress: ip,
        Status: 'UP',
        StatusMessage: '1 BGP ROUTES',
      })),
    });
    CustomerGateways.push({
      BgpAsn: '65010',
      CustomerGatewayId: cgw,
      IpAddress: `35.${(i >> 8) & 255}.${i & 255}.1`,
      State: 'available',
      Type: 'ipsec.1',
    });
    const r = routers.get(router) ?? { name: router, bgpPeers: [], interfaces: [] };
    routers.set(router, r);
    ips.forEach((ip, k) => {
      const name = `${id}-t${k}`;
      const selfLink = `${GCE}/regions/us-east4/vpnTunnels/${name}`;
      vpnTunnels.push({
        kind: 'compute#vpnTunnel',
        name,
        peerExternalGateway: `${GCE}/global/externalVpnGateways/aws-${id}`,
        peerExternalGatewayInterface: k,
        peerIp: ip,
        region: `${GCE}/regions/us-east4`,
        router: `${GCE}/regions/us-east4/routers/${router}`,
        selfLink,
        status: 'ESTABLISHED',
        labels: {},
      });
      r.interfaces.push({ name: `if-${name}`, linkedVpnTunnel: selfLink, ipRange: `169.254.${k}.2/30` });
      r.bgpPeers.push({
        name: `bgp-${name}`,
        interfaceName: `if-${name}`,
        enable: 'TRUE',
        ipAddress: `169.254.${k}.2`,
        peerIpAddress: `169.254.${k}.1`,
        peerAsn: 64512,
      });
    });
    externalVpnGateways.push({
      kind: 'compute#externalVpnGateway',
      name: `aws-${id}`,
      interfaces: ips.map((ip, k) => ({ id: k, ipAddress: ip })),
      redundancyType: 'TWO_IPS_REDUNDANCY',
      selfLink: `${GCE}/global/externalVpnGateways/aws-${id}`,
    });
  }
  return {
    aws: {
      // One region's export, as a person pastes it: its region named once.
      Region: 'us-east-1',
      VpnConnections,
      CustomerGateways,
      RouteTables: [],
      TransitGatewayAttachments: [],
      TransitGatewayRouteTables: [],
      TransitGatewayRoutes: {},
    },
    gcp: {
      vpnTunnels,
      routers: [...routers.values()].map((r) => ({
        kind: 'compute#router',
        name: r.name,
        network: `${GCE}/global/networks/net-${r.name}`,
        region: `${GCE}/regions/us-east4`,
        selfLink: `${GCE}/regions/us-east4/routers/${r.name}`,
        bgp: { asn: 65010 },
        bgpPeers: r.bgpPeers,
        interfaces: r.interfaces,
      })),
      routerStatus: {},
      externalVpnGateways,
    },
  };
}

const noTraffic = async () => ({ traffic: [] });
const noLinks = { list: async () => ({ items: [] }) };

/** Step Functions' history limit (events) and Workflows' step and memory limits of one execution. */
export const LIMITS = {
  awsHistoryEvents: MAX_HISTORY_EVENTS,
  gcpSteps: MAX_STEPS,
  gcpMemoryBytes: MEMORY_LIMIT_BYTES,
} as const;

export interface RunMeasure {
  coordinator: 'aws' | 'gcp';
  vpns: number;
  pages: number;
  state: string;
  /** AWS: the execution's history events and its state transitions (states entered). */
  historyEvents?: number;
  transitions?: number;
  /** Google: the billed steps, and the memory cap the execution ran under. */
  steps?: number;
  memoryLimitBytes?: number;
  ms: number;
}

/**
 * A dry run over `count` synthetic VPNs with `coordinator` coordinating: its execution on the local
 * engine (the other side's inventory through the exchange, in pages), the store and bus in memory.
 * Google's runs under `memoryFraction` of Workflows' memory cap (default the whole 512 KB): an
 * execution whose variables outgrow it fails.
 */
export async function measureVpnRun(
  count: number,
  coordinator: 'aws' | 'gcp',
  options: { memoryFraction?: number; maxSteps?: number } = {},
): Promise<RunMeasure> {
  const estate = pairedEstate(count);
  const at = Date.parse('2026-11-20T12:00:00Z');
  const clock = new ManualClock(new Date(at).toISOString());
  const own: Origin =
    coordinator === 'aws'
      ? { cloud: 'aws', accountId: '000000000000', region: 'us-east-1' }
      : { cloud: 'gcp', project: 'crosslink-hub', region: 'us-east4' };
  const other: Origin =
    coordinator === 'aws'
      ? { cloud: 'gcp', project: 'crosslink-hub', region: 'us-east4' }
      : { cloud: 'aws', accountId: '000000000000', region: 'us-east-1' };
  const peer = relayedPeer({
    coordinator: own,
    peer: other,
    peerExport: coordinator === 'aws' ? estate.gcp : estate.aws,
    clock,
  });
  const runs = new MemoryVpnRuns();
  const deps: VpnRunDeps = {
    runs,
    bus: peer.bus,
    clock,
    origin: own,
    installation: 'bench',
    settings: { coordinator, mode: { prod: 'dry-run', nonprod: 'dry-run' }, planner: DEFAULT_POLICY },
    prices: {
      currency: 'USD',
      awsConnectionHour: 0.05,
      gcpTunnelHour: null,
      hoursPerMonth: 730,
      source: 'bench',
    },
    sources: {
      // AWS plans from its own pages, as stepVpnPlan does; Google reads its side at the plan.
      own:
        coordinator === 'aws'
          ? awsPlanSources({ pages: peer.pages, traffic: noTraffic, links: noLinks }).own
          : async () => ({ export: estate.gcp, traffic: { traffic: [] } }),
      ...relayedPeerInventory({ bus: peer.bus, origin: own, clock, pages: peer.pages }),
      links: async () => ({ links: [], skipped: [] }),
    },
  };
  const start = {
    scheduledAt: new Date(at).toISOString(),
    trigger: 'manual',
    apply: false,
    requestedBy: 'alice@crosslink-hub.iam.gserviceaccount.com',
  };
  const t0 = performance.now();
  const pagesOf = () => [...runs.headers.values()][0]?.pages ?? 0;
  if (coordinator === 'aws') {
    const ownInventory = { origin: own, clock, readExport: async () => estate.aws, pages: peer.pages };
    const exec = await runAwsStateMachine(() => deps, start, ownInventory, { start: at });
    return {
      coordinator,
      vpns: count,
      pages: pagesOf(),
      state: exec.status,
      historyEvents: exec.history.length,
      transitions: exec.history.filter((e) => e.type.endsWith('StateEntered')).length,
      ms: performance.now() - t0,
    };
  }
  const memoryLimitBytes = Math.floor(MEMORY_LIMIT_BYTES * (options.memoryFraction ?? 1));
  const out = await runGcpWorkflow(() => deps, start, {
    start: at,
    memoryLimitBytes,
    ...(options.maxSteps ? { maxSteps: options.maxSteps } : {}),
  });
  return {
    coordinator,
    vpns: count,
    pages: pagesOf(),
    state: out.state === 'FAILED' ? `FAILED ${out.error?.payload ?? ''}` : out.state,
    steps: out.stepCount.total,
    memoryLimitBytes,
    ms: performance.now() - t0,
  };
}
