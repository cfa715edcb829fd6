/** A prod VPN delete's approval: who may approve it (an approver of the side, never its requester) and which command it lets through. */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { matchRoute } from '#core/link/intake.ts';
import { loadPolicy } from '#core/policy/policy.ts';
import {
  approves,
  approveVpnDelete,
  type VpnApprovalStore,
  type VpnDeleteApproval,
  type VpnDeleteRequest,
} from '#core/vpn/approval.ts';
import { parseVpnHalfCommand } from '#core/vpn/half.ts';

const VPN = 'vpn-0123456789abcdef0';
const policy = loadPolicy(parse(readFileSync('config/policy.yaml', 'utf8')));
const clock = { now: () => Date.parse('2026-12-01T10:00:00Z') };

function store(requestedBy?: string) {
  const approvals = new Map<string, VpnDeleteApproval>();
  const s: VpnApprovalStore = {
    request: async (runId, vpnId): Promise<VpnDeleteRequest | undefined> =>
      requestedBy && runId === 'run-1'
        ? { runId, vpnId, requestedBy, requestedAt: '2026-12-01T09:00:00Z' }
        : undefined,
    recordRequest: async () => {},
    approval: async (runId, vpnId) => approvals.get(`${runId}~${vpnId}`),
    recordApproval: async (runId, vpnId, a) => {
      approvals.set(`${runId}~${vpnId}`, a);
    },
  };
  return { s, approvals };
}
const approve = (s: VpnApprovalStore, principal: string, runId = 'run-1', side: 'aws' | 'gcp' = 'gcp') =>
  approveVpnDelete({ policy, clock, approvals: s }, { runId, vpnId: VPN, caller: { principal, side } });

describe('approveVpnDelete', () => {
  it('records an approval by a prod approver of the side, against the recorded request', async () => {
    const { s, approvals } = store('planner@example.com');

    await approve(s, 'carol@example.com');

    expect(approvals.get(`run-1~${VPN}`)).toMatchObject({
      approver: 'carol@example.com',
      side: 'gcp',
      requestedBy: 'planner@example.com',
      approvedAt: '2026-12-01T10:00:00.000Z',
    });
  });

  it('refuses the requester, someone who is not an approver, a delete nobody waits on, and bad ids', async () => {
    await expect(approve(store('carol@example.com').s, 'carol@example.com')).rejects.toThrow(
      /carol@example.com requested the delete of vpn-/,
    );
    await expect(approve(store('planner@example.com').s, 'alice@example.com')).rejects.toThrow(
      /alice@example.com is not an approver for gcp in prod/,
    );
    await expect(approve(store('planner@example.com').s, 'carol@example.com', 'run-2')).rejects.toThrow(
      /no delete of vpn-.* in run run-2 is waiting/,
    );
    await expect(
      approveVpnDelete(
        { policy, clock, approvals: store('p').s },
        { runId: '', vpnId: 'vgw-1', caller: { principal: 'carol@example.com', side: 'gcp' } },
      ),
    ).rejects.toThrow(/runId: must be the run id.*vpnId: must be an AWS VPN connection id/);
    // An AWS VPN connection id has 8 or 17 hex digits, nothing between.
    for (const vpnId of ['vpn-0123456789', 'vpn-0123456', 'vpn-0123456789abcdef01'])
      await expect(
        approveVpnDelete(
          { policy, clock, approvals: store('p').s },
          { runId: 'run-1', vpnId, caller: { principal: 'carol@example.com', side: 'gcp' } },
        ),
      ).rejects.toThrow(/vpnId: must be an AWS VPN connection id \(vpn- and 8 or 17 hex digits\)/);
  });
});

describe('approves', () => {
  const command = (requestedBy: string) =>
    parseVpnHalfCommand('delete', {
      runId: 'run-1',
      vpnId: VPN,
      requestedBy,
      requestedAt: '2026-12-01T09:00:00Z',
    });
  const approval: VpnDeleteApproval = {
    approver: 'carol@example.com',
    identity: 'principal:carol@example.com',
    side: 'gcp',
    approvedAt: '2026-12-01T10:00:00Z',
    requestedBy: 'planner@example.com',
  };

  it('lets through only the command of the approved request', () => {
    expect(approves(approval, command('planner@example.com'))).toBe(true);
    expect(approves(approval, command('mallory@example.com'))).toBe(false);
    expect(approves(undefined, command('planner@example.com'))).toBe(false);
  });
});

describe('the intake route', () => {
  it('matches POST /vpns/{id}/approvals', () => {
    expect(matchRoute('POST', `/vpns/${VPN}/approvals`)).toEqual({
      route: 'POST /vpns/{id}/approvals',
      id: VPN,
    });
  });
});
