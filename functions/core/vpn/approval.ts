/**
 * The approval of a prod VPN delete, through the links' approval model (docs/vpn-runs.md "Approval
 * of a delete"): the half that refuses a prod delete records the request it refused (run, VPN, who
 * asked); an approver then approves it at the intake, as whom the intake verified, against the
 * policy's prod approvers of that side, and never the requester (the same rule as a link's
 * approval, `approverDecision`); the half deletes only when an approval for that very request is
 * recorded. The requester compared is the one the half recorded, so a later command naming another
 * requester does not inherit the approval.
 */
import type { Clock } from '../clock.ts';
import { NotFoundError, PermissionDeniedError, ValidationError } from '../errors.ts';
import type { Caller } from '../link/ports.ts';
import { identityOf, type Policy } from '../policy/policy.ts';
import { canonicalAwsPrincipal } from '../policy/principals.ts';
import { approverDecision } from '../policy/rules.ts';
import type { VpnHalfCommand } from './half.ts';

/** A prod delete a half refused for want of an approval. */
export interface VpnDeleteRequest {
  runId: string;
  vpnId: string;
  requestedBy: string;
  requestedAt: string;
}

/** An approval, as the intake recorded it. */
export interface VpnDeleteApproval {
  /** The verified principal who approved, and the policy identity it maps to. */
  approver: string;
  identity: string;
  side: Caller['side'];
  approvedAt: string;
  /** The request approved (whom the approver was checked against). */
  requestedBy: string;
}

/** Where one side keeps the requests and approvals of its VPN deletes. */
export interface VpnApprovalStore {
  request(runId: string, vpnId: string): Promise<VpnDeleteRequest | undefined>;
  /** Records the request (a later refusal of the same run and VPN replaces it). */
  recordRequest(r: VpnDeleteRequest): Promise<void>;
  approval(runId: string, vpnId: string): Promise<VpnDeleteApproval | undefined>;
  recordApproval(runId: string, vpnId: string, a: VpnDeleteApproval): Promise<void>;
}

const RUN_ID = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$/;
const VPN_ID = /^vpn-(?:[0-9a-f]{8}|[0-9a-f]{17})$/;

/** Approves the delete a half is waiting on: an approver of the side, never its requester. */
export async function approveVpnDelete(
  deps: { policy: Policy; clock: Clock; approvals: VpnApprovalStore },
  input: { runId: unknown; vpnId: unknown; caller: Caller },
): Promise<{ request: VpnDeleteRequest; approval: VpnDeleteApproval }> {
  const issues = [];
  if (typeof input.runId !== 'string' || !RUN_ID.test(input.runId))
    issues.push({ path: 'runId', reason: 'must be the run id of the delete (letters, digits, . _ : -)' });
  if (typeof input.vpnId !== 'string' || !VPN_ID.test(input.vpnId))
    issues.push({ path: 'vpnId', reason: 'must be an AWS VPN connection id (vpn- and 8 or 17 hex digits)' });
  if (issues.length) throw new ValidationError(issues, 'VPN delete approval');
  const runId = input.runId as string;
  const vpnId = input.vpnId as string;
  const request = await deps.approvals.request(runId, vpnId);
  if (!request)
    throw new NotFoundError(`no delete of ${vpnId} in run ${runId} is waiting for an approval on this side`);
  const { principal, side } = input.caller;
  const role = approverDecision(deps.policy, 'prod', side, principal, request.requestedBy);
  if (!role.ok) throw new PermissionDeniedError(role.message.replace('this link', `the delete of ${vpnId}`));
  const identity = identityOf(deps.policy, canonicalAwsPrincipal(principal));
  const approval: VpnDeleteApproval = {
    approver: principal,
    identity,
    side,
    approvedAt: new Date(deps.clock.now()).toISOString(),
    requestedBy: request.requestedBy,
  };
  await deps.approvals.recordApproval(runId, vpnId, approval);
  return { request, approval };
}

/** Whether `approval` approves this command's delete: recorded for the same request. */
export function approves(approval: VpnDeleteApproval | undefined, c: VpnHalfCommand): boolean {
  return !!approval && approval.requestedBy === c.requestedBy && approval.approver !== c.requestedBy;
}
