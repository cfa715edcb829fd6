/** Google's half decisions: which BGP peers a drain or undrain sets, what a delete removes and in which order, and what it refuses. */
import { describe, expect, it } from 'vitest';
import {
  decideGcpHalf,
  type GcpPeerView,
  type GcpVpnView,
  parseGcpTunnels,
  parseVpnHalfCommand,
  peerKey,
  type VpnAction,
  VpnDeleteNotApprovedError,
  VpnNotDrainedError,
} from '#core/vpn/half.ts';

const VPN = 'vpn-0123456789abcdef0';
const command = (action: VpnAction, runId = 'run-2', requestedAt = '2026-11-20T12:00:00Z') =>
  parseVpnHalfCommand(action, { runId, vpnId: VPN, requestedBy: 'planner@example.com', requestedAt });
const at = { project: 'net-prod', region: 'us-east4' };
const tunnel = (name: string) => ({ ref: { ...at, name }, externalGateway: 'aws-gw' });
const peer = (n: number, enabled = true): GcpPeerView => ({
  ...at,
  router: 'r1',
  peer: `p${n}`,
  interfaceName: `if${n}`,
  tunnel: `t${n}`,
  enabled,
});
const view = (o: Partial<GcpVpnView> = {}): GcpVpnView => ({
  vpnId: VPN,
  tunnels: [tunnel('t0'), tunnel('t1')],
  peers: [peer(0), peer(1)],
  bareInterfaces: [],
  externalGateways: [{ project: 'net-prod', name: 'aws-gw', exists: true, usedByOthers: false }],
  environment: 'nonprod',
  ...o,
});

describe('parseGcpTunnels', () => {
  it('takes the forms Google prints and names each bad entry', () => {
    expect(
      parseGcpTunnels({
        gcpTunnels: [
          'https://www.googleapis.com/compute/v1/projects/net-prod/regions/us-east4/vpnTunnels/t0',
          'projects/net-prod/regions/us-east4/vpnTunnels/t1',
        ],
      }),
    ).toEqual([
      { ...at, name: 't0' },
      { ...at, name: 't1' },
    ]);
    expect(() => parseGcpTunnels({})).toThrow(/gcpTunnels: is required by the Google half/);
    expect(() => parseGcpTunnels({ gcpTunnels: ['t0', 7] })).toThrow(/gcpTunnels\[0\].*gcpTunnels\[1\]/s);
  });
});

describe('drain and undrain', () => {
  it('drain records the enabled peers, then disables them on their router', () => {
    const d = decideGcpHalf(command('drain'), view(), { approved: false });

    expect(d.outcome).toBe('changed');
    expect(d.ops).toEqual([
      { kind: 'mark-drained', peers: ['net-prod/us-east4/r1/p0', 'net-prod/us-east4/r1/p1'] },
      { kind: 'set-peers', ...at, router: 'r1', peers: ['p0', 'p1'], enable: false },
    ]);
  });

  it('drain of a drained VPN changes nothing', () => {
    const d = decideGcpHalf(command('drain'), view({ peers: [peer(0, false), peer(1, false)] }), {
      approved: false,
    });

    expect(d).toMatchObject({ outcome: 'unchanged', ops: [] });
  });

  it('undrain enables only the peers the drain disabled, then clears the record', () => {
    const v = view({ peers: [peer(0, false), peer(1, false)], drainedPeers: [peerKey(peer(1))] });

    const d = decideGcpHalf(command('undrain'), v, { approved: false });

    expect(d.ops).toEqual([
      { kind: 'set-peers', ...at, router: 'r1', peers: ['p1'], enable: true },
      { kind: 'clear-drained' },
    ]);
  });

  it('undrain without a drain by crosslink changes nothing', () => {
    const d = decideGcpHalf(command('undrain'), view({ peers: [peer(0, false)] }), { approved: false });

    expect(d).toMatchObject({ outcome: 'unchanged', ops: [] });
  });

  it('an older run’s command after a later one is stale', () => {
    const v = view({ lastRun: { requestedAt: '2026-11-21T00:00:00Z', action: 'undrain', runId: 'run-3' } });

    const d = decideGcpHalf(command('drain'), v, { approved: false });

    expect(d).toMatchObject({ outcome: 'stale', ops: [] });
  });
});

describe('delete', () => {
  const drained = { peers: [peer(0, false), peer(1, false)] };

  it('records, then removes the tunnels, the router parts, and the unused external gateway', () => {
    const d = decideGcpHalf(command('delete'), view(drained), { approved: false });

    expect(d.ops).toEqual([
      { kind: 'record-delete' },
      { kind: 'delete-tunnel', ref: { ...at, name: 't0' } },
      { kind: 'delete-tunnel', ref: { ...at, name: 't1' } },
      { kind: 'remove-router-parts', ...at, router: 'r1', peers: ['p0', 'p1'], interfaces: ['if0', 'if1'] },
      { kind: 'delete-external-gateway', project: 'net-prod', name: 'aws-gw' },
    ]);
  });

  it('keeps an external gateway another tunnel uses', () => {
    const d = decideGcpHalf(
      command('delete'),
      view({
        ...drained,
        externalGateways: [{ project: 'net-prod', name: 'aws-gw', exists: true, usedByOthers: true }],
      }),
      { approved: false },
    );

    expect(d.ops.map((o) => o.kind)).not.toContain('delete-external-gateway');
    expect(d.reason).toMatch(/aws-gw used by another tunnel and stays/);
  });

  it('finishes a delete stopped after the tunnels: the router parts and the gateway', () => {
    const d = decideGcpHalf(command('delete'), view({ ...drained, tunnels: [] }), { approved: false });

    expect(d.ops.map((o) => o.kind)).toEqual([
      'record-delete',
      'remove-router-parts',
      'delete-external-gateway',
    ]);
  });

  it('says gone when nothing is left', () => {
    const d = decideGcpHalf(command('delete'), view({ tunnels: [], peers: [], externalGateways: [] }), {
      approved: false,
    });

    expect(d).toMatchObject({ outcome: 'gone', ops: [] });
  });

  it('answers changed when this very delete, its mark recorded, finds nothing left (a repeat); another run gone', () => {
    const mark = { runId: 'run-2', action: 'delete' as const, requestedAt: '2026-11-20T12:00:00Z' };
    const nothing = view({ tunnels: [], peers: [], externalGateways: [], lastRun: mark });

    expect(decideGcpHalf(command('delete'), nothing, { approved: false })).toMatchObject({
      outcome: 'changed',
      ops: [],
    });
    expect(
      decideGcpHalf(command('delete', 'run-3', '2026-11-21T12:00:00Z'), nothing, { approved: false }),
    ).toMatchObject({ outcome: 'gone', ops: [] });
  });

  it('refuses while a peer is enabled, and a prod delete without approval', () => {
    expect(() => decideGcpHalf(command('delete'), view(), { approved: true })).toThrow(VpnNotDrainedError);
    expect(() =>
      decideGcpHalf(command('delete'), view({ ...drained, environment: 'prod' }), { approved: false }),
    ).toThrow(VpnDeleteNotApprovedError);
    expect(
      decideGcpHalf(command('delete'), view({ ...drained, environment: 'prod' }), { approved: true }).outcome,
    ).toBe('changed');
  });
});
