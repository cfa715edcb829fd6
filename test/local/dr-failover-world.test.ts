/**
 * A failover of the payments service on the local cloud (IAM enforced), carried out by the executor's
 * core: an outage of us-east-1 seen by the two probe vantage points (the real probe run against the
 * service's health endpoints every 30 s of virtual time), the decider fed each observation, the run
 * started by its failover decision, and its effects performed in order: Aurora fenced (during its
 * region's outage), the promotion and the scaling on Google, the ARC flip on AWS under the executor's
 * role, through the regional endpoints. Measured:
 * the time the clients failed (detection, hysteresis, actions and the DNS TTL), the writes lost at the
 * promotion, and the client errors, against the plan's RTO and RPO.
 *
 * What stands in for deployed parts: the probes run in the test (the deployed probe functions are
 * another piece of work); the observations go straight to the decider, not through the signal log;
 * the fence, promote and scale hooks are the world's admin actions (`service-fence`,
 * `service-promote`, `service-scale`), as
 * the plan's hook functions would call them; the run is driven here, not by the state machine.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { flipRoutingControls } from '#aws/arc-switch.ts';
import { type Advance, advance, isFinished, startRun } from '#core/dr/executor.ts';
import type { DrPlan } from '#core/dr/plan.ts';
import type { LocalCloud } from '#local/index.ts';
import {
  createPaymentsAtArcAddresses,
  deployPaymentsWorld,
  executorSession,
  failoverPlanOf,
  type PaymentsWorld,
  type ProbedDecider,
  primaryCellOn,
  probedDecider,
  probeRound as probeRoundOf,
  type SessionCredentials,
  startPaymentsClients,
  PROBE_VANTAGES as VANTAGES,
} from '../support/dr-world.ts';
import { admin, startTestCloud } from '../support/local-cloud.ts';

const PROBE_INTERVAL_MS = 30_000;
const TTL_MS = 60_000;

let cloud: LocalCloud;
let world: PaymentsWorld;
let plan: DrPlan;
let executor: SessionCredentials;
const act = (action: string, body: unknown) => admin(cloud, 'POST', `/world/${action}`, body);
const iso = (ms: number) => new Date(ms).toISOString();

beforeAll(async () => {
  cloud = await startTestCloud();
  await createPaymentsAtArcAddresses(cloud, { rpo: '1m' });
  world = await deployPaymentsWorld(cloud);
  executor = await executorSession(cloud);
  plan = failoverPlanOf(cloud, world);
  await primaryCellOn(world, executor);
  await startPaymentsClients(cloud);
}, 90_000);

afterAll(async () => {
  await cloud?.stop();
});

interface Performed {
  index: number;
  epoch: number;
  type: string;
  at: number;
  detail?: string;
}

/** Performs a run's start-action effects in order until the run ends; returns what was done. */
async function drive(
  first: Advance,
): Promise<{ advanced: Advance; performed: Performed[]; lossWindowMs?: number }> {
  let a = first;
  const performed: Performed[] = [];
  let lossWindowMs: number | undefined;
  while (!isFinished(a.run)) {
    const start = a.effects.find((e) => e.type === 'start-action');
    if (start?.type !== 'start-action') throw new Error(`run ${a.run.status} with nothing to do`);
    const { action, epoch, index } = start.command;
    let detail: string | undefined;
    if (action.type === 'fence-writer') {
      const fenced = await act('service-fence', { name: 'payments-api', cloud: action.cloud });
      detail = `fenced: ${action.cloud} ${fenced.role}`;
    } else if (action.type === 'promote-replica') {
      const promoted = await act('service-promote', { name: 'payments-api', cloud: action.cloud });
      lossWindowMs = promoted.lossWindowMs;
      detail = `lost ${promoted.lostWrites} writes over ${promoted.lossWindowMs} ms`;
    } else if (action.type === 'scale-standby')
      await act('service-scale', { name: 'payments-api', cloud: action.cloud, capacity: action.capacity });
    else if (action.type === 'arc-routing-control')
      detail = `via ${(await flipRoutingControls({ credentials: executor }, { endpoints: world.endpoints, action })).region}`;
    performed.push({ index, epoch, type: action.type, at: cloud.clock.now(), ...(detail && { detail }) });
    await cloud.clock.advance(1_000); // each action's call takes a moment
    a = advance(a.run, {
      type: 'result',
      result: {
        service: plan.service,
        epoch,
        index,
        outcome: 'succeeded',
        time: iso(cloud.clock.now()),
        ...(detail && { detail }),
      },
    });
  }
  return { advanced: a, performed, lossWindowMs };
}

// The decider's state and what it decided, across the tests of this file (they run in order).
let decider: ProbedDecider;
const runs: Awaited<ReturnType<typeof drive>>[] = [];

/** One probe run of every vantage point; each observation to the decider, each move carried out. */
const probeRound = () =>
  probeRoundOf(cloud, plan, decider, VANTAGES, async (move) => {
    runs.push(await drive(startRun(plan, move)));
  });

/** Probe rounds every interval for `ms` of virtual time. */
async function probeFor(ms: number): Promise<void> {
  for (let t = 0; t < ms; t += PROBE_INTERVAL_MS) {
    await probeRound();
    await cloud.clock.advance(PROBE_INTERVAL_MS);
  }
}

describe('no failover', () => {
  it("when one vantage point's own network fails: recorded as vantage-down, nothing moves", async () => {
    // Prepare
    decider = probedDecider(plan);

    // Act
    await act('vantage-network', { vantage: 'aws-us-west-2', on: true });
    await probeFor(5 * 60_000);
    const during = decider.state.reports['aws-us-west-2/api-availability']?.status;
    await act('vantage-network', { vantage: 'aws-us-west-2', on: false });
    await probeFor(2 * 60_000);

    // Assess
    expect(during).toBe('unknown');
    expect(decider.decisions.filter((d) => d.decision !== 'hold')).toEqual([]);
    expect(runs).toEqual([]);
    expect((await act('clients', { service: 'payments-api' })).failures).toEqual({});
  }, 120_000);
});

describe('a primary-region outage, failed over by the executor', () => {
  it('serves from the standby within detection + hysteresis + actions + TTL, one failover, one epoch, actions in order', async () => {
    // Prepare: two minutes of a healthy primary
    for (let i = 0; i < 4; i++) {
      await probeRound();
      await cloud.clock.advance(PROBE_INTERVAL_MS);
    }
    const before = await act('clients', { service: 'payments-api' });
    expect(before.failures).toEqual({});

    // Act: the outage, then probe rounds until the clients are served again, for at most the RTO
    const outageAt = cloud.clock.now();
    await act('region-outage', { cloud: 'aws', region: 'us-east-1', on: true });
    let served = false;
    while (!served && cloud.clock.now() - outageAt < 15 * 60_000) {
      await probeRound();
      await cloud.clock.advance(PROBE_INTERVAL_MS);
      const c = await act('clients', { service: 'payments-api' });
      served = (c.bySide.gcp ?? 0) > 0 && c.transitions.at(-1)?.ok === true;
    }
    const clients = await act('clients', { service: 'payments-api' });

    // Assess: exactly one failover, its actions in order under one epoch
    expect(served).toBe(true);
    const moves = decider.decisions.filter((d) => d.decision !== 'hold');
    expect(moves.map((d) => d.decision)).toEqual(['failover']);
    expect(runs).toHaveLength(1);
    const run = runs[0]!;
    expect(run.advanced.run.status).toBe('succeeded');
    expect(run.advanced.effects.some((e) => e.type === 'event' && e.name === 'DrFailedOver')).toBe(true);
    expect(run.performed.map((p) => [p.index, p.type, p.epoch])).toEqual([
      [0, 'fence-writer', moves[0]!.epoch],
      [1, 'promote-replica', moves[0]!.epoch],
      [2, 'scale-standby', moves[0]!.epoch],
      [3, 'arc-routing-control', moves[0]!.epoch],
    ]);
    expect(run.performed[0]!.detail).toBe('fenced: aws writer');
    expect(run.performed[3]!.detail).toBe('via us-west-2');

    // Measured: the time the clients failed, against detection (3 probe intervals) + hysteresis +
    // actions + TTL, and the plan's RTO; the writes lost at promotion against the RPO.
    const transitions = clients.transitions as { at: string; ok: boolean }[];
    const failedAt = Date.parse(transitions.find((t) => !t.ok)!.at);
    const recoveredAt = Date.parse(transitions.at(-1)!.at);
    const rtoMs = recoveredAt - failedAt;
    const actionsMs = run.performed.at(-1)!.at - run.performed[0]!.at + 1_000;
    const bound = 3 * PROBE_INTERVAL_MS + plan.settings.hysteresisMs + actionsMs + TTL_MS + PROBE_INTERVAL_MS;
    const failed = Object.values(clients.failures as Record<string, number>).reduce((a, b) => a + b, 0);
    console.log(
      `DR failover measured: RTO ${rtoMs / 1000}s (bound ${bound / 1000}s, plan ${plan.objectives.rto}), RPO ${run.lossWindowMs} ms (plan ${plan.objectives.rpo}), client errors ${failed} of ${clients.requests} (${JSON.stringify(clients.failures)})`,
    );
    expect(failedAt).toBeGreaterThanOrEqual(outageAt);
    expect(rtoMs).toBeLessThanOrEqual(bound);
    expect(rtoMs).toBeLessThanOrEqual(15 * 60_000);
    expect(run.lossWindowMs).toBeLessThanOrEqual(60_000);
    expect(failed).toBeGreaterThan(0);
    expect(failed).toBeLessThanOrEqual(Math.ceil(rtoMs / 1000) + 1);
  }, 180_000);
});

describe('the old primary back after the failover', () => {
  it('is a fenced writer: it refuses writes, the promoted standby the one writable database, no split brain', async () => {
    // Act
    await act('region-outage', { cloud: 'aws', region: 'us-east-1', on: false });
    await cloud.clock.advance(2 * 60_000);
    const db = (await act('service', { name: 'payments-api' })).database;

    // Assess
    expect(db.aws).toMatchObject({ role: 'writer', fenced: true, available: true });
    expect(db.gcp).toMatchObject({ role: 'writer', fenced: false, available: true });
    expect(db.splitBrains).toEqual([]);
  }, 60_000);
});
