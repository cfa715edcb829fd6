/**
 * A failover of the ledger service (config/dr-plans/example-ledger.yaml: primary on Google
 * europe-west1, standby on AWS eu-west-1, traffic switched by a Cloud DNS failover policy) on the
 * local cloud, Google executing: an outage of europe-west1 seen by the two probe vantage points (the
 * real probe run against the service's health endpoints every 30 s of virtual time), the decider fed
 * each observation, and the failover decision run by the dr-failover workflow as written on the local
 * Workflows interpreter, its steps answered by the executor's core over the Firestore store on the
 * emulator. The promotion and the scaling are commanded on AWS (AWS's fence admits them), the flip's
 * hook drains the primary targets on Google. The clients resolve the name through the local Cloud
 * DNS (its health checks, the record's TTL). Measured, from the clients' counted outcomes: the time
 * they failed (detection, hysteresis, actions and the DNS TTL), the writes lost at the promotion, and
 * the client errors, against the plan's RTO and RPO. Then the primary region returns: the drained
 * primary targets keep Cloud DNS answering the standby alone.
 *
 * What stands in for deployed parts: the probes run in the test and their observations go straight
 * to the decider; the workflow runs on the interpreter in the test, not as a deployed execution of
 * the Google half, so its calls reach the executor's core directly, not the dr-signals function over
 * HTTP with OIDC; AWS's commanded side is its core fence (`admit`) in the test, and the relay between
 * them is in memory; the hooks are the world's admin actions (`service-promote`, `service-scale`,
 * `service-drain`), as the plan's hook functions would call them.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalCloud } from '#local/index.ts';
import type { ExecutionOutcome } from '#local/workflows/outcome.ts';
import { eventLine } from '../support/dr-failover-engine.ts';
import { LEDGER, type LedgerDnsWorld, ledgerDnsWorld } from '../support/dr-ledger-world.ts';
import { type ProbedDecider, probedDecider, probeRound as probeRoundOf } from '../support/dr-world.ts';
import { startTestFirestore, type TestFirestore } from '../support/firestore.ts';
import { admin, startTestCloud } from '../support/local-cloud.ts';

const PROBE_INTERVAL_MS = 30_000;
let cloud: LocalCloud;
let firestore: TestFirestore;
let world: LedgerDnsWorld;

beforeAll(async () => {
  firestore = await startTestFirestore();
  cloud = await startTestCloud();
  world = await ledgerDnsWorld(cloud, firestore);
}, 120_000);
const act = (action: string, body: unknown) => admin(cloud, 'POST', `/world/${action}`, body);

afterAll(async () => {
  await cloud?.stop();
  await firestore?.stop();
});

let decider: ProbedDecider;
const executions: ExecutionOutcome[] = [];

/** One probe run of every vantage point; each observation to the decider, each move run by the workflow. */
const probeRound = () =>
  probeRoundOf(cloud, world.plan, decider, LEDGER.vantages, async (move) => {
    executions.push(await world.executor.run({ decision: move }, { execution: `exec-${move.epoch}` }));
  });

describe('a primary-region outage of a Cloud-DNS-switched plan, failed over by the Google executor', () => {
  it('serves from the standby within detection + hysteresis + actions + TTL, one failover, one epoch, actions in order', async () => {
    // Prepare: two minutes of a healthy primary
    decider = probedDecider(world.plan);
    for (let i = 0; i < 4; i++) {
      await probeRound();
      await cloud.clock.advance(PROBE_INTERVAL_MS);
    }
    const before = await act('clients', { service: 'ledger' });
    expect(before.failures).toEqual({});
    expect(before.bySide.gcp).toBeGreaterThan(0);

    // Act: the outage, then probe rounds until the clients are served by the promoted standby
    const outageAt = cloud.clock.now();
    await act('region-outage', { cloud: 'gcp', region: 'europe-west1', on: true });
    let served = false;
    while (!served && cloud.clock.now() - outageAt < 30 * 60_000) {
      await probeRound();
      await cloud.clock.advance(PROBE_INTERVAL_MS);
      const c = await act('clients', { service: 'ledger' });
      served = executions.length > 0 && c.transitions.at(-1)?.ok === true;
    }
    const clients = await act('clients', { service: 'ledger' });

    // Assess: exactly one failover, its actions in order under one epoch, in the store and the events
    expect(served).toBe(true);
    const moves = decider.decisions.filter((d) => d.decision !== 'hold');
    expect(moves.map((d) => d.decision)).toEqual(['failover']);
    expect(executions.map((e) => e.state)).toEqual(['SUCCEEDED']);
    const epoch = moves[0]?.epoch as number;
    expect(world.executor.published.map(eventLine)).toEqual([
      `DrDecisionMade e${epoch}`,
      `DrActionStarted #0 local e${epoch}`,
      `DrActionFinished #0 succeeded e${epoch}`,
      `DrActionStarted #1 relay e${epoch}`,
      `DrActionFinished #1 succeeded e${epoch}`,
      `DrActionStarted #2 relay e${epoch}`,
      `DrActionFinished #2 succeeded e${epoch}`,
      `DrActionStarted #3 local e${epoch}`,
      `DrActionFinished #3 succeeded e${epoch}`,
      `DrFailedOver e${epoch}`,
    ]);
    const run = (await world.store.current('ledger'))?.run;
    expect(run?.status).toBe('succeeded');
    expect(run?.steps.map((s) => [s.action.type, s.epoch, s.status])).toEqual([
      ['fence-writer', epoch, 'succeeded'],
      ['promote-replica', epoch, 'succeeded'],
      ['scale-standby', epoch, 'succeeded'],
      ['cloud-dns-failover-policy', epoch, 'succeeded'],
    ]);
    expect(world.executor.fence().epoch).toBe(epoch);

    // Measured: the time the clients failed, against detection (3 probe intervals) + hysteresis +
    // actions + TTL, and the plan's RTO; the writes lost at promotion against the RPO.
    const transitions = clients.transitions as { at: string; ok: boolean }[];
    const failedAt = Date.parse(transitions.find((t) => !t.ok)?.at as string);
    const recoveredAt = Date.parse(transitions.at(-1)?.at as string);
    const rtoMs = recoveredAt - failedAt;
    const actionsMs = Date.parse(run?.finishedAt as string) - Date.parse(run?.startedAt as string);
    const bound =
      3 * PROBE_INTERVAL_MS +
      world.plan.settings.hysteresisMs +
      actionsMs +
      LEDGER.ttlS * 1000 +
      PROBE_INTERVAL_MS;
    const failed = Object.values(clients.failures as Record<string, number>).reduce((a, b) => a + b, 0);
    const decisionToTrafficMs = recoveredAt - Date.parse(moves[0]?.time as string);
    const steps = executions[0]?.stepCount.total ?? 0;
    console.log(
      `DR failover (Cloud DNS, Google executing) benchmark: decision to traffic moved ${decisionToTrafficMs / 1000}s, ${steps} Workflows steps (${world.executor.calls.poll ?? 0} polls)`,
    );
    console.log(
      `DR failover (Cloud DNS, Google executing) measured: RTO ${rtoMs / 1000}s (bound ${bound / 1000}s, actions ${actionsMs / 1000}s, plan ${world.plan.objectives.rto}), RPO ${world.promoted.lossWindowMs} ms (plan ${world.plan.objectives.rpo}), client errors ${failed} of ${clients.requests} (${JSON.stringify(clients.failures)})`,
    );
    expect(failedAt).toBeGreaterThanOrEqual(outageAt);
    expect(rtoMs).toBeLessThanOrEqual(bound);
    expect(rtoMs).toBeLessThanOrEqual(30 * 60_000);
    expect(world.promoted.lossWindowMs).toBeLessThanOrEqual(5 * 60_000);
    expect(failed).toBeGreaterThan(0);
    expect(failed).toBeLessThanOrEqual(Math.ceil(rtoMs / 1000) + 1);
    // The workflow's steps: a fixed part and a few per action and per poll, none per second waited.
    expect(steps).toBeLessThanOrEqual(20 + 10 * 4 + 5 * (world.executor.calls.poll ?? 0));
    expect(decisionToTrafficMs).toBeLessThanOrEqual(actionsMs + LEDGER.ttlS * 1000 + PROBE_INTERVAL_MS);
  }, 240_000);

  it('keeps Cloud DNS answering the standby alone when the primary region returns: its targets stay drained', async () => {
    // Act
    await act('region-outage', { cloud: 'gcp', region: 'europe-west1', on: false });
    await cloud.clock.advance(2 * 60_000);
    const answers = world.answers();
    const before = await act('clients', { service: 'ledger' });
    await cloud.clock.advance(60_000);
    const after = await act('clients', { service: 'ledger' });
    // Assess
    expect(answers).toEqual([LEDGER.standbyIp]);
    expect((after.bySide.gcp ?? 0) - (before.bySide.gcp ?? 0)).toBe(0);
    expect(after.successes - before.successes).toBeGreaterThanOrEqual(59);
  }, 60_000);
});
