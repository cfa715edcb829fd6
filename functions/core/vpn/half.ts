/**
 * One cloud's half of a VPN action (drain, undrain, delete), decided from what that cloud shows now:
 * the command names the action, the run that planned it and the VPN; the view is the VPN as this side
 * reads it, with crosslink's marks on it (the drain it applied, the last run it applied). The decision
 * is a list of operations that is empty when the VPN is already as the command wants it, so a
 * duplicate command changes nothing, a lost one is made good by the next run, and a command older than
 * the last one applied to the VPN (reordered) is stale and changes nothing either.
 */
import type { Clock } from '../clock.ts';
import { buildEvent, type CloudEvent, type Origin } from '../envelope.ts';
import { CrosslinkError, type Issue, ValidationError } from '../errors.ts';
import type { VpnHalfResultData } from '../events/catalog.ts';

export type VpnAction = 'drain' | 'undrain' | 'delete';
export const VPN_ACTIONS: readonly VpnAction[] = ['drain', 'undrain', 'delete'];

/** The command event of each action, and its result event. */
export const VPN_ACTION_EVENTS = {
  drain: { command: 'VpnDrainRequested', result: 'VpnDrained' },
  undrain: { command: 'VpnUndrainRequested', result: 'VpnUndrained' },
  delete: { command: 'VpnDeleteRequested', result: 'VpnHalfDeleted' },
} as const satisfies Record<VpnAction, { command: string; result: string }>;

export interface VpnHalfCommand {
  action: VpnAction;
  /** The planner run that decided the action: with the VPN id, the command's idempotency key. */
  runId: string;
  /** The AWS VPN connection id (`vpn-...`): the one id both halves share. */
  vpnId: string;
  /** Who asked (the planner's identity or a person), checked against the approver of a prod delete. */
  requestedBy: string;
  requestedAt: string;
  /**
   * The AWS region the VPN connection is in, as the run's inventory read it: where the AWS half acts
   * (it refuses a command without one); Google's half does not read it.
   */
  awsRegion?: string;
}

/** An AWS region's shape (config/link-request.schema.json's). */
export const AWS_REGION = /^[a-z]{2}(-[a-z]+)+-\d$/;

/** Refused: the pause switch is on. Nothing was changed. */
export class VpnActionsPausedError extends CrosslinkError {
  override name = 'VpnActionsPausedError';
}
/** Refused: a delete of a prod VPN with no approval recorded for its run (or approved by its requester). */
export class VpnDeleteNotApprovedError extends CrosslinkError {
  override name = 'VpnDeleteNotApprovedError';
}
/** Refused: a delete of a VPN that still carries routes on this side (drain it first). */
export class VpnNotDrainedError extends CrosslinkError {
  override name = 'VpnNotDrainedError';
}

const RUN_ID = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$/;
const VPN_ID = /^vpn-[0-9a-f]{8,17}$/;

/** The command from an event's data (or a direct invocation); every bad field is named. */
export function parseVpnHalfCommand(action: VpnAction, data: unknown, subject = 'command'): VpnHalfCommand {
  const issues: Issue[] = [];
  const isObject = !!data && typeof data === 'object' && !Array.isArray(data);
  if (!isObject) throw new ValidationError([{ path: '', reason: 'must be a JSON object' }], subject);
  const o = data as Record<string, unknown>;
  const str = (k: string, re: RegExp, what: string): string => {
    const v = o[k];
    if (typeof v !== 'string') issues.push({ path: k, reason: `is required: ${what}` });
    else if (!re.test(v)) issues.push({ path: k, reason: `must be ${what}, got ${JSON.stringify(v)}` });
    return typeof v === 'string' ? v : '';
  };
  const runId = str('runId', RUN_ID, 'a run id (letters, digits, . _ : -, at most 64)');
  const vpnId = str('vpnId', VPN_ID, 'an AWS VPN connection id (vpn- and 8 or 17 hex digits)');
  const requestedBy = str('requestedBy', /^\S{1,256}$/, 'a principal');
  const requestedAt = str('requestedAt', /^\d{4}-\d{2}-\d{2}T[\d:.]+Z$/, 'an RFC 3339 UTC time');
  if (requestedAt && Number.isNaN(Date.parse(requestedAt)))
    issues.push({ path: 'requestedAt', reason: `is not a time: ${requestedAt}` });
  const awsRegion = o.awsRegion === undefined ? undefined : str('awsRegion', AWS_REGION, 'an AWS region');
  if (issues.length) throw new ValidationError(issues, subject);
  return { action, runId, vpnId, requestedBy, requestedAt, ...(awsRegion ? { awsRegion } : {}) };
}

/** The last command crosslink applied to a VPN, as it marks the VPN: `<requestedAt> <action> <runId>`. */
export interface RunMark {
  requestedAt: string;
  action: VpnAction;
  runId: string;
}

export function formatRunMark(c: VpnHalfCommand): string {
  return `${c.requestedAt} ${c.action} ${c.runId}`;
}

export function parseRunMark(text: string | undefined): RunMark | undefined {
  const [requestedAt, action, runId] = (text ?? '').split(' ');
  if (!requestedAt || !runId || !VPN_ACTIONS.includes(action as VpnAction)) return undefined;
  if (Number.isNaN(Date.parse(requestedAt))) return undefined;
  return { requestedAt, action: action as VpnAction, runId };
}

/**
 * Stale: a different command planned before the last one applied to the VPN. The same command again
 * is not stale (it is a duplicate, and the decision makes it change nothing).
 */
export function isStale(c: VpnHalfCommand, last: RunMark | undefined): boolean {
  if (!last) return false;
  if (last.runId === c.runId && last.action === c.action) return false;
  return Date.parse(c.requestedAt) < Date.parse(last.requestedAt);
}

/** The decision for a stale command: nothing to do, and why. */
function staleDecision<M extends string>(c: VpnHalfCommand, last: RunMark | undefined, method: M) {
  return {
    outcome: 'stale' as const,
    method,
    ops: [] as never[],
    reason: `planned at ${c.requestedAt}, before the ${last?.action} of run ${last?.runId} (${last?.requestedAt}) already applied`,
  };
}

/**
 * What an action did: changed resources, nothing to change, the VPN already gone, a stale command,
 * or (a prod delete) no approval before the deadline.
 */
export type VpnOutcome = VpnHalfResultData['outcome'];

/** The AWS half of one VPN, as EC2 shows it. */
export interface AwsVpnView {
  vpnId: string;
  /** `deleted` (or not found at all: `absent`) ends every action. */
  state: 'pending' | 'available' | 'deleting' | 'deleted' | 'absent';
  customerGatewayId?: string;
  /** The Transit Gateway attachment; absent for a VPN on a virtual private gateway. */
  transitGatewayAttachmentId?: string;
  /** The Transit Gateway route tables this VPN's attachment propagates to now. */
  propagatesTo: readonly string[];
  /** The route tables crosslink's drain took the propagation from (its mark on the VPN). */
  drainedFrom?: readonly string[];
  lastRun?: RunMark;
  environment: 'prod' | 'nonprod';
  /**
   * For a VPN on a virtual private gateway: whether Google's half reported it drained (its last
   * VpnDrained / VpnUndrained, relayed from Google and recorded on this side).
   */
  googleDrained?: boolean;
}

export type AwsHalfOp =
  | { kind: 'disable-propagation'; routeTableId: string; attachmentId: string }
  | { kind: 'enable-propagation'; routeTableId: string; attachmentId: string }
  | { kind: 'mark-drained'; routeTableIds: readonly string[] }
  | { kind: 'clear-drained' }
  /** The command's mark on the VPN (its last run), put before a delete so that a retry knows its own. */
  | { kind: 'mark-run' }
  | { kind: 'delete-vpn' }
  | { kind: 'delete-customer-gateway'; customerGatewayId: string };

export interface AwsHalfDecision {
  outcome: VpnOutcome;
  /** What this command changed when it was applied before (a repeat answers it again). */
  changedBefore?: string[];
  /** How this side drains the VPN: its Transit Gateway propagation, or none (Google drains it alone). */
  method: 'tgw-propagation' | 'google-side';
  ops: AwsHalfOp[];
  reason: string;
}

/**
 * The AWS half's operations for a command. `customerGatewayShared` says whether another VPN
 * connection (not deleted) uses the VPN's customer gateway; `approved` whether a prod delete has its
 * approval. Throws the refusals (pause is checked by the caller before anything is read).
 */
export function decideAwsHalf(
  c: VpnHalfCommand,
  v: AwsVpnView,
  o: { customerGatewayShared: boolean; approved: boolean },
): AwsHalfDecision {
  const method = v.transitGatewayAttachmentId ? 'tgw-propagation' : 'google-side';
  const gone = v.state === 'deleted' || v.state === 'deleting' || v.state === 'absent';
  if (isStale(c, v.lastRun)) return staleDecision(c, v.lastRun, method);
  if (c.action === 'delete') {
    const ops: AwsHalfOp[] = [];
    // This very command deleted it (its mark is on the VPN) and is applied again: a step retried
    // after its delete, or a command delivered twice. It answers what it did, as the first time.
    const deletedByThis = gone && v.lastRun?.runId === c.runId && v.lastRun.action === 'delete';
    if (!gone) {
      if (v.propagatesTo.length)
        throw new VpnNotDrainedError(
          `${v.vpnId} still propagates to ${v.propagatesTo.join(', ')}: drain it before deleting`,
        );
      // A VPN on a virtual private gateway is drained by Google alone: only its report says so.
      if (!v.transitGatewayAttachmentId && !v.googleDrained)
        throw new VpnNotDrainedError(
          `${v.vpnId} is on a virtual private gateway, drained from Google's side alone, and no VpnDrained from Google's half is recorded for it (or Google undrained it since): drain it on Google before deleting`,
        );
      ops.push({ kind: 'mark-run' }, { kind: 'delete-vpn' });
    }
    if (v.customerGatewayId && !o.customerGatewayShared)
      ops.push({ kind: 'delete-customer-gateway', customerGatewayId: v.customerGatewayId });
    if (ops.length && v.environment === 'prod' && !o.approved)
      throw new VpnDeleteNotApprovedError(
        `${v.vpnId} is prod: its delete needs an approval recorded for run ${c.runId} by someone other than ${c.requestedBy}`,
      );
    return {
      outcome: ops.length || deletedByThis ? 'changed' : 'gone',
      method,
      ops,
      ...(deletedByThis && { changedBefore: [v.vpnId] }),
      reason: deletedByThis
        ? `${v.vpnId} was deleted by this command (run ${c.runId}) already${ops.length ? `; deleting ${(ops[0] as { customerGatewayId: string }).customerGatewayId}` : ''}`
        : ops.length
          ? `deleting ${ops
              .filter((x) => x.kind !== 'mark-run')
              .map((x) =>
                x.kind === 'delete-vpn' ? v.vpnId : (x as { customerGatewayId: string }).customerGatewayId,
              )
              .join(
                ' then ',
              )}${v.customerGatewayId && o.customerGatewayShared ? `; ${v.customerGatewayId} is used by another VPN and stays` : ''}`
          : `${v.vpnId} is already deleted${v.customerGatewayId ? `; ${v.customerGatewayId} is used by another VPN and stays` : ''}`,
    };
  }
  if (gone) return { outcome: 'gone', method, ops: [], reason: `${v.vpnId} is deleted` };
  const att = v.transitGatewayAttachmentId;
  if (!att)
    return {
      outcome: 'unchanged',
      method,
      ops: [],
      reason: `${v.vpnId} is on a virtual private gateway: Google's half ${c.action}s it alone (never DisableVgwRoutePropagation, which acts on the whole gateway)`,
    };
  if (c.action === 'drain') {
    if (!v.propagatesTo.length)
      return { outcome: 'unchanged', method, ops: [], reason: `${att} propagates to no route table` };
    const tables = [...new Set([...(v.drainedFrom ?? []), ...v.propagatesTo])].sort();
    return {
      outcome: 'changed',
      method,
      ops: [
        // The mark first: a step that stops half-way still knows what to undrain.
        { kind: 'mark-drained', routeTableIds: tables },
        ...v.propagatesTo.map(
          (routeTableId) => ({ kind: 'disable-propagation', routeTableId, attachmentId: att }) as const,
        ),
      ],
      reason: `disabling ${att}'s propagation to ${v.propagatesTo.join(', ')}`,
    };
  }
  const restore = (v.drainedFrom ?? []).filter((t) => !v.propagatesTo.includes(t));
  if (!v.drainedFrom)
    return { outcome: 'unchanged', method, ops: [], reason: `${v.vpnId} has no drain by crosslink to undo` };
  return {
    outcome: restore.length ? 'changed' : 'unchanged',
    method,
    ops: [
      ...restore.map(
        (routeTableId) => ({ kind: 'enable-propagation', routeTableId, attachmentId: att }) as const,
      ),
      { kind: 'clear-drained' },
    ],
    reason: restore.length
      ? `enabling ${att}'s propagation to ${restore.join(', ')}`
      : `${att} already propagates to ${v.drainedFrom.join(', ')}`,
  };
}

/** A Google HA VPN tunnel of the VPN: `projects/<p>/regions/<r>/vpnTunnels/<name>` (or its URL). */
export interface GcpTunnelRef {
  project: string;
  region: string;
  name: string;
}

const TUNNEL_REF =
  /(?:^|\/)projects\/([a-z][a-z0-9-]{4,28}[a-z0-9])\/regions\/([a-z]+-[a-z]+\d+)\/vpnTunnels\/([a-z](?:[-a-z0-9]{0,61}[a-z0-9])?)$/;

/** A tunnel reference in the forms Google prints (selfLink URL or `projects/...`), or undefined. */
export function parseTunnelRef(text: string): GcpTunnelRef | undefined {
  const m = TUNNEL_REF.exec(text);
  return m ? { project: m[1] as string, region: m[2] as string, name: m[3] as string } : undefined;
}

/**
 * The Google tunnels a command names (`gcpTunnels`, the planner's pairing of the VPN's Google
 * half): each in a form Google prints, at least one, at most 8. Google's half acts on nothing else.
 */
export function parseGcpTunnels(data: unknown, subject = 'command'): GcpTunnelRef[] {
  const v = (data as { gcpTunnels?: unknown } | null)?.gcpTunnels;
  if (!Array.isArray(v) || v.length === 0 || v.length > 8)
    throw new ValidationError(
      [
        {
          path: 'gcpTunnels',
          reason:
            'is required by the Google half: the VPN’s HA VPN tunnels, 1 to 8 of projects/<p>/regions/<r>/vpnTunnels/<name>',
        },
      ],
      subject,
    );
  const issues: Issue[] = [];
  const refs = v.flatMap((t, i) => {
    const ref = typeof t === 'string' ? parseTunnelRef(t) : undefined;
    if (!ref)
      issues.push({
        path: `gcpTunnels[${i}]`,
        reason: `must be projects/<p>/regions/<r>/vpnTunnels/<name> or its URL, got ${JSON.stringify(t)}`,
      });
    return ref ? [ref] : [];
  });
  if (issues.length) throw new ValidationError(issues, subject);
  return refs;
}

/** One Cloud Router BGP peer on an interface linked to one of the VPN's tunnels. */
export interface GcpPeerView {
  project: string;
  region: string;
  router: string;
  peer: string;
  interfaceName: string;
  /** The tunnel the interface links (the VPN's). */
  tunnel: string;
  enabled: boolean;
}

/** `project/region/router/peer`: how a peer is named in crosslink's drain mark. */
export const peerKey = (p: Pick<GcpPeerView, 'project' | 'region' | 'router' | 'peer'>) =>
  `${p.project}/${p.region}/${p.router}/${p.peer}`;

/** The Google half of one VPN, as Compute Engine shows it, with crosslink's record of it. */
export interface GcpVpnView {
  vpnId: string;
  /** The named tunnels that still exist, with their external VPN gateway. */
  tunnels: readonly { ref: GcpTunnelRef; externalGateway?: string }[];
  /** The BGP peers (and interfaces) linked to the named tunnels, whether or not the tunnels still exist. */
  peers: readonly GcpPeerView[];
  /** Interfaces linked to a named tunnel that no peer uses. */
  bareInterfaces: readonly { project: string; region: string; router: string; interfaceName: string }[];
  /** The external VPN gateways of the VPN (read from its tunnels, or recorded before they were deleted). */
  externalGateways: readonly { project: string; name: string; exists: boolean; usedByOthers: boolean }[];
  /** The peers crosslink's drain disabled (`peerKey`s), as it recorded them before disabling. */
  drainedPeers?: readonly string[];
  lastRun?: RunMark;
  environment: 'prod' | 'nonprod';
}

export type GcpHalfOp =
  | { kind: 'mark-drained'; peers: readonly string[] }
  | { kind: 'clear-drained' }
  | {
      kind: 'set-peers';
      project: string;
      region: string;
      router: string;
      peers: readonly string[];
      enable: boolean;
    }
  | { kind: 'record-delete' }
  | { kind: 'delete-tunnel'; ref: GcpTunnelRef }
  | {
      kind: 'remove-router-parts';
      project: string;
      region: string;
      router: string;
      peers: readonly string[];
      interfaces: readonly string[];
    }
  | { kind: 'delete-external-gateway'; project: string; name: string };

export interface GcpHalfDecision {
  outcome: VpnOutcome;
  method: 'gcp-bgp-peers';
  ops: GcpHalfOp[];
  reason: string;
}

/** Groups peers by their router: `project/region/router` -> the peers. */
function byRouter<T extends Pick<GcpPeerView, 'project' | 'region' | 'router'>>(items: readonly T[]) {
  const out = new Map<string, { project: string; region: string; router: string; items: T[] }>();
  for (const p of items) {
    const k = `${p.project}/${p.region}/${p.router}`;
    const g = out.get(k) ?? { project: p.project, region: p.region, router: p.router, items: [] };
    g.items.push(p);
    out.set(k, g);
  }
  return [...out.values()];
}

/** One `set-peers` per router of `peers`. */
function setPeers(peers: readonly GcpPeerView[], enable: boolean): GcpHalfOp[] {
  return byRouter(peers).map((g) => ({
    kind: 'set-peers',
    project: g.project,
    region: g.region,
    router: g.router,
    peers: g.items.map((p) => p.peer),
    enable,
  }));
}

/**
 * Google's half for a command: drain sets the VPN's BGP peers `enable` FALSE (recording which
 * first), undrain sets TRUE on exactly the recorded ones, delete removes the tunnels, then the
 * routers' peers and interfaces for them, then each external VPN gateway no other tunnel uses.
 * A delete is refused while a peer of the VPN is still enabled, and a prod one without approval.
 */
export function decideGcpHalf(c: VpnHalfCommand, v: GcpVpnView, o: { approved: boolean }): GcpHalfDecision {
  const method = 'gcp-bgp-peers' as const;
  if (isStale(c, v.lastRun)) return staleDecision(c, v.lastRun, method);
  const gone = v.tunnels.length === 0;
  if (c.action === 'delete') {
    const enabled = v.peers.filter((p) => p.enabled && v.tunnels.some((t) => t.ref.name === p.tunnel));
    if (enabled.length)
      throw new VpnNotDrainedError(
        `${v.vpnId}: BGP peers ${enabled.map((p) => p.peer).join(', ')} are still enabled: drain it before deleting`,
      );
    const ops: GcpHalfOp[] = [];
    for (const t of v.tunnels) ops.push({ kind: 'delete-tunnel', ref: t.ref });
    const parts = byRouter([
      ...v.peers.map((p) => ({ ...p, part: 'peer' as const })),
      ...v.bareInterfaces.map((i) => ({
        ...i,
        peer: '',
        tunnel: '',
        enabled: false,
        part: 'interface' as const,
      })),
    ]);
    for (const g of parts)
      ops.push({
        kind: 'remove-router-parts',
        project: g.project,
        region: g.region,
        router: g.router,
        peers: g.items.filter((i) => i.part === 'peer').map((i) => i.peer),
        interfaces: [...new Set(g.items.map((i) => i.interfaceName))],
      });
    for (const x of v.externalGateways)
      if (x.exists && !x.usedByOthers)
        ops.push({ kind: 'delete-external-gateway', project: x.project, name: x.name });
    if (ops.length && v.environment === 'prod' && !o.approved)
      throw new VpnDeleteNotApprovedError(
        `${v.vpnId} is prod: its delete needs an approval recorded for run ${c.runId} by an approver other than ${c.requestedBy}`,
      );
    const kept = v.externalGateways.filter((x) => x.exists && x.usedByOthers).map((x) => x.name);
    const keptText = kept.length ? `; ${kept.join(', ')} used by another tunnel and stays` : '';
    // This very command deleted it (its mark, recorded before the first tunnel went) and is applied
    // again: it answers what it did, as the first time.
    if (!ops.length && v.lastRun?.runId === c.runId && v.lastRun.action === 'delete')
      return {
        outcome: 'changed',
        method,
        ops,
        reason: `${v.vpnId}'s Google half was deleted by this command (run ${c.runId}) already${keptText}`,
      };
    if (!ops.length)
      return {
        outcome: 'gone',
        method,
        ops,
        reason: `${v.vpnId}'s Google half is already deleted${keptText}`,
      };
    // The gateways are recorded before the first tunnel goes: a delete stopped half-way still knows them.
    return {
      outcome: 'changed',
      method,
      ops: [{ kind: 'record-delete' }, ...ops],
      reason: `deleting ${ops.length} resource(s) of ${v.vpnId}'s Google half${keptText}`,
    };
  }
  if (gone) return { outcome: 'gone', method, ops: [], reason: `${v.vpnId}'s Google tunnels are deleted` };
  if (c.action === 'drain') {
    const enabled = v.peers.filter((p) => p.enabled);
    if (!enabled.length)
      return { outcome: 'unchanged', method, ops: [], reason: `${v.vpnId}'s BGP peers are all disabled` };
    const mark = [...new Set([...(v.drainedPeers ?? []), ...enabled.map(peerKey)])].sort();
    return {
      outcome: 'changed',
      method,
      ops: [
        // The mark first: a step that stops half-way still knows what to undrain.
        { kind: 'mark-drained', peers: mark },
        ...setPeers(enabled, false),
      ],
      reason: `disabling BGP peers ${enabled.map((p) => p.peer).join(', ')}`,
    };
  }
  if (!v.drainedPeers)
    return { outcome: 'unchanged', method, ops: [], reason: `${v.vpnId} has no drain by crosslink to undo` };
  const marked = new Set(v.drainedPeers);
  const restore = v.peers.filter((p) => !p.enabled && marked.has(peerKey(p)));
  return {
    outcome: restore.length ? 'changed' : 'unchanged',
    method,
    ops: [...setPeers(restore, true), { kind: 'clear-drained' }],
    reason: restore.length
      ? `enabling BGP peers ${restore.map((p) => p.peer).join(', ')}`
      : `the peers of the drain are already enabled`,
  };
}

/** The result of one side's action and its event (`VpnDrained`, ...), continuing the command's trace. */
export function vpnResultEvent(
  c: VpnHalfCommand,
  d: { outcome: VpnOutcome; method: VpnHalfResultData['method']; reason: string },
  o: { changed: string[]; origin: Origin; clock: Clock; traceparent?: string | undefined },
): { data: VpnHalfResultData; event: CloudEvent } {
  const data: VpnHalfResultData = {
    runId: c.runId,
    vpnId: c.vpnId,
    side: o.origin.cloud,
    outcome: d.outcome,
    method: d.method,
    changed: o.changed,
    reason: d.reason,
    appliedAt: new Date(o.clock.now()).toISOString(),
  };
  const event = buildEvent({
    name: VPN_ACTION_EVENTS[c.action].result,
    origin: o.origin,
    subject: c.vpnId,
    data,
    clock: o.clock,
    ...(o.traceparent ? { traceparent: o.traceparent } : {}),
  });
  return { data, event };
}
