import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { prefixCoverage } from '#core/link/prefixes.ts';
import { loadEstate } from '#local/estate.ts';
import { DR_VANTAGES, describeDr, drEventsEndAt } from '../chaos/dr-scenario.ts';
import {
  CRASH_TARGETS,
  describeScenario,
  faultsEndAt,
  REGION_PAIRS,
  type Scenario,
  scenarioArb,
  VPN_SERVICES,
} from '../chaos/scenario.ts';

const draw = (seed: number, limits = {}) =>
  fc.sample(scenarioArb(limits), { seed, numRuns: 1 })[0] as Scenario;

describe('the region pairs the chaos links are requested in', () => {
  it("send, on AWS, routes the pair's estate gateway allows: verify finds them covered rather than failing the link", () => {
    // Prepare
    const gateways = loadEstate().aws.directConnectGateways;

    for (const [name, pair] of Object.entries(REGION_PAIRS)) {
      // Act
      const gateway = gateways.find((g) => g.id === pair.gateway);
      const coverage = prefixCoverage(pair.routes.aws, [
        { associationId: 'vgw', state: 'associated', allowedPrefixes: gateway?.vpcCidrs ?? [] },
      ]);

      // Assess
      expect(gateway?.region, name).toBe(pair.aws);
      expect(coverage, name).toEqual({ missing: [], pending: [] });
    }
  });
});

/** A scenario's links and their faults, without the VPN part's VPNs and EC2 / Compute faults. */
const linksPart = (s: Scenario) => ({
  links: s.links,
  faults: s.faults.filter(
    (f) => !('service' in f && (VPN_SERVICES as readonly string[]).includes(f.service)),
  ),
});

describe('chaos scenarios drawn from a seed', () => {
  it('are the same for the same seed, and differ across seeds', () => {
    // Prepare
    const seeds = Array.from({ length: 50 }, (_, i) => i + 1);

    // Act
    const first = seeds.map((s) => draw(s));
    const again = seeds.map((s) => draw(s));

    // Assess
    expect(again).toEqual(first);
    expect(new Set(first.map((s) => JSON.stringify(s))).size).toBeGreaterThanOrEqual(45);
  });

  it('draw the links and the faults as before the DR part was added (seed 19 as its recorded trace), the DR part after them', () => {
    // Act
    const s = draw(19);

    // Assess: test/e2e/chaos-seeds.test.ts recorded these lines before the DR and VPN parts existed
    expect(describeScenario(linksPart(s))).toEqual([
      'link 0: gcp first, us-west, approvals both',
      'at +0m for 3.6m: relay fault=duplicate direction=gcp-peer-push rate=0.2',
    ]);
    expect(Object.keys(s).sort()).toEqual(['dr', 'faults', 'links', 'vpns']);
  });

  it("replay a regression seed's shrunk path to the links and faults it found (seed 29, path 0:4:1)", () => {
    // Prepare
    const ran: Scenario[] = [];

    // Act: fast-check's replay of the path, its first run the path's scenario
    fc.check(
      fc.property(scenarioArb(), (s) => {
        ran.push(s);
        return false;
      }),
      { seed: 29, path: '0:4:1', numRuns: 1, endOnFailure: true },
    );

    // Assess: the scenario docs/chaos.md records for the path
    expect(describeScenario(linksPart(ran[0] as Scenario))).toEqual([
      'link 0: gcp first, us-east, approvals both',
      'at +0m for 20.7m: relay fault=duplicate direction=aws-to-gcp rate=0.3',
      'at +1.7m for 8.1m: throttle service=aws:interconnect rate=0.05',
      'at +7.5m for 1m: relay fault=drop direction=gcp-peer-push rate=0.11',
    ]);
  });

  it('draw a DR part within its limits: primary outages, flapping, a probing vantage point down, each in start order', () => {
    // Act
    const drs = Array.from({ length: 300 }, (_, i) => draw(i).dr);

    // Assess
    for (const d of drs) {
      expect(d.outages.length).toBeLessThanOrEqual(2);
      expect(d.flaps.length).toBeLessThanOrEqual(1);
      expect(d.vantageDown.length).toBeLessThanOrEqual(1);
      for (const e of [...d.outages, ...d.flaps, ...d.vantageDown]) {
        expect(e.at).toBeGreaterThanOrEqual(0);
        expect(e.at).toBeLessThanOrEqual(40 * 60_000);
        expect(e.forMs).toBeGreaterThanOrEqual(60_000);
        expect(e.forMs).toBeLessThanOrEqual(30 * 60_000);
      }
      expect(d.outages.map((o) => o.at)).toEqual([...d.outages.map((o) => o.at)].sort((a, b) => a - b));
      expect(drEventsEndAt(d)).toBeGreaterThanOrEqual(Math.max(0, ...d.outages.map((o) => o.at + o.forMs)));
    }
    expect(drs.filter((d) => d.outages.length > 0).length).toBeGreaterThan(100);
    expect(drs.filter((d) => d.flaps.length > 0).length).toBeGreaterThan(50);
    expect(new Set(drs.flatMap((d) => d.vantageDown.map((v) => v.vantage)))).toEqual(new Set(DR_VANTAGES));
    expect(describeDr({ outages: [{ at: 90_000, forMs: 600_000 }], flaps: [], vantageDown: [] })).toEqual([
      'dr: primary region out at +1.5m for 10m',
    ]);
  });

  it("are what fast-check's run of the seed draws first, so a seed's scenario can be read without running it", () => {
    // Prepare
    const seen: Scenario[] = [];

    // Act
    for (const seed of [1, 19, 1410])
      fc.check(
        fc.property(scenarioArb({ maxLinks: 1, maxFaults: 4 }), (s) => {
          seen.push(s);
          return true;
        }),
        { seed, numRuns: 1 },
      );

    // Assess
    expect(seen).toEqual([1, 19, 1410].map((seed) => draw(seed, { maxLinks: 1, maxFaults: 4 })));
  });

  it('hold within their limits: links on both flows and every region pair, faults in start order, every kind drawn', () => {
    // Prepare
    const limits = { maxLinks: 3, maxFaults: 5 };

    // Act
    const scenarios = Array.from({ length: 300 }, (_, i) => draw(i, limits));

    // Assess
    const kinds = new Set<string>();
    for (const s of scenarios) {
      expect(s.links.length).toBeGreaterThanOrEqual(1);
      expect(s.links.length).toBeLessThanOrEqual(3);
      // The limit's faults, and at most two on EC2 or Compute drawn with the VPN part.
      expect(s.faults.length).toBeLessThanOrEqual(5 + 2);
      for (const v of s.vpns ?? []) expect(v.link).toBeLessThan(s.links.length);
      expect(s.faults.map((f) => f.at)).toEqual([...s.faults.map((f) => f.at)].sort((a, b) => a - b));
      for (const f of s.faults) {
        kinds.add(f.kind);
        if (f.kind === 'link-down' || f.kind === 'flap') expect(f.link).toBeLessThan(s.links.length);
        if (f.kind === 'crash') expect(CRASH_TARGETS).toContain(f.target);
        if ('forMs' in f) expect(f.forMs).toBeGreaterThan(0);
      }
      expect(faultsEndAt(s)).toBeGreaterThanOrEqual(Math.max(0, ...s.faults.map((f) => f.at)));
    }
    const links = scenarios.flatMap((s) => s.links);
    expect(new Set(links.map((l) => l.initiator))).toEqual(new Set(['aws', 'gcp']));
    expect(new Set(links.map((l) => l.pair))).toEqual(new Set(Object.keys(REGION_PAIRS)));
    expect([...kinds].sort()).toEqual(
      [
        'clock-jump',
        'crash',
        'error',
        'flap',
        'latency',
        'link-down',
        'partition',
        'region-outage',
        'relay',
        'stuck',
        'throttle',
        'watcher-missed',
      ].sort(),
    );
  });

  it('shrink with fast-check to the one fault a failure needs, on one link', () => {
    // Prepare: a "system" that fails whenever the relay duplicates, as one without dedupe would.
    const fails = (s: Scenario) => s.faults.some((f) => f.kind === 'relay' && f.fault === 'duplicate');

    // Act
    const out = fc.check(
      fc.property(scenarioArb({ maxLinks: 3, maxFaults: 8 }), (s) => !fails(s)),
      { seed: 4, numRuns: 1000 },
    );

    // Assess
    expect(out.failed).toBe(true);
    const shrunk = out.counterexample?.[0] as Scenario;
    expect(shrunk.links).toHaveLength(1);
    expect(shrunk.faults).toHaveLength(1);
    expect(shrunk.faults[0]).toMatchObject({ kind: 'relay', fault: 'duplicate' });
    expect(describeScenario(shrunk)).toHaveLength(2);
  });

  it('read as one line per link and per fault, with virtual minutes', () => {
    // Prepare
    const s: Scenario = {
      dr: { outages: [], flaps: [], vantageDown: [] },
      links: [{ initiator: 'gcp', pair: 'eu', approvals: 'initiator', decommission: true }],
      faults: [
        { kind: 'throttle', service: 'aws:interconnect', rate: 0.3, at: 90_000, forMs: 600_000 },
        { kind: 'clock-jump', at: 120_000, byMs: 3_600_000 },
      ],
    };

    // Act
    const lines = describeScenario(s);

    // Assess
    expect(lines).toEqual([
      'link 0: gcp first, eu, approvals initiator, then decommission',
      'at +1.5m for 10m: throttle service=aws:interconnect rate=0.3',
      'at +2m: clock-jump byMs=3600000',
    ]);
  });
});
