/**
 * The deployed decider's checkpoint (failover-decider.ts `decisionsSince`): invoked again and again
 * as records arrive, each call folding only the records after the kept state, it hands on exactly
 * the decisions that replaying the whole log at every call hands on, as long as no record arrives
 * later than the settling time after its own time. The hook on AWS (functions/aws/dr-decide.ts)
 * hands on the decisions later than the last one handed on; both sides of the comparison do so here.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type DeciderCheckpoint, decisionsSince, decisionsUntil } from '#core/dr/failover-decider.ts';
import type { Decision } from '#core/dr/failover-state.ts';
import type { DrRecord } from '#core/dr/signal-log.ts';
import { fixture, planWith } from './helpers.ts';

const plan = planWith();
const SETTLE_MS = plan.settings.staleAfterMs;
const FIXTURES = ['regional-outage.jsonl', 'recovery.jsonl', 'link-flapping.jsonl', 'noisy-observer.jsonl'];

interface Arrival {
  record: DrRecord;
  at: number;
}

/** The log as the hook's query returns it at `now`: the records arrived by then, in time order. */
const logAt = (arrivals: Arrival[], now: number) => arrivals.filter((a) => a.at <= now).map((a) => a.record);

const handedOn = (decided: { at: number | null }, all: Decision[]) => {
  const fresh = all.filter((d) => decided.at === null || Date.parse(d.time) > decided.at);
  if (fresh.length > 0) decided.at = Date.parse((fresh.at(-1) as Decision).time);
  return fresh;
};

/** Every call, both ways: the whole log replayed, and the checkpointed fold of what follows it. */
function run(arrivals: Arrival[], calls: number[]) {
  const whole: Decision[] = [];
  const folded: Decision[] = [];
  const wholeDecided = { at: null as number | null };
  const foldedDecided = { at: null as number | null };
  let kept: DeciderCheckpoint | null = null;
  let read = 0;
  for (const now of calls) {
    const log = logAt(arrivals, now);
    whole.push(...handedOn(wholeDecided, decisionsUntil(plan, log, now)));
    const since = log.filter((r) => kept === null || Date.parse(r.time) > kept.at);
    read = Math.max(read, since.length);
    const out = decisionsSince(plan, kept, since, now, SETTLE_MS);
    folded.push(...handedOn(foldedDecided, out.decisions));
    kept = out.checkpoint;
  }
  return { whole, folded, read };
}

/** Call times from the first record to 20 minutes after the last, `gaps` apart in turn. */
function callTimes(records: DrRecord[], gaps: number[]): number[] {
  const first = Date.parse((records[0] as DrRecord).time);
  const end = Date.parse((records.at(-1) as DrRecord).time) + 20 * 60_000;
  const calls: number[] = [];
  for (let t = first, i = 0; t <= end; t += gaps[i++ % gaps.length] as number) calls.push(t);
  return calls;
}

describe("the deployed decider's checkpoint", () => {
  it.each(FIXTURES)(
    'hands on what replaying the whole log hands on (%s, records late by less than the settling time)',
    (name) => {
      const records = fixture(name);
      fc.assert(
        fc.property(
          fc.array(fc.integer({ min: 15_000, max: 300_000 }), { minLength: 1, maxLength: 8 }),
          fc.array(fc.integer({ min: 0, max: SETTLE_MS - 1 }), { minLength: 1, maxLength: 16 }),
          (gaps, delays) => {
            const arrivals = records.map((record, i) => ({
              record,
              at: Date.parse(record.time) + (delays[i % delays.length] as number),
            }));
            const { whole, folded } = run(arrivals, callTimes(records, gaps));
            expect(folded).toEqual(whole);
          },
        ),
        { numRuns: 6 },
      );
    },
  );

  it('reads a bounded window: the records after the kept state, not the whole log', () => {
    // Prepare: the recovery log (80 minutes) called every minute
    const records = fixture('recovery.jsonl');
    const arrivals = records.map((record) => ({ record, at: Date.parse(record.time) }));

    // Act
    const { whole, folded, read } = run(arrivals, callTimes(records, [60_000]));

    // Assess: the same decisions, and no call folded more than the settling time's records and a minute's
    expect(folded).toEqual(whole);
    const perMinute = records.length / 80;
    expect(read).toBeLessThan(((SETTLE_MS + 60_000) / 60_000 + 1) * perMinute);
    expect(read).toBeLessThan(records.length / 4);
  });

  it('moves a failover in these logs: the comparison above is not between two empty lists', () => {
    for (const name of ['regional-outage.jsonl', 'recovery.jsonl']) {
      const records = fixture(name);
      const arrivals = records.map((record) => ({ record, at: Date.parse(record.time) }));
      const { folded } = run(arrivals, callTimes(records, [60_000]));
      expect(folded.filter((d) => d.decision === 'failover').length, name).toBe(1);
    }
  });

  it('skips a record at or before the kept state: the deployed decider does not rewrite its past', () => {
    // Prepare: the outage's first five minutes, called every minute
    const records = fixture('regional-outage.jsonl');
    const first = Date.parse((records[0] as DrRecord).time);
    const onTime = records.map((record) => ({ record, at: Date.parse(record.time) }));
    let kept: DeciderCheckpoint | null = null;
    for (let now = first; now <= first + 8 * 60_000; now += 60_000)
      kept = decisionsSince(plan, kept, logAt(onTime, now), now, SETTLE_MS).checkpoint;
    const keptAt = (kept as DeciderCheckpoint).at;
    // a primary "unhealthy" from one observer, written before the kept state's time, arriving now
    const late: DrRecord = {
      ...(records[0] as DrRecord),
      time: new Date(keptAt - 1_000).toISOString(),
      status: 'unhealthy',
    } as DrRecord;
    const now = first + 9 * 60_000;

    // Act
    const withLate = decisionsSince(plan, kept, [late], now, SETTLE_MS);
    const without = decisionsSince(plan, kept, [], now, SETTLE_MS);

    // Assess
    expect(keptAt).toBeGreaterThan(first);
    expect(withLate).toEqual(without);
  });
});
