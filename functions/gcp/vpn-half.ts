/**
 * The Google half of a VPN action (docs/vpn-runs.md): the `vpnHalf` function the `vpn-half` workflow
 * calls with a command event. It reads the tunnels the command names (`gcpTunnels`), their Cloud
 * Routers' interfaces and BGP peers and their external VPN gateways from Compute Engine, lets the
 * core decide (functions/core/vpn/half.ts, the same staleness and pause rules as the AWS half),
 * applies the operations and publishes the result event on crosslink-events.
 *
 * - drain / undrain: `routers.patch` with the router's whole `bgpPeers` list (a JSON merge patch
 *   replaces a list), the VPN's peers `enable` FALSE / TRUE, with the router's `fingerprint` so a
 *   concurrent change fails the patch rather than being overwritten;
 * - delete: `vpnTunnels.delete` of each tunnel, then `routers.patch` without the peers and
 *   interfaces linked to them, then `externalVpnGateways.delete` of each gateway no other tunnel uses.
 *
 * crosslink's record of a VPN (the last run applied, the peers its drain disabled, the routers and
 * gateways of a delete under way) is one Firestore document, `vpnHalves/<vpnId>`: Compute Engine
 * labels cannot hold it (routers have none, and a label value allows no spaces or colons).
 */
import type { Firestore } from '@google-cloud/firestore';
import type { Clock } from '#core/clock.ts';
import { type CloudEvent, parseEventType } from '#core/envelope.ts';
import { ValidationError } from '#core/errors.ts';
import type { VpnHalfResultData } from '#core/events/catalog.ts';
import { parseEventData } from '#core/events/schemas.ts';
import type { EventSink } from '#core/link/ports.ts';
import { approves } from '#core/vpn/approval.ts';
import {
  decideGcpHalf,
  formatRunMark,
  type GcpHalfOp,
  type GcpPeerView,
  type GcpTunnelRef,
  type GcpVpnView,
  parseGcpTunnels,
  parseRunMark,
  parseVpnHalfCommand,
  VPN_ACTION_EVENTS,
  VPN_ACTIONS,
  type VpnAction,
  VpnActionsPausedError,
  VpnDeleteNotApprovedError,
  type VpnHalfCommand,
  vpnResultEvent,
} from '#core/vpn/half.ts';
import { ComputeRest } from './compute-rest.ts';
import type { StageExecutions } from './execution-starter.ts';
import { NotFound } from './google-errors.ts';
import { LINK_LABEL, toLabels } from './labels.ts';
import type { AccessTokenSource } from './transport-client.ts';
import { FirestoreVpnApprovals } from './vpn-approvals.ts';

/** The label of a tunnel that lets its delete go without an approval (`nonprod`); none is prod. */
export const ENVIRONMENT_LABEL = 'crosslink-environment';

/** crosslink's record of one VPN's Google half. */
export interface VpnHalfRecord {
  lastRun?: string;
  drainedPeers?: string[];
  /** Written before a delete's first change: what it must still remove once the tunnels are gone. */
  deleting?: { routers: string[]; externalGateways: string[]; environment: 'prod' | 'nonprod' };
}

export interface VpnRecords {
  get(vpnId: string): Promise<VpnHalfRecord>;
  /** Merges `patch` into the record; a field set to null is removed. */
  update(vpnId: string, patch: { [K in keyof VpnHalfRecord]: VpnHalfRecord[K] | null }): Promise<void>;
}

export class FirestoreVpnRecords implements VpnRecords {
  readonly #db: Firestore;
  constructor(db: Firestore) {
    this.#db = db;
  }
  async get(vpnId: string): Promise<VpnHalfRecord> {
    const snap = await this.#db.collection('vpnHalves').doc(vpnId).get();
    return (snap.data() ?? {}) as VpnHalfRecord;
  }
  async update(vpnId: string, patch: Record<string, unknown>): Promise<void> {
    const { FieldValue } = await import('@google-cloud/firestore');
    const data = Object.fromEntries(
      Object.entries(patch).map(([k, v]) => [k, v === null ? FieldValue.delete() : v]),
    );
    await this.#db.collection('vpnHalves').doc(vpnId).set(data, { merge: true });
  }
}

const last = (ref: string) => ref.split('/').pop() as string;

interface RouterBody {
  name: string;
  fingerprint?: string;
  interfaces?: { name: string; linkedVpnTunnel?: string }[];
  bgpPeers?: { name: string; interfaceName: string; enable?: 'TRUE' | 'FALSE' }[];
}

interface TunnelBody {
  name: string;
  router?: string;
  peerExternalGateway?: string;
  labels?: Record<string, string>;
}

export interface GcpVpnHalfDeps {
  compute: ComputeRest;
  records: VpnRecords;
  approvals: FirestoreVpnApprovals;
  /** crosslink-events: where the result event goes. */
  bus: EventSink;
  clock: Clock;
  origin: { cloud: 'gcp'; project: string; region: string };
  /** The pause switch: read at the start of every action. */
  paused: () => boolean;
}

const COMMANDS = new Map(VPN_ACTIONS.map((a) => [VPN_ACTION_EVENTS[a].command as string, a]));

/** Whether a CloudEvent is a VPN command (what starts the vpn-half workflow). */
export function isVpnCommand(event: { type?: unknown }): boolean {
  return typeof event.type === 'string' && COMMANDS.has(parseEventType(event.type)?.name ?? '');
}

/** The command of a CloudEvent and the Google tunnels it names; every bad field is named. */
export function gcpCommandOf(event: CloudEvent): { command: VpnHalfCommand; tunnels: GcpTunnelRef[] } {
  const name = parseEventType(String(event?.type ?? ''))?.name ?? '';
  const action = COMMANDS.get(name);
  if (!action)
    throw new ValidationError(
      [{ path: 'type', reason: `must be one of ${[...COMMANDS.keys()].join(', ')}, got "${name}"` }],
      'VPN command event',
    );
  parseEventData(VPN_ACTION_EVENTS[action].command, event.data);
  return {
    command: parseVpnHalfCommand(action, event.data, `${name} data`),
    tunnels: parseGcpTunnels(event.data, `${name} data`),
  };
}

const routerKey = (r: { project: string; region: string; router: string }) =>
  `${r.project}/${r.region}/${r.router}`;

async function readView(
  deps: GcpVpnHalfDeps,
  vpnId: string,
  refs: GcpTunnelRef[],
  record: VpnHalfRecord,
): Promise<GcpVpnView> {
  const { compute } = deps;
  const tunnels: { ref: GcpTunnelRef; externalGateway?: string; labels: Record<string, string> }[] = [];
  const routers = new Set(record.deleting?.routers ?? []);
  const gateways = new Set(record.deleting?.externalGateways ?? []);
  for (const ref of refs) {
    const t = await compute.get<TunnelBody>(ref.project, `regions/${ref.region}/vpnTunnels/${ref.name}`);
    if (!t) continue;
    const externalGateway = t.peerExternalGateway ? last(t.peerExternalGateway) : undefined;
    tunnels.push({ ref, labels: t.labels ?? {}, ...(externalGateway ? { externalGateway } : {}) });
    if (t.router) routers.add(`${ref.project}/${ref.region}/${last(t.router)}`);
    if (externalGateway) gateways.add(`${ref.project}/${externalGateway}`);
  }
  const named = new Set(refs.map((r) => `${r.project}/${r.region}/${r.name}`));
  const peers: GcpPeerView[] = [];
  const bareInterfaces: GcpVpnView['bareInterfaces'][number][] = [];
  for (const key of [...routers].sort()) {
    const [project, region, router] = key.split('/') as [string, string, string];
    const r = await compute.get<RouterBody>(project, `regions/${region}/routers/${router}`);
    if (!r) continue;
    for (const itf of r.interfaces ?? []) {
      if (!itf.linkedVpnTunnel || !named.has(`${project}/${region}/${last(itf.linkedVpnTunnel)}`)) continue;
      const on = (r.bgpPeers ?? []).filter((p) => p.interfaceName === itf.name);
      if (!on.length) bareInterfaces.push({ project, region, router, interfaceName: itf.name });
      for (const p of on)
        peers.push({
          project,
          region,
          router,
          peer: p.name,
          interfaceName: itf.name,
          tunnel: last(itf.linkedVpnTunnel),
          enabled: p.enable !== 'FALSE',
        });
    }
  }
  const externalGateways: GcpVpnView['externalGateways'][number][] = [];
  for (const key of [...gateways].sort()) {
    const [project, name] = key.split('/') as [string, string];
    const exists = !!(await compute.get(project, `global/externalVpnGateways/${name}`));
    let usedByOthers = false;
    if (exists) {
      const all = await compute.get<{
        items?: Record<string, { vpnTunnels?: (TunnelBody & { region: string })[] }>;
      }>(project, 'aggregated/vpnTunnels');
      usedByOthers = Object.values(all?.items ?? {}).some((b) =>
        (b.vpnTunnels ?? []).some(
          (t) =>
            t.peerExternalGateway &&
            last(t.peerExternalGateway) === name &&
            !named.has(`${project}/${last(t.region)}/${t.name}`),
        ),
      );
    }
    externalGateways.push({ project, name, exists, usedByOthers });
  }
  const environment = tunnels.length
    ? tunnels.every((t) => t.labels[ENVIRONMENT_LABEL] === 'nonprod')
      ? 'nonprod'
      : 'prod'
    : (record.deleting?.environment ?? 'prod');
  return {
    vpnId,
    tunnels: tunnels.map(({ ref, externalGateway }) => ({
      ref,
      ...(externalGateway ? { externalGateway } : {}),
    })),
    peers,
    bareInterfaces,
    externalGateways,
    ...(record.drainedPeers ? { drainedPeers: record.drainedPeers } : {}),
    ...(record.lastRun ? { lastRun: parseRunMark(record.lastRun) } : {}),
    environment,
  };
}

/** One routers.patch of the whole bgpPeers (and interfaces) list, conditioned on the fingerprint. */
async function patchRouter(
  compute: ComputeRest,
  at: { project: string; region: string; router: string },
  change: (r: RouterBody) => Pick<RouterBody, 'bgpPeers' | 'interfaces'>,
): Promise<void> {
  const path = `regions/${at.region}/routers/${at.router}`;
  const r = await compute.get<RouterBody>(at.project, path);
  if (!r) return;
  await compute.mutate(at.project, 'PATCH', path, {
    ...change(r),
    ...(r.fingerprint ? { fingerprint: r.fingerprint } : {}),
  });
}

async function apply(deps: GcpVpnHalfDeps, c: VpnHalfCommand, view: GcpVpnView, op: GcpHalfOp) {
  const { compute, records } = deps;
  switch (op.kind) {
    case 'mark-drained':
      await records.update(c.vpnId, { drainedPeers: [...op.peers] });
      return [];
    case 'clear-drained':
      await records.update(c.vpnId, { drainedPeers: null });
      return [];
    case 'record-delete':
      // With the command's mark, so that it applied again once the tunnels are gone knows its own.
      await records.update(c.vpnId, {
        lastRun: formatRunMark(c),
        deleting: {
          routers: [...new Set(view.peers.map(routerKey).concat(view.bareInterfaces.map(routerKey)))].sort(),
          externalGateways: view.externalGateways.map((g) => `${g.project}/${g.name}`),
          environment: view.environment,
        },
      });
      return [];
    case 'set-peers':
      await patchRouter(compute, op, (r) => ({
        bgpPeers: (r.bgpPeers ?? []).map((p) =>
          op.peers.includes(p.name) ? { ...p, enable: op.enable ? 'TRUE' : 'FALSE' } : p,
        ),
      }));
      return op.peers.map(
        (p) => `projects/${op.project}/regions/${op.region}/routers/${op.router}/bgpPeers/${p}`,
      );
    case 'delete-tunnel':
      try {
        await compute.mutate(op.ref.project, 'DELETE', `regions/${op.ref.region}/vpnTunnels/${op.ref.name}`);
      } catch (e) {
        // A concurrent duplicate deleted it first: the delete is done.
        if (!(e instanceof NotFound)) throw e;
      }
      return [`projects/${op.ref.project}/regions/${op.ref.region}/vpnTunnels/${op.ref.name}`];
    case 'remove-router-parts':
      await patchRouter(compute, op, (r) => ({
        bgpPeers: (r.bgpPeers ?? []).filter((p) => !op.peers.includes(p.name)),
        interfaces: (r.interfaces ?? []).filter((i) => !op.interfaces.includes(i.name)),
      }));
      return [`projects/${op.project}/regions/${op.region}/routers/${op.router}`];
    case 'delete-external-gateway':
      try {
        await compute.mutate(op.project, 'DELETE', `global/externalVpnGateways/${op.name}`);
      } catch (e) {
        if (!(e instanceof NotFound)) throw e;
      }
      return [`projects/${op.project}/global/externalVpnGateways/${op.name}`];
  }
}

/** Applies one command to the Google half, idempotently, and publishes the result. */
export async function applyGcpVpnHalf(
  deps: GcpVpnHalfDeps,
  event: CloudEvent,
): Promise<VpnHalfResultData & { action: VpnAction }> {
  const { command: c, tunnels } = gcpCommandOf(event);
  if (deps.paused())
    throw new VpnActionsPausedError(
      `VPN actions are paused: ${c.action} of ${c.vpnId} (run ${c.runId}) not applied`,
    );
  const record = await deps.records.get(c.vpnId);
  const view = await readView(deps, c.vpnId, tunnels, record);
  const approved =
    c.action === 'delete' && view.environment === 'prod'
      ? approves(await deps.approvals.approval(c.runId, c.vpnId), c)
      : false;
  let d: ReturnType<typeof decideGcpHalf>;
  try {
    d = decideGcpHalf(c, view, { approved });
  } catch (e) {
    if (!(e instanceof VpnDeleteNotApprovedError)) throw e;
    // The request an approver approves (at the intake, POST /vpns/{vpnId}/approvals).
    const { runId, vpnId, requestedBy, requestedAt } = c;
    await deps.approvals.recordRequest({ runId, vpnId, requestedBy, requestedAt });
    throw new VpnDeleteNotApprovedError(
      `${e.message}: an approver approves it with POST /vpns/${vpnId}/approvals {"runId": "${runId}", "decision": "approve"} at the Google intake; the execution waiting for it then deletes it`,
    );
  }
  const changed: string[] = [];
  for (const op of d.ops) changed.push(...(await apply(deps, c, view, op)));
  if (d.outcome !== 'stale') await deps.records.update(c.vpnId, { lastRun: formatRunMark(c) });
  const { data, event: result } = vpnResultEvent(c, d, {
    changed,
    origin: deps.origin,
    clock: deps.clock,
    traceparent: event.traceparent,
  });
  await deps.bus.put([result]);
  return { action: c.action, ...data };
}

/** How long a prod delete waits for its approval: as on AWS (the links' approval deadline, 72 h). */
export const VPN_APPROVAL_WAIT_MS = 72 * 3600_000;

/** What the workflow posts for a wait (`park`, with its callback URL) or its deadline (`expired`). */
export interface GcpVpnWait {
  event: CloudEvent;
  vpnApproval: 'park' | 'expired';
  callback: string;
}

function gcpWaitOf(body: GcpVpnWait): { command: VpnHalfCommand; callback: string } {
  const issues = [];
  if (body.vpnApproval !== 'park' && body.vpnApproval !== 'expired')
    issues.push({ path: 'vpnApproval', reason: 'must be "park" or "expired"' });
  if (typeof body.callback !== 'string' || !body.callback)
    issues.push({ path: 'callback', reason: "must be the execution's callback URL" });
  if (issues.length) throw new ValidationError(issues, 'VPN approval wait');
  const { command } = gcpCommandOf(body.event);
  if (command.action !== 'delete')
    throw new ValidationError(
      [{ path: 'event', reason: 'only a delete waits for an approval' }],
      'VPN approval wait',
    );
  return { command, callback: body.callback };
}

/**
 * The wait of a prod delete: records the request with the execution's callback URL (which the
 * intake answers when it records the approval). `{approved: true}` when an approval of this very
 * command is recorded already (the workflow applies again); `{waitingIn}` when another execution
 * waits for the same delete (this one ends without waiting).
 */
export async function parkGcpVpnDelete(
  deps: GcpVpnHalfDeps,
  body: GcpVpnWait,
): Promise<{ parked: true; approved: boolean } | { parked: false; waitingIn: string; reason: string }> {
  const { command: c, callback } = gcpWaitOf(body);
  const { runId, vpnId, requestedBy, requestedAt } = c;
  const out = await deps.approvals.park({
    request: { runId, vpnId, requestedBy, requestedAt },
    callback,
    waitUntil: deps.clock.now() + VPN_APPROVAL_WAIT_MS,
  });
  if (!out.parked)
    return {
      parked: false,
      waitingIn: out.waitingIn,
      reason: `the delete of ${vpnId} in run ${runId} already waits for its approval in ${out.waitingIn}`,
    };
  return { parked: true, approved: approves(out.approval, c) };
}

/**
 * A prod delete's deadline passed: the wait is cleared. An approval of this command recorded during
 * the wait (its callback's send failed and was not repeated) answers `{approved: true}`, and the
 * workflow applies the delete; with none, nothing is deleted and the result event says why.
 */
export async function expireGcpVpnDelete(
  deps: GcpVpnHalfDeps,
  body: GcpVpnWait,
): Promise<(VpnHalfResultData & { action: VpnAction }) | { approved: true }> {
  const { command: c, callback } = gcpWaitOf(body);
  await deps.approvals.unpark(c.runId, c.vpnId, callback);
  if (approves(await deps.approvals.approval(c.runId, c.vpnId), c)) return { approved: true };
  const { data, event } = vpnResultEvent(
    c,
    {
      outcome: 'expired',
      method: 'gcp-bgp-peers',
      reason: `no approval of the delete of ${c.vpnId} in run ${c.runId} came within ${VPN_APPROVAL_WAIT_MS / 3600_000} h: nothing deleted`,
    },
    { changed: [], origin: deps.origin, clock: deps.clock, traceparent: body.event.traceparent },
  );
  await deps.bus.put([event]);
  return { action: c.action, ...data };
}

/** The function's one entry: a command applied, or a delete's wait parked or expired. */
export function gcpVpnHalfStep(deps: GcpVpnHalfDeps, body: { event: CloudEvent } & Partial<GcpVpnWait>) {
  if (body.vpnApproval === undefined) return applyGcpVpnHalf(deps, body.event);
  return body.vpnApproval === 'park'
    ? parkGcpVpnDelete(deps, body as GcpVpnWait)
    : expireGcpVpnDelete(deps, body as GcpVpnWait);
}

/**
 * The `vpnHalf` function's dependencies in `project` / `region`: Compute with the function's own
 * credentials in the hub and each network project's impersonated account there, Firestore for the
 * records and approvals, crosslink-events for the results. `CROSSLINK_VPN_ACTIONS_PAUSED=true` pauses.
 */
export function buildVpnHalfDeps(
  env: NodeJS.ProcessEnv,
  placement: { project: string; region: string },
  clients: {
    firestore: Firestore;
    bus: EventSink;
    clock: Clock;
    authFor: (project: string) => AccessTokenSource;
  },
): GcpVpnHalfDeps {
  return {
    compute: new ComputeRest({
      authFor: clients.authFor,
      ...(env.CROSSLINK_GCP_ENDPOINT ? { endpoint: env.CROSSLINK_GCP_ENDPOINT } : {}),
    }),
    records: new FirestoreVpnRecords(clients.firestore),
    approvals: new FirestoreVpnApprovals(clients.firestore, { clock: clients.clock }),
    bus: clients.bus,
    clock: clients.clock,
    origin: { cloud: 'gcp', project: placement.project, region: placement.region },
    paused: () => env.CROSSLINK_VPN_ACTIONS_PAUSED === 'true',
  };
}

/** The label of a vpn-half execution naming its VPN. */
export const VPN_LABEL = 'crosslink-vpn-id';

/**
 * Starts the vpn-half workflow for a command event (from this side's topic or relayed from AWS). A
 * redelivered command starts another execution: the half is idempotent, so it changes nothing more.
 */
export async function startVpnHalf(
  starter: { executions: StageExecutions; labels?: Record<string, string> },
  workflow: string,
  event: CloudEvent,
): Promise<{ started: true; execution: string; vpnId: string }> {
  // Refused before anything starts: a command the half would refuse never becomes an execution.
  const { command } = gcpCommandOf(event);
  const labels = { ...toLabels(starter.labels ?? {}, '') };
  delete labels[LINK_LABEL];
  const out = await starter.executions.create(workflow, {
    argument: { event },
    labels: { ...labels, [VPN_LABEL]: command.vpnId },
  });
  return { started: true, execution: out.name, vpnId: command.vpnId };
}
