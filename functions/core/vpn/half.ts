/**
 * One cloud's half of a VPN action (drain, undrain, delete), decided from what that cloud shows now:
 * the command names the action, the run that planned it and the VPN; the view is the VPN as this side
 * reads it, with crosslink's marks on it (the drain it applied, the last run it applied). The decision
 * is a list of operations that is empty when the VPN is already as the command wants it, so a
 * duplicate command changes nothing, a lost one is made good by the next run, and a command older than
 * the last one applied to the VPN (reordered) is stale and changes nothing either.
 */
import { CrosslinkError, type Issue, ValidationError } from '../errors.ts';

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
}

/** Refused: the pause switch is on. Nothing was changed. */
export class VpnActionsPausedError extends CrosslinkError {}
/** Refused: a delete of a prod VPN with no approval recorded for its run (or approved by its requester). */
export class VpnDeleteNotApprovedError extends CrosslinkError {}
/** Refused: a delete of a VPN that still carries routes on this side (drain it first). */
export class VpnNotDrainedError extends CrosslinkError {}

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
  if (issues.length) throw new ValidationError(issues, subject);
  return { action, runId, vpnId, requestedBy, requestedAt };
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

/** What an action did: changed resources, nothing to change, the VPN already gone, or a stale command. */
export type VpnOutcome = 'changed' | 'unchanged' | 'gone' | 'stale';

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
}

export type AwsHalfOp =
  | { kind: 'disable-propagation'; routeTableId: string; attachmentId: string }
  | { kind: 'enable-propagation'; routeTableId: string; attachmentId: string }
  | { kind: 'mark-drained'; routeTableIds: readonly string[] }
  | { kind: 'clear-drained' }
  | { kind: 'delete-vpn' }
  | { kind: 'delete-customer-gateway'; customerGatewayId: string };

export interface AwsHalfDecision {
  outcome: VpnOutcome;
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
  if (isStale(c, v.lastRun))
    return {
      outcome: 'stale',
      method,
      ops: [],
      reason: `planned at ${c.requestedAt}, before the ${v.lastRun?.action} of run ${v.lastRun?.runId} (${v.lastRun?.requestedAt}) already applied`,
    };
  if (c.action === 'delete') {
    const ops: AwsHalfOp[] = [];
    if (!gone) {
      if (v.propagatesTo.length)
        throw new VpnNotDrainedError(
          `${v.vpnId} still propagates to ${v.propagatesTo.join(', ')}: drain it before deleting`,
        );
      ops.push({ kind: 'delete-vpn' });
    }
    if (v.customerGatewayId && !o.customerGatewayShared)
      ops.push({ kind: 'delete-customer-gateway', customerGatewayId: v.customerGatewayId });
    if (ops.length && v.environment === 'prod' && !o.approved)
      throw new VpnDeleteNotApprovedError(
        `${v.vpnId} is prod: its delete needs an approval recorded for run ${c.runId} by someone other than ${c.requestedBy}`,
      );
    return {
      outcome: ops.length ? 'changed' : 'gone',
      method,
      ops,
      reason: ops.length
        ? `deleting ${ops.map((x) => (x.kind === 'delete-vpn' ? v.vpnId : (x as { customerGatewayId: string }).customerGatewayId)).join(' then ')}${v.customerGatewayId && o.customerGatewayShared ? `; ${v.customerGatewayId} is used by another VPN and stays` : ''}`
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
