import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '#core/clock.ts';
import { NetworkWorld, StaticLinks } from '#local/world/network.ts';
import { buildVpn } from '#local/world/vpn-builder.ts';
import { type Scenario, scenarioArb, VPN_SERVICES } from '../chaos/scenario.ts';
import { type VpnOutcome, vpnVerdict } from '../chaos/vpn.ts';
import {
  lastPathDeletes,
  readVpnWorld,
  rememberEnds,
  type VpnEnds,
  type VpnSeen,
  type VpnWorld,
} from '../chaos/vpn-world.ts';

const vpn = (id: string, over: Partial<VpnSeen> = {}): VpnSeen => ({
  vpnConnectionId: id,
  state: 'available',
  gateway: 'vgw-1',
  gcpNetwork: 'payments-prod/payments-vpc',
  live: true,
  tunnels: 2,
  deletedAt: undefined,
  ...over,
});
const link = (up: boolean) => ({
  linkId: 'lk-1',
  up,
  gateways: ['vgw-1'],
  gcpNetwork: 'payments-prod/payments-vpc',
});
const world = (at: number, vpns: VpnSeen[], links = [link(false)]): VpnWorld => ({ at, vpns, links });
const deleted = (id: string, at: number): VpnSeen =>
  vpn(id, { state: 'deleted', tunnels: 0, live: false, deletedAt: at, gcpNetwork: undefined });

/** The invariant over two readings, as the check runs it: ends remembered, then judged. */
function judge(before: VpnWorld, now: VpnWorld) {
  const known: VpnEnds = new Map();
  rememberEnds(known, before);
  rememberEnds(known, now);
  return lastPathDeletes(before, now, known, 0);
}

describe('no VPN deleted while it was the last healthy path (read from the world)', () => {
  it('catches a VPN deleted with no link up and no other live VPN between its networks, before or after', () => {
    // Prepare: the VPN alone between vgw-1 and payments-vpc, the link down; then it is deleted.
    const before = world(1000, [vpn('vpn-a', { live: false })]);
    const now = world(2000, [deleted('vpn-a', 1500)]);

    // Act
    const found = judge(before, now);

    // Assess
    expect(found).toHaveLength(1);
    expect(found[0]?.detail).toMatch(/vpn-a .*last healthy path/);
  });

  it('holds when a link was up, or another VPN between the same networks had a live tunnel', () => {
    // Prepare
    const withLink = [
      world(1000, [vpn('vpn-a')], [link(true)]),
      world(2000, [deleted('vpn-a', 1500)], [link(true)]),
    ] as const;
    const withVpn = [
      world(1000, [vpn('vpn-a'), vpn('vpn-b')]),
      world(2000, [deleted('vpn-a', 1500), vpn('vpn-b')]),
    ] as const;
    const otherNetwork = [
      world(1000, [vpn('vpn-a'), vpn('vpn-b', { gcpNetwork: 'payments-prod/other-vpc' })]),
      world(2000, [deleted('vpn-a', 1500), vpn('vpn-b', { gcpNetwork: 'payments-prod/other-vpc' })]),
    ] as const;

    // Act, Assess
    expect(judge(...withLink)).toEqual([]);
    expect(judge(...withVpn)).toEqual([]);
    // A VPN to another network is no path between these two.
    expect(judge(...otherNetwork)).toHaveLength(1);
  });

  it('judges each delete once: one logged before the reading before is not judged again', () => {
    // Prepare
    const before = world(1000, [deleted('vpn-a', 500)]);
    const now = world(2000, [deleted('vpn-a', 500)]);

    // Act, Assess
    expect(judge(before, now)).toEqual([]);
  });
});

const outcome = (over: Partial<VpnOutcome> = {}): VpnOutcome => ({
  plan: { link: 0, environment: 'prod', runs: 1, approve: false },
  vpnId: 'vpn-a',
  approved: { aws: false, gcp: false },
  ...over,
});
const entry = (
  action: 'drain' | 'delete' | 'keep' | 'undrain',
  emit: boolean,
  summary = 'every gate passes',
) => ({
  runId: 'vpn-dev-1',
  entry: {
    action,
    emit,
    summary,
    mode: emit ? ('apply' as const) : ('dry-run' as const),
    environment: 'prod' as const,
  },
});

describe('the end verdict of the VPN runs', () => {
  it('accepts deleted, drained, kept with a named reason, and kept because no run planned it (named)', () => {
    expect(vpnVerdict([outcome()], world(0, [deleted('vpn-a', 1)]))).toEqual([]);
    // A prod delete commanded, waiting on the approvals nobody gave; a drain commanded and applied.
    expect(
      vpnVerdict([outcome({ last: entry('delete', true) })], world(0, [vpn('vpn-a', { live: false })])),
    ).toEqual([]);
    expect(
      vpnVerdict([outcome({ last: entry('drain', true) })], world(0, [vpn('vpn-a', { live: false })])),
    ).toEqual([]);
    expect(
      vpnVerdict([outcome({ last: entry('keep', false, 'fail: soak') })], world(0, [vpn('vpn-a')])),
    ).toEqual([]);
    expect(
      vpnVerdict(
        [outcome({ noRun: 'run vpn-dev-1 claimed when patience ran out' })],
        world(0, [vpn('vpn-a')]),
      ),
    ).toEqual([]);
  });

  it('refuses a VPN deleted on one cloud only, live after its drain was commanded, kept with no reason, or left drained after an approved delete', () => {
    // Act
    const found = vpnVerdict(
      [
        outcome({ vpnId: 'vpn-a' }),
        outcome({ vpnId: 'vpn-b', last: entry('drain', true) }),
        outcome({ vpnId: 'vpn-c' }),
        outcome({ vpnId: 'vpn-d', last: entry('keep', false, '') }),
        outcome({ vpnId: 'vpn-e', last: entry('delete', true), approved: { aws: true, gcp: true } }),
      ],
      world(0, [
        vpn('vpn-a', { state: 'deleted', live: false }),
        vpn('vpn-b'),
        vpn('vpn-c'),
        vpn('vpn-d'),
        vpn('vpn-e', { live: false }),
      ]),
    );

    // Assess
    expect(found.map((v) => v.detail)).toEqual([
      'vpn 0: vpn-a deleted on AWS only',
      'vpn 1: vpn-b live, though run vpn-dev-1 commanded its drain',
      'vpn 2: vpn-c live, and no run planned it nor said why',
      'vpn 3: vpn-d kept with no reason named by run vpn-dev-1',
      'vpn 4: vpn-e drained, not deleted, though run vpn-dev-1 commanded its delete, approved on both sides',
    ]);
  });
});

const draw = (seed: number, limits = {}) =>
  fc.sample(scenarioArb(limits), { seed, numRuns: 1 })[0] as Scenario;
const withoutVpn = (s: Scenario) => ({
  links: s.links,
  dr: s.dr,
  faults: s.faults.filter(
    (f) => !('service' in f && (VPN_SERVICES as readonly string[]).includes(f.service)),
  ),
});

describe('the VPN part of a chaos scenario', () => {
  it("is drawn after the links and their faults: a seed's links and faults are what they are without it", () => {
    for (let seed = 0; seed < 200; seed++)
      expect(withoutVpn(draw(seed)), `seed ${seed}`).toEqual(draw(seed, { maxVpns: 0 }));
  });

  it("keeps a shrunk path's links and faults (seed 29's 0:4:1)", () => {
    // Act
    const at = (limits: object) => {
      let last: Scenario | undefined;
      fc.check(
        fc.property(scenarioArb(limits), (s) => {
          last = s;
          return true;
        }),
        { seed: 29, path: '0:4:1', numRuns: 1 },
      );
      return last as Scenario;
    };

    // Assess
    expect(withoutVpn(at({}))).toEqual(at({ maxVpns: 0 }));
  });

  it('draws VPNs beside links that exist, prod and nonprod, and EC2 / Compute faults only with VPNs', () => {
    // Act
    const scenarios = Array.from({ length: 200 }, (_, i) => draw(i));

    // Assess
    const vpns = scenarios.flatMap((s) => s.vpns ?? []);
    expect(new Set(vpns.map((v) => v.environment))).toEqual(new Set(['prod', 'nonprod']));
    for (const s of scenarios) {
      for (const v of s.vpns ?? []) expect(v.link).toBeLessThan(s.links.length);
      const vpnFaults = s.faults.filter(
        (f) => 'service' in f && (VPN_SERVICES as readonly string[]).includes(f.service),
      );
      if (!s.vpns) expect(vpnFaults).toEqual([]);
    }
    expect(scenarios.some((s) => s.vpns === undefined)).toBe(true);
    expect(scenarios.some((s) => s.faults.some((f) => 'service' in f && f.service === 'aws:ec2'))).toBe(true);
  });
});

describe("the VPN world as the local cloud's network model holds it", () => {
  it('reads a VPN, its ends and BGP, the link beside it, and the delete the world logged; the check catches the last path deleted', () => {
    // Prepare: a VPC with a VPN to a Google network, and a link between them that is down.
    const clock = new ManualClock('2026-06-01T00:00:00Z');
    const links = new StaticLinks();
    const w = new NetworkWorld({ clock, links });
    const vpc = w.addVpc({ accountId: '000000000000', region: 'us-east-1', cidrBlocks: ['10.0.0.0/16'] });
    w.addGcpNetwork({
      project: 'p',
      name: 'core',
      subnets: [{ name: 'app', region: 'us-east4', ipCidrRange: '10.128.0.0/20' }],
    });
    const built = buildVpn(w, {
      name: 'vpn-a',
      aws: { vpcId: vpc.vpcId },
      gcp: { project: 'p', region: 'us-east4', network: 'core' },
    });
    const vgw = built.vpnGatewayId as string;
    const link = {
      linkId: 'lk-1',
      up: false,
      aws: { accountId: '000000000000', dxGatewayId: 'dxgw-1', gateways: [vgw] },
      gcp: { project: 'p', network: 'core' },
      toGcp: ['10.0.0.0/16'],
      toAws: ['10.128.0.0/20'],
    };
    links.set(link);
    const known: VpnEnds = new Map();

    // Act
    const before = readVpnWorld(w);
    rememberEnds(known, before);
    clock.advance(60_000);
    w.deleteVpnConnection(built.vpnConnectionId);
    const after = readVpnWorld(w);

    // Assess
    expect(before.vpns).toEqual([
      {
        vpnConnectionId: built.vpnConnectionId,
        state: 'available',
        gateway: vgw,
        gcpNetwork: 'p/core',
        live: true,
        tunnels: 2,
        deletedAt: undefined,
      },
    ]);
    expect(before.links).toEqual([{ linkId: 'lk-1', up: false, gateways: [vgw], gcpNetwork: 'p/core' }]);
    expect(after.vpns[0]).toMatchObject({ state: 'deleted', live: false, deletedAt: clock.now() });
    expect(lastPathDeletes(before, after, known, 0).map((f) => f.vpnConnectionId)).toEqual([
      built.vpnConnectionId,
    ]);
    // With the link up on both readings, the same delete leaves a path.
    links.set({ ...link, up: true });
    expect(lastPathDeletes({ ...before, links: readVpnWorld(w).links }, readVpnWorld(w), known, 0)).toEqual(
      [],
    );
  });
});
