/**
 * The drill's runner (scripts/commands/dr-drill-run.ts) against a simulated deployment on a virtual
 * clock: the control route records the start and the end, the executor's run goes through its actions
 * (an approval waited for when the run asks one), the client is served by the side its cached DNS
 * answer names. Checks the order of the commands, the hold, the report's measurements, and Ctrl-C.
 */
import { describe, expect, it } from 'vitest';
import { drill } from '#core/dr/drill.ts';
import type { ClientSample } from '#core/dr/drill-report.ts';
import type { Run } from '#core/dr/executor.ts';
import { type DrillPorts, runDrill } from '#scripts/commands/dr-drill-run.ts';
import { planWith } from './dr/helpers.ts';

const S = 1000;
const MIN = 60 * S;
const T0 = Date.parse('2026-03-02T10:00:00Z');
const iso = (t: number) => new Date(t).toISOString();
const plan = planWith();

/** A virtual clock whose sleepers wake in time order, one per turn of the event loop. */
function virtualTime() {
  let now = T0;
  const sleepers: { at: number; wake: () => void }[] = [];
  const kick = () =>
    setImmediate(() => {
      sleepers.sort((a, b) => a.at - b.at);
      const next = sleepers.shift();
      if (!next) return;
      now = Math.max(now, next.at);
      next.wake();
    });
  return {
    now: () => now,
    sleep: (ms: number) =>
      new Promise<void>((wake) => {
        sleepers.push({ at: now + ms, wake });
        kick();
      }),
  };
}

interface World {
  ports: DrillPorts;
  said: string[];
  controls: { phase: string; at: number }[];
  interrupt(): void;
}

/**
 * The deployment: each move's run starts at its command (awaiting approval when `approvalAfter` says
 * so, approved that long after), its three actions take 10 s each, the flip last; the client's
 * resolver caches the answer for `ttl`, so it is served by the moved-to side from one TTL after the
 * flip at the latest, and gets `region-down` errors from the first action to the flip.
 */
function world(o: {
  ttl: number;
  endRefused?: string;
  approvalAfter?: { failback: number };
  outcome?: string;
  interruptAt?: number[];
  /** When the standby fails during the hold: the executor's own failback starts then. */
  standbyFailsAt?: number;
}): World {
  const clock = virtualTime();
  const said: string[] = [];
  const controls: { phase: string; at: number }[] = [];
  let interrupts = 0;
  let epoch = 2;
  const runs: { run: Run; commandedAt: number; approvalAt: number }[] = [];
  let cache: { cloud: 'aws' | 'gcp'; until: number } | undefined;
  const runAt = (r: (typeof runs)[number], now: number): Run => {
    const begin = r.approvalAt;
    // The move's actions share its 30 s; a failed failover fails at its flip, the last action.
    const each = (30 * S) / r.run.steps.length;
    const steps = r.run.steps.map((s, i) => {
      const started = begin + i * each;
      const done = started + each;
      if (now < started) return s;
      const last = i === r.run.steps.length - 1;
      const failed = o.outcome === 'failed' && r.run.decision === 'failover' && last;
      const promotion = s.action.type === 'promote-replica';
      return {
        ...s,
        epoch: r.run.epoch,
        startedAt: iso(started),
        ...(now >= done && { finishedAt: iso(done), status: failed ? 'failed' : 'succeeded' }),
        ...(now >= done && promotion && { detail: 'promoted: lost 4 writes over 900 ms' }),
      } as Run['steps'][number];
    });
    const end = begin + 30 * S;
    const status = now < begin ? 'awaiting-approval' : now < end ? 'running' : (o.outcome ?? 'succeeded');
    return { ...r.run, steps, status: status as Run['status'], ...(now >= end && { finishedAt: iso(end) }) };
  };
  const flippedTo = (now: number): 'aws' | 'gcp' => {
    let side: 'aws' | 'gcp' = 'aws';
    for (const r of runs) {
      if (o.outcome === 'failed' && r.run.decision === 'failover') continue;
      if (now >= r.approvalAt + 30 * S) side = r.run.decision === 'failover' ? 'gcp' : 'aws';
    }
    return side;
  };
  const moving = (now: number) => runs.some((r) => now >= r.approvalAt && now < r.approvalAt + 30 * S);
  for (const at of o.interruptAt ?? []) void clock.sleep(at - T0).then(() => interrupts++);
  /** A move's run, started at `now` (approved `wait` later). */
  const move = (decision: 'failover' | 'failback', now: number, wait: number) => {
    epoch += wait > 0 ? 2 : 1;
    const run = {
      service: plan.service,
      decision,
      epoch,
      executor: 'aws',
      status: 'running',
      startedAt: iso(now),
      approval: { required: wait > 0 },
      paused: null,
      onFailure: 'stop-and-page',
      steps: plan.actions[decision].map((action, index) => ({
        index,
        action,
        via: action.cloud === 'aws' ? 'local' : 'relay',
        timeoutMs: 5 * MIN,
        status: 'pending',
      })),
      pages: [],
      history: [],
    } as unknown as Run;
    runs.push({ run, commandedAt: now, approvalAt: now + wait });
  };
  const ports: DrillPorts = {
    ...clock,
    async control(phase) {
      const now = clock.now();
      if (phase === 'end' && o.endRefused) throw new Error(o.endRefused);
      if (phase === 'end' && runs.at(-1)?.run.decision === 'failback')
        throw new Error('payments-api: phase: no drill is under way to end');
      controls.push({ phase, at: now });
      const decision = phase === 'start' ? 'failover' : 'failback';
      const wait = phase === 'end' ? (o.approvalAfter?.failback ?? 0) : 0;
      move(decision, now, wait);
      return {
        time: now,
        by: 'arn:aws:iam::000000000000:user/bob',
        decisions: [{ epoch, decision, approval: wait > 0 ? 'pending' : 'not-required' }] as never,
      };
    },
    async run() {
      const standbyFailsAt = o.standbyFailsAt;
      if (standbyFailsAt !== undefined && clock.now() >= standbyFailsAt && runs.length === 1)
        move('failback', standbyFailsAt, 0);
      const r = runs.at(-1);
      return r ? runAt(r, clock.now()) : null;
    },
    async request(): Promise<ClientSample & { ttlMs: number }> {
      const now = clock.now();
      if (!cache || now >= cache.until) cache = { cloud: flippedTo(now), until: now + o.ttl };
      if (moving(now) || (cache.cloud !== flippedTo(now) && runs.length > 0))
        return { at: now, ok: false, error: 'region-down', ttlMs: o.ttl };
      return { at: now, ok: true, cloud: cache.cloud, ttlMs: o.ttl };
    },
    interrupts: () => interrupts,
    say: (l) => said.push(l),
  };
  return { ports, said, controls, interrupt: () => interrupts++ };
}

const options = (holdMs = 2 * MIN) => ({
  drill: drill(plan, { holdMs }),
  rpo: plan.objectives.rpo,
  endCommand: 'crosslink dr drill plan.yaml --apply --end',
  approveCommand: (e: number) => `crosslink dr approve plan.yaml ${e}`,
  intervalMs: S,
  pollMs: 5 * S,
  moveWaitMs: () => 20 * MIN,
});

describe('running a drill', () => {
  it('fails over at the start, holds, fails back at the end, and measures each move with the TTL inside', async () => {
    // Prepare
    const w = world({ ttl: MIN, approvalAfter: { failback: 40 * S } });

    // Act
    const { report, ended } = await runDrill(options(), w.ports);

    // Assess: the start at once, the end after the failover's 30 s and the 2m hold
    expect(ended).toBe(true);
    expect(w.controls).toEqual([
      { phase: 'start', at: T0 },
      { phase: 'end', at: T0 + 30 * S + 2 * MIN },
    ]);
    expect(report.failover).toMatchObject({ epoch: 3, outcome: 'succeeded' });
    expect(report.failover.actions.map((a) => [a.index, a.type, a.outcome])).toEqual([
      [0, 'fence-writer', 'succeeded'],
      [1, 'promote-replica', 'succeeded'],
      [2, 'scale-standby', 'succeeded'],
      [3, 'arc-routing-control', 'succeeded'],
    ]);
    // The flip 30 s after the command, then up to one TTL of the cached answer
    expect(report.failover.rtoMs).toBeGreaterThan(30 * S);
    expect(report.failover.rtoMs).toBeLessThanOrEqual(30 * S + MIN + S);
    expect(report.failback).toMatchObject({ epoch: 5, outcome: 'succeeded' });
    expect(report.failback?.rtoMs).toBeGreaterThan(70 * S);
    expect(report.ttlMs).toBe(MIN);
    expect(report.rpo.lossWindowMs).toBe(900);
    expect(report.client.errors).toBeGreaterThan(0);
    expect(report.client.byKind).toEqual({ 'region-down': report.client.errors });
    expect(report.passed).toBe(true);
    expect(w.said).toContain(
      'the failback of epoch 5 waits for an approval: crosslink dr approve plan.yaml 5',
    );
  }, 20_000);

  it('stops after a failover that failed, commanding nothing more, and says how to end the drill', async () => {
    // Prepare
    const w = world({ ttl: MIN, outcome: 'failed' });

    // Act
    const { report, ended } = await runDrill(options(), w.ports);

    // Assess
    expect(ended).toBe(false);
    expect(w.controls.map((c) => c.phase)).toEqual(['start']);
    expect(report.passed).toBe(false);
    expect(report.problems).toContain('failover (epoch 3): its run ended failed');
    expect(w.said.at(-1)).toMatch(
      /ended failed: nothing more is commanded; .* crosslink dr drill plan.yaml --apply --end$/,
    );
  }, 20_000);

  it("writes the report of what ran when the drill's end is refused, and says how to end it", async () => {
    // Prepare
    const w = world({
      ttl: MIN,
      endRefused: 'payments-api: control: paused: resume the plan before a drill moves it',
    });

    // Act
    const { report, ended } = await runDrill(options(), w.ports);

    // Assess
    expect(ended).toBe(false);
    expect(report.failover).toMatchObject({ epoch: 3, outcome: 'succeeded' });
    expect(report.problems).toContain('failback: not commanded (the drill stopped before it)');
    expect(w.said.at(-1)).toBe(
      "the drill's end was refused (payments-api: control: paused: resume the plan before a drill moves it); end it with crosslink dr drill plan.yaml --apply --end",
    );
  }, 20_000);

  it("follows the executor's failback when the standby fails during the hold, sends no end, and reports the drill failed", async () => {
    // Prepare: the standby fails 5 minutes into a 30-minute hold (the failover took 30 s)
    const failsAt = T0 + 30 * S + 5 * MIN;
    const w = world({ ttl: MIN, standbyFailsAt: failsAt });

    // Act
    const { report, ended } = await runDrill(options(30 * MIN), w.ports);

    // Assess: no end sent, the failback followed to its end, the drill not passed for that reason alone
    expect(w.controls.map((c) => c.phase)).toEqual(['start']);
    expect(ended).toBe(true);
    expect(report.failback).toMatchObject({ epoch: 4, outcome: 'succeeded', commandedAt: failsAt });
    expect(report.failback?.rtoMs).toBeGreaterThanOrEqual(30 * S);
    expect(report.passed).toBe(false);
    expect(report.problems).toEqual([
      `hold: the executor ended the drill early: a failback of epoch 4 started at ${iso(failsAt)}, before the hold's end (the decider ends a drill whose standby fails by quorum; its decision names why)`,
    ]);
    expect(
      w.said.some((l) => l.startsWith('the executor ended the drill during the hold: a failback of epoch 4')),
    ).toBe(true);
  }, 20_000);

  it('on Ctrl-C during the hold commands the failback at once; on a second one stops waiting and names the way to finish', async () => {
    // Prepare: Ctrl-C 1 minute into a 30-minute hold
    const once = world({ ttl: MIN, interruptAt: [T0 + 90 * S] });
    const twice = world({ ttl: MIN, interruptAt: [T0 + 10 * S, T0 + 20 * S] });

    // Act
    const first = await runDrill(options(30 * MIN), once.ports);
    const second = await runDrill(options(30 * MIN), twice.ports);

    // Assess
    expect(once.controls.map((c) => c.phase)).toEqual(['start', 'end']);
    expect(once.controls[1]!.at).toBeLessThan(T0 + 2 * MIN);
    expect(first.report.failback?.outcome).toBe('succeeded');
    expect(twice.controls.map((c) => c.phase)).toEqual(['start']);
    expect(second.ended).toBe(false);
    expect(second.report.passed).toBe(false);
  }, 20_000);
});
