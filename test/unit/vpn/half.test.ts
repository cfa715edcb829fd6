/** The AWS half's decisions: what each action changes, and when a repeat, late or refused one changes nothing. */
import { describe, expect, it } from 'vitest';
import {
  type AwsVpnView,
  decideAwsHalf,
  formatRunMark,
  parseRunMark,
  parseVpnHalfCommand,
  type VpnAction,
  VpnDeleteNotApprovedError,
  VpnNotDrainedError,
} from '#core/vpn/half.ts';

const VPN = 'vpn-0123456789abcdef0';
const command = (action: VpnAction, runId = 'run-2', requestedAt = '2026-11-20T12:00:00Z') =>
  parseVpnHalfCommand(action, { runId, vpnId: VPN, requestedBy: 'planner@example.com', requestedAt });
const tgw = (o: Partial<AwsVpnView> = {}): AwsVpnView => ({
  vpnId: VPN,
  state: 'available',
  customerGatewayId: 'cgw-01',
  transitGatewayAttachmentId: 'tgw-attach-01',
  propagatesTo: ['tgw-rtb-a', 'tgw-rtb-b'],
  environment: 'nonprod',
  ...o,
});
const free = { customerGatewayShared: false, approved: false };

describe('parseVpnHalfCommand', () => {
  it('names every bad field and why', () => {
    expect(() =>
      parseVpnHalfCommand('drain', { runId: '', vpnId: 'vgw-1', requestedAt: 'yesterday' }),
    ).toThrow(
      /runId: must be a run id.*vpnId: must be an AWS VPN connection id.*requestedBy: is required.*requestedAt: must be an RFC 3339/,
    );
    expect(() => parseVpnHalfCommand('drain', [])).toThrow(/\(root\): must be a JSON object/);
  });
});

describe('drain', () => {
  it('marks the route tables, then disables the attachment propagation in each, and nothing else', () => {
    const d = decideAwsHalf(command('drain'), tgw(), free);

    expect(d.outcome).toBe('changed');
    expect(d.method).toBe('tgw-propagation');
    expect(d.ops).toEqual([
      { kind: 'mark-drained', routeTableIds: ['tgw-rtb-a', 'tgw-rtb-b'] },
      { kind: 'disable-propagation', routeTableId: 'tgw-rtb-a', attachmentId: 'tgw-attach-01' },
      { kind: 'disable-propagation', routeTableId: 'tgw-rtb-b', attachmentId: 'tgw-attach-01' },
    ]);
  });

  it('again on a drained VPN changes nothing', () => {
    const d = decideAwsHalf(command('drain'), tgw({ propagatesTo: [], drainedFrom: ['tgw-rtb-a'] }), free);

    expect(d).toMatchObject({ outcome: 'unchanged', ops: [] });
  });

  it('leaves a VPN on a virtual private gateway to Google', () => {
    const d = decideAwsHalf(
      command('drain'),
      tgw({ transitGatewayAttachmentId: undefined, propagatesTo: [] }),
      free,
    );

    expect(d).toMatchObject({ outcome: 'unchanged', method: 'google-side', ops: [] });
    expect(d.reason).toMatch(/never DisableVgwRoutePropagation/);
  });
});

describe('undrain', () => {
  it('enables the propagation only where crosslink disabled it, then clears its mark', () => {
    const d = decideAwsHalf(
      command('undrain'),
      tgw({ propagatesTo: ['tgw-rtb-b'], drainedFrom: ['tgw-rtb-a', 'tgw-rtb-b'] }),
      free,
    );

    expect(d.outcome).toBe('changed');
    expect(d.ops).toEqual([
      { kind: 'enable-propagation', routeTableId: 'tgw-rtb-a', attachmentId: 'tgw-attach-01' },
      { kind: 'clear-drained' },
    ]);
  });

  it('without a drain by crosslink changes nothing (a propagation someone else disabled stays so)', () => {
    const d = decideAwsHalf(command('undrain'), tgw({ propagatesTo: [] }), free);

    expect(d).toMatchObject({ outcome: 'unchanged', ops: [] });
  });
});

describe('delete', () => {
  const drained = tgw({ propagatesTo: [], drainedFrom: ['tgw-rtb-a'] });

  it('marks the VPN with the command, deletes it, then its customer gateway when no other VPN uses it', () => {
    expect(decideAwsHalf(command('delete'), drained, free).ops).toEqual([
      { kind: 'mark-run' },
      { kind: 'delete-vpn' },
      { kind: 'delete-customer-gateway', customerGatewayId: 'cgw-01' },
    ]);
    expect(decideAwsHalf(command('delete'), drained, { ...free, customerGatewayShared: true }).ops).toEqual([
      { kind: 'mark-run' },
      { kind: 'delete-vpn' },
    ]);
  });

  it('applied again after its delete (a retried step, a repeated command), answers what it did: changed', () => {
    const mark = { runId: 'run-2', action: 'delete' as const, requestedAt: '2026-11-20T12:00:00Z' };
    const deletedByIt = { ...drained, state: 'deleted' as const, lastRun: mark };
    const shared = { ...free, customerGatewayShared: true };

    expect(decideAwsHalf(command('delete'), deletedByIt, shared)).toMatchObject({
      outcome: 'changed',
      ops: [],
      changedBefore: [VPN],
    });
    // Its customer gateway, if the first attempt stopped before it, is deleted now.
    expect(decideAwsHalf(command('delete'), deletedByIt, free)).toMatchObject({
      outcome: 'changed',
      ops: [{ kind: 'delete-customer-gateway', customerGatewayId: 'cgw-01' }],
      changedBefore: [VPN],
    });
    // Another run's delete of it finds it gone.
    const other = decideAwsHalf(command('delete', 'run-3', '2026-11-21T12:00:00Z'), deletedByIt, shared);
    expect(other).toMatchObject({ outcome: 'gone', ops: [] });
    expect(other.changedBefore).toBeUndefined();
  });

  it('again, once deleted, changes nothing; a customer gateway left by a stopped step is deleted then', () => {
    const gone = { ...drained, state: 'deleted' as const };

    expect(decideAwsHalf(command('delete'), gone, { ...free, customerGatewayShared: true })).toMatchObject({
      outcome: 'gone',
      ops: [],
    });
    expect(decideAwsHalf(command('delete'), gone, free).ops).toEqual([
      { kind: 'delete-customer-gateway', customerGatewayId: 'cgw-01' },
    ]);
  });

  it('deletes a VPN on a virtual private gateway only once Google reported it drained', () => {
    const vgw = (googleDrained: boolean) =>
      tgw({ transitGatewayAttachmentId: undefined, propagatesTo: [], googleDrained });

    expect(() => decideAwsHalf(command('delete'), vgw(false), free)).toThrow(/no VpnDrained from Google/);
    expect(decideAwsHalf(command('delete'), vgw(true), free).ops).toEqual([
      { kind: 'mark-run' },
      { kind: 'delete-vpn' },
      { kind: 'delete-customer-gateway', customerGatewayId: 'cgw-01' },
    ]);
  });

  it('refuses a VPN still propagating routes', () => {
    expect(() => decideAwsHalf(command('delete'), tgw(), free)).toThrow(VpnNotDrainedError);
  });

  it('refuses a prod VPN without an approval, and deletes it with one', () => {
    const prod = { ...drained, environment: 'prod' as const };

    expect(() => decideAwsHalf(command('delete'), prod, free)).toThrow(VpnDeleteNotApprovedError);
    expect(decideAwsHalf(command('delete'), prod, { ...free, approved: true }).outcome).toBe('changed');
  });
});

describe('order of commands', () => {
  const mark = parseRunMark(formatRunMark(command('undrain', 'run-3', '2026-11-21T12:00:00Z')));

  it('a command planned before the last one applied is stale and changes nothing', () => {
    const d = decideAwsHalf(command('drain', 'run-2', '2026-11-20T12:00:00Z'), tgw({ lastRun: mark }), free);

    expect(d).toMatchObject({ outcome: 'stale', ops: [] });
  });

  it('the same command again is not stale', () => {
    const d = decideAwsHalf(
      command('undrain', 'run-3', '2026-11-21T12:00:00Z'),
      tgw({ lastRun: mark }),
      free,
    );

    expect(d.outcome).not.toBe('stale');
  });

  it('a later command applies', () => {
    const d = decideAwsHalf(command('drain', 'run-4', '2026-11-22T12:00:00Z'), tgw({ lastRun: mark }), free);

    expect(d.outcome).toBe('changed');
  });
});
