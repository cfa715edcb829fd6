/**
 * Seeded chaos in CI: a scenario drawn by fast-check from a fixed seed (links on both flows across
 * the policy's region pairs, approvals, decommissions, and a fault schedule on the virtual clock;
 * test/chaos/scenario.ts), run on both halves with every invariant (test/chaos/links.ts) checked
 * after every step and once the system settled. Its trace (the scenario, each link's steps in
 * order, the verdict) is the one `npm run chaos -- --seed 19` printed on another machine: the same
 * seed gives the same run. `npm run chaos` runs as many seeds as asked (docs/chaos.md). Then every
 * regression seed (test/chaos/regression.ts), a seed that once failed, on the same cloud.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningChaosCloud, startChaosCloud } from '../chaos/cloud.ts';
import { REGRESSION_SEEDS } from '../chaos/regression.ts';
import { failureReport, runSeed } from '../chaos/runner.ts';

const SEED = 19;
/** The trace of seed 19 as a run of `npm run chaos -- --seed 19` gave it. */
const TRACE = [
  'link 0: gcp first, us-west, approvals both',
  'vpn 0: beside link 0, nonprod, 3 run(s)',
  'at +0m for 3.6m: relay fault=duplicate direction=gcp-peer-push rate=0.2',
  'at +5.4m for 20.4m: error service=gcp:compute rate=0.16',
  'link 0 requested on gcp > link 0 approved on gcp > link 0 approved on aws > link 0 ACTIVE',
  'held',
];

let cloud: RunningChaosCloud;

beforeAll(async () => {
  cloud = await startChaosCloud();
}, 120_000);

afterAll(async () => {
  await cloud?.stop();
});

describe('seeded chaos on links', () => {
  it(`seed ${SEED} holds every invariant after every step, and replays the recorded trace`, async () => {
    const o = await runSeed(cloud, SEED, { shrink: false });

    expect(o.first.violations, `${o.first.steps.join('\n')}\n${failureReport(o)}`).toEqual([]);
    expect(o.first.checks).toBeGreaterThan(o.first.steps.length / 2);
    expect(o.first.faults.injected).toBe(o.first.scenario.faults.length);
    expect(o.first.trace).toEqual(TRACE);
  }, 120_000);
});

describe('regression seeds', () => {
  it.each(
    REGRESSION_SEEDS.filter((r) => r.ci !== false).map((r) => ({
      ...r,
      name: `${r.seed}${r.path ? ` --path ${r.path}` : ''}`,
    })),
  )(
    'seed $name holds every invariant',
    async ({ seed, path, found }) => {
      const o = await runSeed(cloud, seed, { shrink: false, ...(path ? { path } : {}) });

      expect(o.runs).toBe(1);
      expect(
        o.first.violations,
        `once found: ${found}\n${o.first.steps.join('\n')}\n${failureReport(o)}`,
      ).toEqual([]);
      expect(o.first.checks).toBeGreaterThan(o.first.steps.length / 2);
    },
    400_000,
  );
});
