import { describe, expect, it } from 'vitest';
import { parseCidr } from '#core/net/cidr.ts';
import type { Inventory } from '#core/vpn/model.ts';
import { GATES, type GateName, type Plan, planDecommission } from '#core/vpn/planner.ts';
import { DEFAULT_POLICY, type PlannerPolicy } from '#core/vpn/policy.ts';
import { DAY, HOUR, inventory, link, NOW, traffic, vpn } from './builders.ts';

const plan = (inv: Inventory, policy: Partial<PlannerPolicy> = {}, now = NOW) =>
  planDecommission(inv, { ...DEFAULT_POLICY, ...policy }, now);
const item = (p: Plan, id: string) => {
  const v = p.vpns.find((x) => x.vpnConnectionId === id);
  if (!v) throw new Error(`no plan for ${id}`);
  return v;
};
const gate = (p: Plan, id: string, g: GateName) => item(p, id).gates.find((x) => x.gate === g);

describe('planDecommission: active VPNs', () => {
  it('drains a covered VPN over a soaked link, through its Cloud Router BGP peers, listing every gate', () => {
    // Prepare
    const inv = inventory({ vpns: [vpn({ id: 'vpn-1' })], links: [link({ id: 'lk-1' })] });
    // Act
    const p = plan(inv);
    // Assess
    const v = item(p, 'vpn-1');
    expect(v.action).toBe('drain');
    expect(v.gates.map((g) => g.gate)).toEqual([...GATES]);
    expect(v.drainMethod).toEqual({
      kind: 'gcp-bgp-peers',
      router: 'cr-prod',
      peers: ['bgp-vpn-1-t0', 'bgp-vpn-1-t1'],
    });
    expect(gate(p, 'vpn-1', 'drain-method')?.reason).toContain('enable: FALSE');
    expect(gate(p, 'vpn-1', 'idle')?.verdict).toBe('skip');
    expect(p.totals).toMatchObject({ drain: 1, delete: 0, monthlySaving: 0, monthlySavingPending: 109.5 });
  });

  it('keeps a VPN that carries a more-specific prefix than the link', () => {
    // Prepare
    const v = vpn({
      id: 'vpn-1',
      prefixes: [
        ['10.20.5.0/24', 'aws'],
        ['10.128.0.0/16', 'gcp'],
      ],
    });
    // Act
    const p = plan(inventory({ vpns: [v], links: [link({ id: 'lk-1' })] }));
    // Assess
    expect(item(p, 'vpn-1').action).toBe('keep');
    expect(gate(p, 'vpn-1', 'covered')).toMatchObject({ verdict: 'fail' });
    expect(gate(p, 'vpn-1', 'covered')?.reason).toMatch(
      /10\.20\.5\.0\/24 is more specific than lk-1's 10\.20\.0\.0\/16/,
    );
  });

  it('counts a prefix covered by finer link routes that together span it', () => {
    // Prepare
    const l = link({ id: 'lk-1', allowed: ['10.20.0.0/17', '10.20.128.0/17'] });
    // Act
    const p = plan(inventory({ vpns: [vpn({ id: 'vpn-1' })], links: [l] }));
    // Assess
    expect(gate(p, 'vpn-1', 'covered')?.verdict).toBe('pass');
  });

  it('drains a VPN /16 whose every address the link two /17s win by longest prefix, on both sides', () => {
    // Prepare: Google's best routes hold the VPN's /16 and the link's /17s; the TGW routes likewise.
    const tgw = 'tgw-0bbbbbbbbbbbbbbb1';
    const l = link({
      id: 'lk-1',
      aws: tgw,
      allowed: ['10.20.0.0/17', '10.20.128.0/17'],
      advertised: ['10.128.0.0/17', '10.128.128.0/17'],
    });
    const base = inventory({ vpns: [vpn({ id: 'vpn-1', aws: tgw })], links: [l] });
    const tgwRoute = (prefix: string, via: 'vpn' | 'link') => ({
      side: 'aws' as const,
      network: tgw,
      prefix: parseCidr(prefix),
      via: [via === 'vpn' ? { kind: 'vpn' as const, id: 'vpn-1' } : { kind: 'link' as const, id: 'lk-1' }],
    });
    const routes = [
      ...base.effectiveRoutes,
      tgwRoute('10.128.0.0/16', 'vpn'),
      tgwRoute('10.128.0.0/17', 'link'),
      tgwRoute('10.128.128.0/17', 'link'),
    ];
    // Act
    const p = plan({ ...base, observedTransitGateways: [tgw], effectiveRoutes: routes });
    // Assess
    expect(base.effectiveRoutes.map((r) => `${r.prefix.text} ${r.via[0]?.kind}`).sort()).toEqual([
      '10.20.0.0/16 vpn',
      '10.20.0.0/17 link',
      '10.20.128.0/17 link',
    ]);
    expect(gate(p, 'vpn-1', 'covered')?.verdict).toBe('pass');
    expect(gate(p, 'vpn-1', 'effective-routes')).toMatchObject({ verdict: 'pass' });
    expect(item(p, 'vpn-1').action).toBe('drain');
  });

  it('still fails effective routes when a finer VPN route inside the link /17s wins some addresses', () => {
    // Prepare
    const l = link({ id: 'lk-1', allowed: ['10.20.0.0/17', '10.20.128.0/17'] });
    const base = inventory({ vpns: [vpn({ id: 'vpn-1' })], links: [l] });
    const finer = {
      side: 'gcp' as const,
      network: base.vpns[0]?.networks.gcp as string,
      prefix: parseCidr('10.20.7.0/24'),
      via: [{ kind: 'vpn' as const, id: 'vpn-1' }],
    };
    // Act
    const p = plan({ ...base, effectiveRoutes: [...base.effectiveRoutes, finer] });
    // Assess
    expect(gate(p, 'vpn-1', 'effective-routes')).toMatchObject({ verdict: 'fail' });
    expect(gate(p, 'vpn-1', 'effective-routes')?.reason).toContain(
      'routes 10.20.7.0/24 (of 10.20.0.0/16) over vpn-1',
    );
    expect(item(p, 'vpn-1').action).toBe('keep');
  });

  it('keeps a VPN with a prefix only partly covered, or not at all, or only by a link that is not ACTIVE', () => {
    // Prepare
    const partly = link({ id: 'lk-1', allowed: ['10.20.0.0/17'] });
    const other = link({ id: 'lk-1', allowed: ['10.99.0.0/16'] });
    const degraded = link({ id: 'lk-1', state: 'DEGRADED' });
    // Act
    const reasons = [partly, other, degraded].map((l) =>
      gate(plan(inventory({ vpns: [vpn({ id: 'vpn-1' })], links: [l] })), 'vpn-1', 'covered'),
    );
    // Assess
    expect(reasons.map((r) => r?.verdict)).toEqual(['fail', 'fail', 'fail']);
    expect(reasons[0]?.reason).toContain('only partly covered');
    expect(reasons[1]?.reason).toContain('no ACTIVE link');
    expect(reasons[2]?.reason).toContain('no ACTIVE link');
  });

  it('does not drain before the link has been healthy for the whole soak window, nor over a flapping link', () => {
    // Prepare
    const young = link({ id: 'lk-1', health: [{ at: NOW - 48 * HOUR, status: 'healthy' }] });
    const flapping = link({
      id: 'lk-1',
      health: [
        { at: NOW - 30 * DAY, status: 'healthy' },
        { at: NOW - 10 * HOUR, status: 'degraded' },
        { at: NOW - 9 * HOUR, status: 'healthy' },
        { at: NOW - 2 * HOUR, status: 'down' },
        { at: NOW - 1 * HOUR, status: 'healthy' },
      ],
    });
    // Act
    const [a, b] = [young, flapping].map((l) =>
      plan(inventory({ vpns: [vpn({ id: 'vpn-1' })], links: [l] })),
    );
    // Assess
    expect(item(a as Plan, 'vpn-1').action).toBe('keep');
    expect(gate(a as Plan, 'vpn-1', 'soak')?.reason).toContain('no health record before');
    expect(item(b as Plan, 'vpn-1').action).toBe('keep');
    expect(gate(b as Plan, 'vpn-1', 'soak')?.reason).toContain('flapping');
    // a shorter soak window accepts the young link
    expect(
      item(plan(inventory({ vpns: [vpn({ id: 'vpn-1' })], links: [young] }), { soakMs: 24 * HOUR }), 'vpn-1')
        .action,
    ).toBe('drain');
  });

  it('on a virtual private gateway, judges the AWS path by the VPN traffic: busy or unmeasured keeps it', () => {
    // Prepare
    const links = [link({ id: 'lk-1' })];
    const busy = inventory({ vpns: [vpn({ id: 'vpn-1' })], links, trafficOf: () => 50_000_000 });
    const unmeasured = { ...inventory({ vpns: [vpn({ id: 'vpn-1' })], links }), traffic: [] };
    // Act
    const [a, b] = [plan(busy), plan(unmeasured)];
    // Assess
    expect(gate(a, 'vpn-1', 'effective-routes')?.verdict).toBe('fail');
    expect(gate(a, 'vpn-1', 'effective-routes')?.reason).toContain('AWS still sends 50.0 MB/h');
    expect(gate(b, 'vpn-1', 'effective-routes')?.reason).toContain('cannot tell which path AWS uses');
    expect([item(a, 'vpn-1').action, item(b, 'vpn-1').action]).toEqual(['keep', 'keep']);
  });

  it('on a virtual private gateway, takes what Google’s tunnels receive as what AWS sends, when only Google’s counters are read', () => {
    // Prepare: Google's counters only (a run Google coordinates), busy and idle.
    const links = [link({ id: 'lk-1' })];
    const googleOnly = (bytesPerHour: number) => {
      const base = inventory({ vpns: [vpn({ id: 'vpn-1' })], links });
      const received = traffic('vpn-1', bytesPerHour).map((t) => ({
        ...t,
        metric: 'received_bytes_count' as const,
      }));
      return { ...base, traffic: received.filter((_, i) => i % 2 === 0) };
    };
    const sentOnly = {
      ...inventory({ vpns: [vpn({ id: 'vpn-1' })], links }),
      traffic: traffic('vpn-1', 2_000).map((t) => ({ ...t, metric: 'sent_bytes_count' as const })),
    };
    // Act
    const [idle, busy, sent] = [plan(googleOnly(2_000)), plan(googleOnly(50_000_000)), plan(sentOnly)];
    // Assess
    expect(gate(idle, 'vpn-1', 'effective-routes')?.verdict).toBe('pass');
    expect(gate(idle, 'vpn-1', 'effective-routes')?.reason).toContain('AWS sends at most');
    expect(item(idle, 'vpn-1').action).toBe('drain');
    expect(gate(busy, 'vpn-1', 'effective-routes')?.reason).toContain('AWS still sends 50.0 MB/h');
    // What Google sends toward AWS says nothing of the path AWS uses.
    expect(gate(sent, 'vpn-1', 'effective-routes')?.reason).toContain('cannot tell which path AWS uses');
  });

  it('on a Transit Gateway, reads the routes: a route over the VPN, or no export, fails the gate', () => {
    // Prepare
    const tgw = 'tgw-0bbbbbbbbbbbbbbb1';
    const links = [link({ id: 'lk-1', aws: tgw })];
    const base = inventory({ vpns: [vpn({ id: 'vpn-1', aws: tgw })], links });
    const route = (via: 'vpn' | 'link') => ({
      side: 'aws' as const,
      network: tgw,
      prefix: parseCidr('10.128.0.0/16'),
      via: [via === 'vpn' ? { kind: 'vpn' as const, id: 'vpn-1' } : { kind: 'link' as const, id: 'lk-1' }],
    });
    // Act
    const overVpn = plan({
      ...base,
      observedTransitGateways: [tgw],
      effectiveRoutes: [...base.effectiveRoutes, route('vpn')],
    });
    const overLink = plan({
      ...base,
      observedTransitGateways: [tgw],
      effectiveRoutes: [...base.effectiveRoutes, route('link')],
    });
    const notExported = plan(base);
    // Assess
    expect(gate(overVpn, 'vpn-1', 'effective-routes')?.reason).toContain(
      `${tgw} routes 10.128.0.0/16 over vpn-1`,
    );
    expect(item(overLink, 'vpn-1').action).toBe('drain');
    expect(gate(notExported, 'vpn-1', 'effective-routes')?.reason).toContain('not exported');
  });

  it('fails the Google side when the VPC best route for a prefix is the VPN and more specific than the link', () => {
    // Prepare
    const base = inventory({ vpns: [vpn({ id: 'vpn-1' })], links: [link({ id: 'lk-1' })] });
    const extra = {
      side: 'gcp' as const,
      network: base.vpns[0]?.networks.gcp as string,
      prefix: parseCidr('10.20.0.0/16'),
      via: [{ kind: 'other' as const, what: 'nat-gw' }],
    };
    // Act
    const p = plan({ ...base, effectiveRoutes: [extra] });
    // Assess
    expect(gate(p, 'vpn-1', 'effective-routes')?.reason).toContain('routes 10.20.0.0/16 via nat-gw');
  });

  it("passes Google's tie with the VPN only for a link that carries the same prefix toward AWS, not toward Google", () => {
    // Prepare: Google's best route to 10.20.0.0/16 is the VPN; one link carries it from AWS to Google,
    // the other only from Google to AWS (the wrong direction for Google's traffic).
    const towardGcp = link({ id: 'lk-1', allowed: ['10.20.0.0/16'] });
    const towardAws = link({
      id: 'lk-2',
      allowed: ['10.99.0.0/16'],
      advertised: ['10.128.0.0/16', '10.20.0.0/16'],
    });
    const v = vpn({ id: 'vpn-1' });
    // Act
    const right = plan(inventory({ vpns: [v], links: [towardGcp] }));
    const wrong = plan(inventory({ vpns: [v], links: [towardAws] }));
    // Assess
    expect(gate(right, 'vpn-1', 'effective-routes')).toMatchObject({ verdict: 'pass' });
    expect(gate(right, 'vpn-1', 'effective-routes')?.reason).toContain("10.20.0.0/16 ties with lk-1's route");
    expect(gate(wrong, 'vpn-1', 'effective-routes')).toMatchObject({ verdict: 'fail' });
    expect(gate(wrong, 'vpn-1', 'effective-routes')?.reason).toContain('routes 10.20.0.0/16 over vpn-1');
    expect(item(wrong, 'vpn-1').action).toBe('keep');
  });

  it('has no per-VPN drain on a virtual private gateway without BGP peers, and uses TGW propagation where it can', () => {
    // Prepare
    const noPeers = vpn({ id: 'vpn-1', peers: false });
    const tgwVpn = vpn({ id: 'vpn-2', aws: 'tgw-0c', peers: false });
    const withAttachment = { ...tgwVpn, aws: { ...tgwVpn.aws, transitGatewayAttachmentId: 'tgw-attach-01' } };
    // Act
    const p = plan(
      inventory({
        vpns: [noPeers, withAttachment],
        links: [link({ id: 'lk-1' }), link({ id: 'lk-2', aws: 'tgw-0c' })],
      }),
    );
    // Assess
    expect(gate(p, 'vpn-1', 'drain-method')?.verdict).toBe('fail');
    expect(gate(p, 'vpn-1', 'drain-method')?.reason).toContain('never DisableVgwRoutePropagation');
    expect(item(p, 'vpn-1').action).toBe('keep');
    expect(item(p, 'vpn-2').drainMethod).toEqual({
      kind: 'tgw-propagation',
      transitGatewayAttachmentId: 'tgw-attach-01',
    });
  });

  it('honours the opt-out tag on AWS and the label on Google', () => {
    // Prepare
    const tagged = vpn({ id: 'vpn-1', tags: { 'crosslink:keep': 'true' } });
    const labelled = vpn({ id: 'vpn-2', labels: { 'crosslink-keep': 'yes' } });
    const off = vpn({ id: 'vpn-3', tags: { 'crosslink:keep': 'false' } });
    // Act
    const p = plan(inventory({ vpns: [tagged, labelled, off], links: [link({ id: 'lk-1' })] }));
    // Assess
    expect(p.vpns.map((v) => [v.vpnConnectionId, v.action])).toEqual([
      ['vpn-1', 'keep'],
      ['vpn-2', 'keep'],
      ['vpn-3', 'drain'],
    ]);
    expect(gate(p, 'vpn-2', 'opt-out')?.reason).toContain('label crosslink-keep=yes');
  });

  it('drains only inside a change window', () => {
    // Prepare: NOW is Friday 12:00 UTC
    const inv = inventory({ vpns: [vpn({ id: 'vpn-1' })], links: [link({ id: 'lk-1' })] });
    const weekend = [{ days: [6, 0], start: 2 * 60, end: 6 * 60 }];
    const friday = [{ days: [5], start: 11 * 60, end: 13 * 60 }];
    // Act
    const [out, inside] = [plan(inv, { changeWindows: weekend }), plan(inv, { changeWindows: friday })];
    // Assess
    expect(item(out, 'vpn-1').action).toBe('keep');
    expect(gate(out, 'vpn-1', 'change-window')?.reason).toContain('outside Sat,Sun 02:00-06:00 UTC');
    expect(item(inside, 'vpn-1').action).toBe('drain');
  });

  it('reports a VPN without a Google half and plans nothing for it', () => {
    // Prepare
    const lone = {
      ...vpn({ id: 'vpn-1' }),
      gcp: undefined,
      networks: { aws: 'vgw-0aaaaaaaaaaaaaaa1', gcp: undefined },
    };
    // Act
    const p = plan(inventory({ vpns: [lone], links: [link({ id: 'lk-1' })] }));
    // Assess
    expect(item(p, 'vpn-1').action).toBe('keep');
    expect(gate(p, 'vpn-1', 'paired')?.verdict).toBe('fail');
    expect(
      item(p, 'vpn-1')
        .gates.filter((g) => g.gate !== 'paired')
        .every((g) => g.verdict === 'skip'),
    ).toBe(true);
  });
});

describe('planDecommission: drained VPNs', () => {
  const links = [link({ id: 'lk-1' })];

  it('deletes after the cooling-off when idle, saving the priced monthly cost, and names what goes', () => {
    // Prepare
    const inv = inventory({ vpns: [vpn({ id: 'vpn-1', drainedAt: NOW - 8 * DAY })], links });
    // Act
    const p = plan(inv, {
      pricing: { awsPerConnectionHour: 0.05, gcpPerTunnelHour: 0.075, hoursPerMonth: 730, currency: 'USD' },
    });
    // Assess
    const v = item(p, 'vpn-1');
    expect(v.action).toBe('delete');
    expect(v.monthlySaving).toBe(146); // 730 h x (0.05 + 2 x 0.075)
    expect(p.totals.monthlySaving).toBe(146);
    expect(v.deletes).toEqual([
      'aws: VPN connection vpn-1',
      'aws: customer gateway cgw-vpn-1 (no other VPN uses it)',
      'gcp: VPN tunnels vpn-1-t0, vpn-1-t1',
      'gcp: router cr-prod BGP peers bgp-vpn-1-t0, bgp-vpn-1-t1 and interfaces if-vpn-1-t0, if-vpn-1-t1',
      'gcp: external VPN gateway aws-vpn-1 (no other tunnel uses it)',
    ]);
  });

  it('waits out the cooling-off, and the idle window after the drain', () => {
    // Prepare
    const inv = inventory({
      vpns: [
        vpn({ id: 'vpn-1', drainedAt: NOW - 3 * DAY }),
        vpn({ id: 'vpn-2', drainedAt: NOW - 10 * HOUR }),
      ],
      links,
    });
    // Act
    const p = plan(inv);
    // Assess
    expect(item(p, 'vpn-1').action).toBe('keep');
    expect(gate(p, 'vpn-1', 'cooling-off')?.reason).toContain('ends 2026-11-24T12:00:00Z');
    expect(gate(p, 'vpn-2', 'idle')?.reason).toContain('the idle window is 24h');
    expect(p.totals.monthlySavingPending).toBe(219);
  });

  it('undrains when traffic returns, when the link degrades, or when opted out', () => {
    // Prepare
    const vpns = [
      vpn({ id: 'vpn-1', drainedAt: NOW - 8 * DAY }),
      vpn({ id: 'vpn-2', drainedAt: NOW - 8 * DAY, tags: { 'crosslink:keep': '' } }),
    ];
    const busy = inventory({ vpns: [vpns[0] as never], links, trafficOf: () => 20_000_000 });
    const degraded = inventory({
      vpns: [vpns[0] as never],
      links: [
        link({
          id: 'lk-1',
          health: [
            { at: NOW - 30 * DAY, status: 'healthy' },
            { at: NOW - HOUR, status: 'degraded' },
          ],
        }),
      ],
    });
    // Act
    const [a, b, c] = [plan(busy), plan(degraded), plan(inventory({ vpns, links }))];
    // Assess
    expect(item(a, 'vpn-1')).toMatchObject({ action: 'undrain' });
    expect(item(a, 'vpn-1').summary).toContain('VPN traffic returned');
    expect(item(b, 'vpn-1').summary).toContain('a link is not healthy');
    expect(item(c, 'vpn-1').action).toBe('delete');
    expect(item(c, 'vpn-2').summary).toContain('opted out');
  });

  it('counts as traffic after the drain only the samples from the drain on, not the one holding it', () => {
    // Prepare: 5-minute samples, 1.5 MB each (18 MB/h, over the 1 MB/h limit) until the sample that
    // holds the drain (2 minutes into it); nothing after, but for vpn-2 one busy sample an hour later.
    const drainedAt = NOW - 2 * HOUR - 2 * 60_000;
    const vpns = [vpn({ id: 'vpn-1', drainedAt }), vpn({ id: 'vpn-2', drainedAt })];
    const FIVE = 5 * 60_000;
    const samples = (id: string) =>
      Array.from({ length: 48 }, (_, i) => NOW - 4 * HOUR + i * FIVE).map((start) => ({
        vpnConnectionId: id,
        metric: 'TunnelDataOut' as const,
        start,
        end: start + FIVE,
        bytes: start < drainedAt || (id === 'vpn-2' && start === NOW - HOUR) ? 1_500_000 : 0,
      }));
    const inv = { ...inventory({ vpns, links }), traffic: [...samples('vpn-1'), ...samples('vpn-2')] };
    // Act
    const p = plan(inv, { idleWindowMs: 30 * 60_000, coolingOffMs: HOUR });
    // Assess
    expect(item(p, 'vpn-1').action).toBe('delete');
    expect(gate(p, 'vpn-1', 'idle')?.verdict).toBe('pass');
    expect(item(p, 'vpn-2').action).toBe('undrain');
    expect(item(p, 'vpn-2').summary).toContain('VPN traffic returned');
  });

  it('undrains outside the change window, but deletes only inside it', () => {
    // Prepare
    const inv = inventory({
      vpns: [vpn({ id: 'vpn-1', drainedAt: NOW - 8 * DAY }), vpn({ id: 'vpn-2', drainedAt: NOW - 8 * DAY })],
      links,
      trafficOf: (v) => (v.id === 'vpn-2' ? 20_000_000 : 1_000),
    });
    // Act
    const p = plan(inv, { changeWindows: [{ days: [0], start: 0, end: 60 }] });
    // Assess
    expect(item(p, 'vpn-1').action).toBe('keep');
    expect(item(p, 'vpn-2').action).toBe('undrain');
  });

  it('reports a Terraform-owned VPN instead of deleting it, unless the policy allows it', () => {
    // Prepare
    const vpns = [
      vpn({ id: 'vpn-1', drainedAt: NOW - 8 * DAY, tags: { ManagedBy: 'Terraform' } }),
      vpn({ id: 'vpn-2', drainedAt: NOW - 8 * DAY, labels: { 'goog-terraform-provisioned': 'true' } }),
      vpn({ id: 'vpn-3', drainedAt: NOW - 8 * DAY, tags: { 'aws:cloudformation:stack-name': 'net' } }),
    ];
    // Act
    const [strict, allowed] = [
      plan(inventory({ vpns, links })),
      plan(inventory({ vpns, links }), { allowIacDelete: true }),
    ];
    // Assess
    expect(strict.vpns.map((v) => v.action)).toEqual(['keep', 'keep', 'keep']);
    expect(
      strict.vpns.map((v) => gate(strict, v.vpnConnectionId, 'iac-ownership')?.reason.split(' (')[0]),
    ).toEqual(['owned by Terraform', 'owned by Terraform', 'owned by CloudFormation']);
    expect(allowed.vpns.map((v) => v.action)).toEqual(['delete', 'delete', 'delete']);
  });

  it('does not delete a drained VPN whose drain time is unknown', () => {
    // Prepare
    const v = vpn({ id: 'vpn-1', drainedAt: NOW - 8 * DAY });
    const unknown = { ...v, drain: { since: undefined, recorded: false } };
    // Act
    const p = plan(inventory({ vpns: [unknown], links }));
    // Assess
    expect(item(p, 'vpn-1').action).toBe('keep');
    expect(gate(p, 'vpn-1', 'cooling-off')?.reason).toContain('drain time unknown');
  });
});

describe('planDecommission: paths between two networks', () => {
  it('keeps the VPNs a backup rule asks for: holds a drain first, then undrains rather than deletes', () => {
    // Prepare
    const links = [link({ id: 'lk-1' })];
    const backup = [{ aws: undefined, gcp: undefined, minVpns: 1 }];
    const active = inventory({ vpns: [vpn({ id: 'vpn-2' }), vpn({ id: 'vpn-1' })], links });
    const drained = inventory({
      vpns: [vpn({ id: 'vpn-1', drainedAt: NOW - 8 * DAY }), vpn({ id: 'vpn-2', drainedAt: NOW - 8 * DAY })],
      links,
    });
    // Act
    const [a, b] = [plan(active, { backup }), plan(drained, { backup })];
    // Assess
    expect(a.vpns.map((v) => v.action)).toEqual(['keep', 'drain']);
    expect(gate(a, 'vpn-1', 'last-path')).toMatchObject({ verdict: 'fail' });
    expect(gate(a, 'vpn-1', 'last-path')?.reason).toContain('backup policy keeps 1 VPN(s) up');
    expect(b.vpns.map((v) => v.action)).toEqual(['undrain', 'delete']);
  });

  it('applies a backup rule only to the pair of networks it names', () => {
    // Prepare
    const links = [link({ id: 'lk-1' }), link({ id: 'lk-2', aws: 'vgw-0other' })];
    const inv = inventory({ vpns: [vpn({ id: 'vpn-1' }), vpn({ id: 'vpn-2', aws: 'vgw-0other' })], links });
    // Act
    const p = plan(inv, { backup: [{ aws: 'vgw-0other', gcp: undefined, minVpns: 1 }] });
    // Assess
    expect(p.vpns.map((v) => v.action)).toEqual(['drain', 'keep']);
  });

  it('keeps the traffic of a healthy VPN rather than the one whose tunnels are down when one must stay', () => {
    // Prepare
    const inv = inventory({
      vpns: [vpn({ id: 'vpn-1', tunnelsUp: false }), vpn({ id: 'vpn-2' })],
      links: [link({ id: 'lk-1' })],
    });
    // Act
    const p = plan(inv, { backup: [{ aws: undefined, gcp: undefined, minVpns: 1 }] });
    // Assess
    expect(item(p, 'vpn-2').action).toBe('keep');
    expect(item(p, 'vpn-1').action).toBe('drain');
  });

  it('uses the traffic of every tunnel and direction when judging idleness', () => {
    // Prepare: AWS side idle, Google side still sending
    const v = vpn({ id: 'vpn-1', drainedAt: NOW - 8 * DAY });
    const inv = {
      ...inventory({ vpns: [v], links: [link({ id: 'lk-1' })] }),
      traffic: [
        ...traffic('vpn-1', 1_000).filter((s) => s.metric === 'TunnelDataOut'),
        ...traffic('vpn-1', 9_000_000).filter((s) => s.metric === 'sent_bytes_count'),
      ],
    };
    // Act
    const p = plan(inv);
    // Assess
    expect(item(p, 'vpn-1').action).toBe('undrain');
  });
});
