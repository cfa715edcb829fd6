/**
 * Properties the issue's acceptance names, checked against references written independently of the
 * planner (address-range coverage, the inputs' own health and drain times), over random inventories.
 */

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type Cidr, contains, width } from '#core/net/cidr.ts';
import type { HealthSample, Inventory, Link, Side, Vpn } from '#core/vpn/model.ts';
import { type Plan, planDecommission } from '#core/vpn/planner.ts';
import { DEFAULT_POLICY, type PlannerPolicy } from '#core/vpn/policy.ts';
import { DAY, HOUR, inventory, link, NOW, vpn } from './builders.ts';

// Links mostly carry the common prefixes; VPNs sometimes carry odd ones (more specific, wider, halves).
const COMMON = ['10.1.0.0/16', '10.2.0.0/16', 'fd00:1::/48'];
const ODD = ['10.1.0.0/17', '10.1.128.0/17', '10.1.5.0/24', '10.0.0.0/8', 'fd00:1:0:1::/64'];
const arbPrefix = fc.oneof(
  { arbitrary: fc.constantFrom(...COMMON), weight: 4 },
  { arbitrary: fc.constantFrom(...ODD), weight: 1 },
);
const arbLinkPrefixes = fc
  .tuple(
    fc.subarray(COMMON, { minLength: 1 }),
    fc.oneof(
      { arbitrary: fc.constant([]), weight: 3 },
      { arbitrary: fc.subarray(ODD, { maxLength: 2 }), weight: 1 },
    ),
  )
  .map(([a, b]) => [...a, ...b]);
const PAIRS = [
  ['vgw-0a', 'projects/p/global/networks/a'],
  ['vgw-0b', 'projects/p/global/networks/b'],
  ['tgw-0c', 'projects/p/global/networks/a'],
] as const;

const arbHealth: fc.Arbitrary<HealthSample[]> = fc.oneof(
  { arbitrary: fc.constant<HealthSample[]>([{ at: NOW - 30 * DAY, status: 'healthy' }]), weight: 3 },
  fc.array(
    fc.record({
      at: fc.integer({ min: NOW - 10 * DAY, max: NOW }),
      status: fc.constantFrom('healthy' as const, 'degraded' as const, 'down' as const),
    }),
    { minLength: 1, maxLength: 5 },
  ),
);

const arbLink = (i: number) =>
  fc
    .record({
      pair: fc.integer({ min: 0, max: PAIRS.length - 1 }),
      state: fc.constantFrom('ACTIVE', 'ACTIVE', 'ACTIVE', 'DEGRADED', 'DOWN'),
      allowed: arbLinkPrefixes,
      advertised: arbLinkPrefixes,
      health: arbHealth,
    })
    .map((o): Link => {
      const [aws, gcp] = PAIRS[o.pair] as readonly [string, string];
      return link({
        id: `lk-${i}`,
        aws,
        gcp,
        state: o.state,
        allowed: o.allowed,
        advertised: o.advertised,
        health: o.health,
      });
    });

/** Per pair, a link that usually carries every common prefix: so covering, draining and deleting happen often. */
const arbMainLink = (pair: number) =>
  fc
    .record({
      state: fc.oneof(
        { arbitrary: fc.constant('ACTIVE'), weight: 4 },
        { arbitrary: fc.constantFrom('DEGRADED', 'DOWN'), weight: 1 },
      ),
      health: arbHealth,
      present: fc.oneof(
        { arbitrary: fc.constant(true), weight: 4 },
        { arbitrary: fc.constant(false), weight: 1 },
      ),
    })
    .map((o): Link[] => {
      const [aws, gcp] = PAIRS[pair] as readonly [string, string];
      return o.present
        ? [
            link({
              id: `lk-main-${pair}`,
              aws,
              gcp,
              state: o.state,
              allowed: COMMON,
              advertised: COMMON,
              health: o.health,
            }),
          ]
        : [];
    });

const arbVpn = (i: number) =>
  fc
    .record({
      pair: fc.integer({ min: 0, max: PAIRS.length - 1 }),
      prefixes: fc.array(fc.tuple(arbPrefix, fc.constantFrom<Side>('aws', 'gcp')), {
        minLength: 1,
        maxLength: 3,
      }),
      drainedAgo: fc.oneof(fc.constant(undefined), fc.integer({ min: 0, max: 15 * DAY })),
      tag: fc.constantFrom<Record<string, string>>(
        {},
        {},
        {},
        {},
        { 'crosslink:keep': 'true' },
        { ManagedBy: 'terraform' },
      ),
      tunnelsUp: fc.boolean(),
      peers: fc.oneof(
        { arbitrary: fc.constant(true), weight: 4 },
        { arbitrary: fc.constant(false), weight: 1 },
      ),
      busy: fc.oneof(
        { arbitrary: fc.constant(false), weight: 3 },
        { arbitrary: fc.constant(true), weight: 1 },
      ),
    })
    .map(({ pair, prefixes, drainedAgo, tag, tunnelsUp, peers, busy }) => {
      const [aws, gcp] = PAIRS[pair] as readonly [string, string];
      const unique = [...new Map(prefixes.map((p) => [p.join('|'), p])).values()];
      return {
        vpn: vpn({
          id: `vpn-${String(i).padStart(2, '0')}`,
          aws,
          gcp,
          prefixes: unique,
          drainedAt: drainedAgo === undefined ? undefined : NOW - drainedAgo,
          tags: tag,
          tunnelsUp,
          peers,
        }),
        busy,
      };
    });

const arbPolicy: fc.Arbitrary<PlannerPolicy> = fc
  .record({
    minVpns: fc.integer({ min: 0, max: 2 }),
    allowIacDelete: fc.boolean(),
    windowed: fc.oneof(
      { arbitrary: fc.constant(false), weight: 3 },
      { arbitrary: fc.constant(true), weight: 1 },
    ),
    soakH: fc.constantFrom(24, 72),
    coolD: fc.constantFrom(1, 7),
  })
  .map((o) => ({
    ...DEFAULT_POLICY,
    soakMs: o.soakH * HOUR,
    coolingOffMs: o.coolD * DAY,
    allowIacDelete: o.allowIacDelete,
    backup: o.minVpns > 0 ? [{ aws: undefined, gcp: undefined, minVpns: o.minVpns }] : [],
    changeWindows: o.windowed ? [{ days: [5], start: 11 * 60, end: 13 * 60 }] : [],
  }));

const arbWorld = fc
  .record({
    main: fc.tuple(...PAIRS.map((_, i) => arbMainLink(i))),
    links: fc
      .integer({ min: 0, max: 3 })
      .chain((n) => fc.tuple(...Array.from({ length: n }, (_, i) => arbLink(i)))),
    vpns: fc
      .integer({ min: 1, max: 6 })
      .chain((n) => fc.tuple(...Array.from({ length: n }, (_, i) => arbVpn(i)))),
    policy: arbPolicy,
  })
  .map(({ main, links: extra, vpns, policy }) => {
    const links = [...main.flat(), ...extra];
    const busy = new Set(vpns.filter((v) => v.busy).map((v) => v.vpn.id));
    const inv = inventory({
      vpns: vpns.map((v) => v.vpn),
      links,
      trafficOf: (v) => (busy.has(v.id) ? 50_000_000 : 1_000),
    });
    return { inv, policy };
  });

// ---- references, written without the planner's code

const key = (aws: string, gcp: string | undefined) => `${aws}|${gcp}`;

function healthyNow(l: Link): boolean {
  const last = [...l.health]
    .filter((h) => h.at <= NOW)
    .sort((a, b) => a.at - b.at)
    .at(-1);
  return l.state === 'ACTIVE' && last?.status === 'healthy';
}

/** Every address of `p` lies in some route of an ACTIVE link of the pair leading to `toward` (interval sweep). */
function coveredByActiveLinks(links: readonly Link[], v: Vpn, p: Cidr, toward: Side): boolean {
  const w = BigInt(width(p.family));
  const lo = p.address;
  const hi = p.address + (1n << (w - BigInt(p.length))) - 1n;
  const ranges = links
    .filter(
      (l) =>
        l.state === 'ACTIVE' && key(l.aws.gateway, l.gcp.network) === key(v.networks.aws, v.networks.gcp),
    )
    .flatMap((l) => (toward === 'aws' ? l.aws.allowedPrefixes : l.gcp.advertisedRoutes))
    .filter((r) => r.family === p.family && (contains(r, p) || contains(p, r)))
    .map((r) => [r.address, r.address + (1n << (w - BigInt(r.length))) - 1n] as const)
    .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  let next = lo;
  for (const [a, b] of ranges) {
    if (a > next) return false;
    if (b + 1n > next) next = b + 1n;
    if (next > hi) return true;
  }
  return next > hi;
}

/** Paths left between each pair once the plan is applied: healthy links, and VPNs left up with a live tunnel. */
function pathsAfter(
  inv: Inventory,
  plan: Plan,
): Map<string, { links: number; vpns: number; vpnsUp: number }> {
  const out = new Map<string, { links: number; vpns: number; vpnsUp: number }>();
  for (const v of inv.vpns) {
    const k = key(v.networks.aws, v.networks.gcp);
    const p = plan.vpns.find((x) => x.vpnConnectionId === v.id);
    const up = (v.drain === undefined && p?.action === 'keep') || p?.action === 'undrain';
    const live = (v.gcp?.tunnels ?? []).some((t) => t.status === 'ESTABLISHED');
    const e = out.get(k) ?? {
      links: inv.links.filter((l) => key(l.aws.gateway, l.gcp.network) === k && healthyNow(l)).length,
      vpns: 0,
      vpnsUp: 0,
    };
    if (up) e.vpnsUp++;
    if (up && live) e.vpns++;
    out.set(k, e);
  }
  return out;
}

function shuffled<T>(xs: readonly T[], keys: readonly number[]): T[] {
  return xs
    .map((x, i) => [x, keys[i % Math.max(1, keys.length)] ?? 0, i] as const)
    .sort((a, b) => a[1] - b[1] || b[2] - a[2])
    .map((e) => e[0]);
}

describe('planDecommission properties', () => {
  it('never deletes or drains where it would leave two networks without a healthy path, and honours the backup rule', () => {
    fc.assert(
      fc.property(arbWorld, ({ inv, policy }) => {
        // Act
        const plan = planDecommission(inv, policy, NOW);
        // Assess
        const paths = pathsAfter(inv, plan);
        const minVpns = policy.backup[0]?.minVpns ?? 0;
        for (const v of plan.vpns) {
          if (v.action !== 'delete' && v.action !== 'drain') continue;
          const k = key(v.networks.aws, v.networks.gcp);
          const left = paths.get(k);
          const total = inv.vpns.filter((x) => key(x.networks.aws, x.networks.gcp) === k).length;
          expect(
            left && left.links + left.vpns,
            `${v.vpnConnectionId} ${v.action} leaves ${k} without a path`,
          ).toBeGreaterThan(0);
          expect(left?.vpnsUp).toBeGreaterThanOrEqual(Math.min(minVpns, total));
        }
      }),
      { numRuns: 400 },
    );
  });

  it('never deletes a VPN carrying a prefix that no ACTIVE link between the same networks covers', () => {
    fc.assert(
      fc.property(arbWorld, ({ inv, policy }) => {
        // Act
        const plan = planDecommission(inv, policy, NOW);
        // Assess
        for (const p of plan.vpns.filter((x) => x.action === 'delete' || x.action === 'drain')) {
          const v = inv.vpns.find((x) => x.id === p.vpnConnectionId) as Vpn;
          expect(v.prefixes.length).toBeGreaterThan(0);
          for (const c of v.prefixes)
            expect(
              coveredByActiveLinks(inv.links, v, c.prefix, c.toward),
              `${v.id} ${p.action} with ${c.prefix.text} uncovered`,
            ).toBe(true);
        }
      }),
      { numRuns: 400 },
    );
  });

  it('never deletes before the cooling-off, nor a VPN that is not drained, opted out or IaC-owned unless allowed', () => {
    fc.assert(
      fc.property(arbWorld, ({ inv, policy }) => {
        // Act
        const plan = planDecommission(inv, policy, NOW);
        // Assess
        for (const p of plan.vpns.filter((x) => x.action === 'delete')) {
          const v = inv.vpns.find((x) => x.id === p.vpnConnectionId) as Vpn;
          expect(v.drain?.since).toBeDefined();
          expect(NOW - (v.drain?.since as number)).toBeGreaterThanOrEqual(policy.coolingOffMs);
          expect(v.aws.tags['crosslink:keep']).toBeUndefined();
          if (!policy.allowIacDelete) expect(v.aws.tags.ManagedBy).toBeUndefined();
        }
      }),
      { numRuns: 400 },
    );
  });

  it('never drains or deletes outside the change window', () => {
    fc.assert(
      fc.property(arbWorld, fc.integer({ min: 0, max: 6 }), ({ inv, policy }, day) => {
        // Prepare: a window on a day other than NOW's (a Friday)
        const closed = { ...policy, changeWindows: [{ days: [day === 5 ? 6 : day], start: 0, end: 60 }] };
        // Act
        const plan = planDecommission(inv, closed, NOW);
        // Assess
        expect(plan.vpns.filter((v) => v.action === 'drain' || v.action === 'delete')).toEqual([]);
      }),
      { numRuns: 200 },
    );
  });

  it('gives the same plan for the same inputs in any order', () => {
    fc.assert(
      fc.property(
        arbWorld,
        fc.array(fc.integer(), { minLength: 1, maxLength: 20 }),
        ({ inv, policy }, keys) => {
          // Prepare
          const reordered: Inventory = {
            ...inv,
            vpns: shuffled(inv.vpns, keys).map((v) => ({ ...v, prefixes: shuffled(v.prefixes, keys) })),
            links: shuffled(inv.links, keys).map((l) => ({ ...l, health: shuffled(l.health, keys) })),
            effectiveRoutes: shuffled(inv.effectiveRoutes, keys),
            traffic: shuffled(inv.traffic, keys),
            gcpTunnelGateways: shuffled(inv.gcpTunnelGateways, keys),
          };
          // Act
          const a = planDecommission(inv, policy, NOW);
          const b = planDecommission(reordered, policy, NOW);
          // Assess
          expect(b).toEqual(a);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('finds something to do in a good share of the random worlds (the generators are not vacuous)', () => {
    // Prepare
    const worlds = fc.sample(arbWorld, { numRuns: 1000, seed: 11 });
    // Act
    const actions = worlds.flatMap(({ inv, policy }) =>
      planDecommission(inv, policy, NOW).vpns.map((v) => v.action),
    );
    // Assess
    for (const a of ['keep', 'drain', 'undrain', 'delete'] as const)
      expect(actions.filter((x) => x === a).length).toBeGreaterThan(30);
  });
});
