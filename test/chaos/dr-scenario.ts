/**
 * The DR part of a chaos scenario: the payments plan's protected service (config/dr-plans/
 * example-payments.yaml: primary AWS us-east-1, standby Google us-central1, AWS executing through
 * Route 53 ARC) and what its world goes through, on the DR cloud's virtual clock from the scenario's
 * start: outages of the primary's region, the primary flapping (its region out and back every two
 * minutes), a probing vantage point's own network down. The seed's fault schedule (scenario.ts)
 * applies to the DR cloud too where it has the same parts (dr.ts).
 */
import fc from 'fast-check';

const MIN = 60_000;

/** The plan's probing vantage points (the external checkers cannot be taken down from the world). */
export const DR_VANTAGES = ['aws-us-west-2', 'gcp-us-west1'] as const;
export type DrVantage = (typeof DR_VANTAGES)[number];

interface Held {
  /** Virtual ms from the scenario's start. */
  at: number;
  forMs: number;
}

export interface DrScenario {
  /** The primary's region (AWS us-east-1) out. */
  outages: Held[];
  /** The primary's region out and back every FLAP_PERIOD_MS. */
  flaps: Held[];
  /** A vantage point's own network down: its probes reach nothing, itself included. */
  vantageDown: (Held & { vantage: DrVantage })[];
}

export const FLAP_PERIOD_MS = 2 * MIN;

const held = { at: fc.integer({ min: 0, max: 40 * MIN }), forMs: fc.integer({ min: MIN, max: 30 * MIN }) };
const byStart = <T extends Held>(xs: T[]) => [...xs].sort((a, b) => a.at - b.at);

export const drScenarioArb: fc.Arbitrary<DrScenario> = fc
  .record({
    outages: fc.array(fc.record(held), { maxLength: 2 }),
    flaps: fc.array(fc.record(held), { maxLength: 1 }),
    vantageDown: fc.array(fc.record({ ...held, vantage: fc.constantFrom(...DR_VANTAGES) }), { maxLength: 1 }),
  })
  .map((d) => ({
    outages: byStart(d.outages),
    flaps: byStart(d.flaps),
    vantageDown: byStart(d.vantageDown),
  }));

/** When the last DR event ends (virtual ms from the start). */
export function drEventsEndAt(d: DrScenario): number {
  return Math.max(0, ...[...d.outages, ...d.flaps, ...d.vantageDown].map((e) => e.at + e.forMs));
}

/** One line per DR event, for failure reports and the trace. */
export function describeDr(d: DrScenario): string[] {
  const min = (ms: number) => `${Math.round(ms / 1000 / 6) / 10}m`;
  return [
    ...d.outages.map((o) => `dr: primary region out at +${min(o.at)} for ${min(o.forMs)}`),
    ...d.flaps.map((o) => `dr: primary flapping at +${min(o.at)} for ${min(o.forMs)}`),
    ...d.vantageDown.map((o) => `dr: vantage ${o.vantage} down at +${min(o.at)} for ${min(o.forMs)}`),
  ];
}
