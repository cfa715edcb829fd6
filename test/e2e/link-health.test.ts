/**
 * Link health end to end, in one local cloud running both halves, the faults through the CLI: one of
 * the link's two BGP sessions down (`crosslink sim link down <sharedId> --bgp 1`) takes the link
 * DEGRADED on both sides within one watcher interval, every session down DOWN, every session up
 * (`sim link up --bgp all`) ACTIVE again; each side's record shows each move once, with the sessions
 * as its reason. Both watchers run on their schedules (every virtual minute) on the driven manual
 * clock; every wait observes the records, bounded in wall time.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WATCHER_EVERY_MS } from '#core/link/watch.ts';
import { type BothHalves, dumpOnFailure, startBothHalves, waitFor } from '../support/both-halves.ts';
import { type LinkView, linkFlows } from '../support/link-flows.ts';

/** Both watchers' schedule (serverless.yml, gcp.yml): every minute. */
const WATCHER_PERIOD = WATCHER_EVERY_MS;

let both: BothHalves;

beforeAll(async () => {
  both = await startBothHalves({}, { busyRate: 30 });
}, 120_000);

afterAll(async () => {
  await both?.stop();
});

const { bothSides, awsFirst, expectActive } = linkFlows(() => both);

/** The moves after the link first reached ACTIVE, as `from->to: reason` (one per LinkStateChanged). */
function movesAfterActive(view: LinkView): string[] {
  const stages = view.stages;
  const first = stages.findIndex((s) => s.state === 'ACTIVE');
  return stages.slice(first + 1).map((s, i) => `${stages[first + i]?.state}->${s.state}: ${s.reason}`);
}

/** Virtual ms a watcher run may take between its schedule and reading the clock for the move. */
const RUN_MS = 5_000;

describe('link health from the BGP sessions', () => {
  it('DEGRADED on both sides within one watcher interval of a session down, DOWN with all, ACTIVE again, each move once', async (ctx) => {
    dumpOnFailure(ctx, both, 'link-health');
    const id = await awsFirst();
    await expectActive(id);
    const listed = (
      await both.json<{ links: { sharedId: string; gcp: { name: string } | null }[] }>('sim', 'link', 'list')
    ).links;
    const sharedId = listed.find((l) => l.gcp?.name.endsWith(`/transports/${id}`))?.sharedId;
    if (!sharedId) throw new Error(`no link of the world holds the transport of ${id}`);
    const states = async (want: string) => {
      const v = await bothSides(id);
      return v.aws.state === want && v.gcp.state === want ? v : undefined;
    };
    const step = async (args: string[], want: string) => {
      // The fault lands while the command runs: between these two instants of the flowing clock.
      const before = both.cloud.clock.now();
      const r = await both.cli('sim', 'link', ...args);
      expect(r.code, r.err).toBe(0);
      const after = both.cloud.clock.now();
      const seen = await waitFor(`${id} ${want} on both sides`, () => states(want), 90_000);
      // The move's time on each side is the watcher run that saw it: within one interval of the fault.
      // That time is read during the run, which on the flowing clock is later than the run's schedule
      // by the run's own time (90 ms seen on a loaded CI): RUN_MS of it allowed, far below a second
      // interval, which a missed run would take.
      for (const view of [seen.aws, seen.gcp]) {
        const moved = Date.parse(view.stages.at(-1)?.at ?? '');
        expect(moved).toBeGreaterThanOrEqual(before);
        expect(moved - after).toBeLessThanOrEqual(WATCHER_PERIOD + RUN_MS);
      }
      return seen;
    };

    // Act
    await step(['down', sharedId, '--bgp', '1'], 'DEGRADED');
    await step(['down', sharedId, '--bgp', 'all'], 'DOWN');
    const back = await step(['up', sharedId, '--bgp', 'all'], 'ACTIVE');
    // Two more watcher intervals change nothing.
    const settled = both.cloud.clock.now();
    await waitFor(
      'two more watcher intervals',
      async () => both.cloud.clock.now() > settled + 2 * WATCHER_PERIOD,
    );
    const after = await bothSides(id);

    // Assess
    for (const view of [back.aws, back.gcp, after.aws, after.gcp]) {
      expect(view.state).toBe('ACTIVE');
      expect(movesAfterActive(view)).toEqual([
        expect.stringMatching(/^ACTIVE->DEGRADED: health impaired: 1 of 2 BGP sessions down \(.+\)$/),
        expect.stringMatching(/^DEGRADED->DOWN: health down: every BGP session down \(.+, .+\)$/),
        'DOWN->ACTIVE: health restored: 2 of 2 BGP sessions up',
      ]);
      expect(view.halves.aws).toMatchObject({ state: 'UP', nativeState: 'available' });
      expect(view.halves.gcp).toMatchObject({ state: 'UP', nativeState: 'ACTIVE' });
    }
  }, 120_000);
});
