/**
 * A partition between the clouds during an outage of the ledger's primary region, Google executing
 * its Cloud-DNS-switched plan on the local cloud (test/support/dr-ledger-world.ts): the relay is cut,
 * so the promotion commanded on AWS never arrives. Checked in the simulated world after every probe
 * round and every step of the executor: never two writable databases (an unfenced writer in a region
 * that is up), never Cloud DNS answering for both sides. Cloud SQL is fenced by Google's own hook;
 * the run stalls at the promotion's deadline and pages (the execution fails DrRunStalled); the
 * standby is never promoted, the flip never runs, and AWS's fence never saw a command.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalCloud } from '#local/index.ts';
import type { ExecutionOutcome } from '#local/workflows/outcome.ts';
import { eventLine } from '../support/dr-failover-engine.ts';
import { LEDGER, type LedgerDnsWorld, ledgerDnsWorld } from '../support/dr-ledger-world.ts';
import { type ProbedDecider, probedDecider, probeRound } from '../support/dr-world.ts';
import { startTestFirestore, type TestFirestore } from '../support/firestore.ts';
import { admin, startTestCloud } from '../support/local-cloud.ts';

const PROBE_INTERVAL_MS = 30_000;

let cloud: LocalCloud;
let firestore: TestFirestore;
let world: LedgerDnsWorld;
const act = (action: string, body: unknown) => admin(cloud, 'POST', `/world/${action}`, body);

/** What each check of the world found wrong, and how many checks ran. */
const violations: string[] = [];
let checks = 0;

async function checkWorld(): Promise<void> {
  checks++;
  const s = await act('service', { name: 'ledger' });
  const db = s.database as Record<'aws' | 'gcp', { role: string; fenced: boolean; available: boolean }>;
  const writable = (['aws', 'gcp'] as const).filter(
    (c) => db[c].role === 'writer' && !db[c].fenced && db[c].available,
  );
  const at = new Date(cloud.clock.now()).toISOString();
  if (writable.length > 1) violations.push(`${at}: two writable databases (${writable.join(', ')})`);
  const answers = world.answers();
  if (answers.includes(LEDGER.primaryIp) && answers.includes(LEDGER.standbyIp))
    violations.push(`${at}: Cloud DNS answers both sides (${answers.join(', ')})`);
}

beforeAll(async () => {
  firestore = await startTestFirestore();
  cloud = await startTestCloud();
  world = await ledgerDnsWorld(cloud, firestore, { afterStep: checkWorld });
}, 120_000);

afterAll(async () => {
  await cloud?.stop();
  await firestore?.stop();
});

describe('a partition between the clouds during an outage of the primary region', () => {
  it('stalls and pages, never two writable databases nor DNS answers for both sides, checked after every step', async () => {
    // Prepare
    const decider: ProbedDecider = probedDecider(world.plan);
    const executions: ExecutionOutcome[] = [];
    const round = async () => {
      await probeRound(cloud, world.plan, decider, LEDGER.vantages, async (move) => {
        executions.push(await world.executor.run({ decision: move }, { execution: `exec-${move.epoch}` }));
      });
      await checkWorld();
    };
    await round();
    // Act: the clouds are cut apart, then the primary region goes out
    world.relay.cut = true;
    await act('relay-partition', { on: true });
    await act('region-outage', { cloud: 'gcp', region: 'europe-west1', on: true });
    const outageAt = cloud.clock.now();
    while (executions.length === 0 && cloud.clock.now() - outageAt < 20 * 60_000) {
      await round();
      await cloud.clock.advance(PROBE_INTERVAL_MS);
    }
    for (let i = 0; i < 4; i++) {
      await round();
      await cloud.clock.advance(PROBE_INTERVAL_MS);
    }
    // Assess
    expect(violations).toEqual([]);
    expect(checks).toBeGreaterThan(90 + 10); // a poll every 10 s of the promotion's 15 m, and the rounds
    expect(executions.map((e) => e.state)).toEqual(['FAILED']);
    expect(executions[0]?.error?.payload).toContain('DrRunStalled');
    const epoch = decider.decisions.find((d) => d.decision === 'failover')?.epoch;
    expect(world.executor.published.map(eventLine)).toEqual([
      `DrDecisionMade e${epoch}`,
      `DrActionStarted #0 local e${epoch}`,
      `DrActionFinished #0 succeeded e${epoch}`,
      `DrActionStarted #1 relay e${epoch}`,
      `DrActionFinished #1 timed-out e${epoch}`,
    ]);
    // Google's one hook call: the fence, before the promotion that never crossed.
    expect(world.executor.hookCalls.map((h) => h.hook)).toEqual(['ledger-fence-cloudsql']);
    expect(world.executor.fence().epoch).toBe(0);
    const s = await act('service', { name: 'ledger' });
    expect(s.database.aws.role).toBe('replica');
    expect(s.database.gcp).toMatchObject({ role: 'writer', fenced: true });
    expect(s.database.promotions).toEqual([]);
    expect((await world.store.current('ledger'))?.run.status).toBe('stalled');
  }, 240_000);
});
