/**
 * Seeded chaos catches a deliberately broken build, and its shrunk failure replays: both halves
 * deployed from a copy of the repository where a DOWN link never comes back to ACTIVE
 * (test/chaos/broken.ts `no-recovery`; the break exists only in that copy). Seed 1363 draws three
 * faults; `npm run chaos -- --seed 1363 --max-links 1 --max-faults 4 --max-vpns 0 --broken no-recovery` failed it
 * and fast-check shrank it, in seven whole runs, to path 0:1:2: two faults, the link held down among
 * them (docs/chaos.md, "Deliberately broken builds"). Here that path is replayed: the link goes
 * DOWN and never comes back. Verify does not fail a live link after a gap nobody watched, so the
 * link stays DOWN (it does not end FAILED), and the violation stands once nothing is on its way two
 * virtual hours after the faults (the runner's early end; every retry, Pub/Sub's included, on the
 * virtual clock): the test takes 80 to 95 s after the boot. The
 * shrinking itself is fast-check's (test/unit/chaos-scenario.test.ts shrinks a scenario to the one fault a failure
 * needs); a whole run per candidate is too long for this suite. The real build holds the seed
 * (`npm run chaos -- --seed 1363 --max-links 1 --max-faults 4 --max-vpns 0`).
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { brokenCopy } from '../chaos/broken.ts';
import { type RunningChaosCloud, startChaosCloud } from '../chaos/cloud.ts';
import { failureReport, runSeed } from '../chaos/runner.ts';
import { type Scenario, scenarioArb } from '../chaos/scenario.ts';

const SEED = 1363;
/** No VPN part: the scenario the seed drew before VPN runs were drawn. */
const LIMITS = { maxLinks: 1, maxFaults: 4, maxVpns: 0 };
/** fast-check's path of the shrunk scenario, as the failure report printed it. */
const SHRUNK_PATH = '0:1:2';

let cloud: RunningChaosCloud;

beforeAll(async () => {
  cloud = await startChaosCloud({ repoDir: brokenCopy('no-recovery') });
}, 120_000);

afterAll(async () => {
  await cloud?.stop();
});

describe('a build whose DOWN links never recover', () => {
  it(`fails seed ${SEED}'s shrunk scenario: two faults, a link held down among them`, async () => {
    const drawn = fc.sample(scenarioArb(LIMITS), { seed: SEED, numRuns: 1 })[0] as Scenario;
    const o = await runSeed(cloud, SEED, { limits: LIMITS, path: SHRUNK_PATH, shrink: false });

    const run = o.first;
    expect(drawn.faults).toHaveLength(3);
    expect(run.scenario.faults).toHaveLength(2);
    expect(run.scenario.faults.map((f) => f.kind)).toContain('link-down');
    expect(
      run.violations.map((v) => v.invariant),
      run.steps.join('\n'),
    ).toContain('links end in a state a person accepts');
    expect(failureReport(o, ['--broken', 'no-recovery'])).toMatch(
      new RegExp(`replay: npm run chaos -- --seed ${SEED} --path [0-9:]+ --broken no-recovery`),
    );
  }, 480_000);
});
