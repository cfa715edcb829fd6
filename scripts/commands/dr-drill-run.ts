/**
 * Running a drill (`crosslink dr drill <plan> --apply`, docs/dr-executor.md "Drills"): the operator's
 * drill start recorded through the executor's control route, the failover carried out by the
 * deployed executor (its epoch, the plan's actions in order, the plan's approval, pause, the
 * standby's readiness), a hold on the standby, the drill's end recorded, the failback carried out the
 * same way. Meanwhile a client of the service sends one request every `intervalMs`, resolving the
 * service's name as any client does (its answer cached for the record's TTL). The report
 * (functions/core/dr/drill-report.ts) measures each move from its command to the moved-to side
 * serving, the RPO at the promotion and the client's errors.
 *
 * Ctrl-C (the `interrupts` count going up): during the failover the drill waits for its run to end
 * (the end would be refused while it runs), then commands the end at once; during the hold it commands the end at once; a second Ctrl-C stops
 * waiting, writes the report so far and says how to finish (`--end`). Nothing is left half made: the
 * executor's run is never abandoned mid-way by the CLI (it runs on the deployment), and the drill's
 * pin on the standby is always either ended or named. An end the route refuses (the plan paused
 * meanwhile) is named with the way to end it, and the report of what ran is still written.
 */
import type { Drill } from '#core/dr/drill.ts';
import {
  type ClientSample,
  type DrillReport,
  drillReport,
  type ObservedMove,
} from '#core/dr/drill-report.ts';
import type { Run } from '#core/dr/executor.ts';
import type { Decision } from '#core/dr/failover-state.ts';

export interface DrillPorts {
  now(): number;
  sleep(ms: number): Promise<void>;
  /** Records the drill's start or end through the executor's control route (as the verified caller). */
  control(phase: 'start' | 'end'): Promise<{ time: number; by: string; decisions: Decision[] }>;
  /** The executor's run of the plan as stored (the latest), or null. */
  run(): Promise<Run | null>;
  /** One request of the service as a client; `ttlMs` is the TTL of the DNS answer it used. */
  request(): Promise<ClientSample & { ttlMs: number }>;
  /** How many times the operator pressed Ctrl-C so far. */
  interrupts(): number;
  say(line: string): void;
}

export interface DrillRunOptions {
  drill: Drill;
  rpo: string;
  /** The command that ends this drill, printed when the operator stops waiting. */
  endCommand: string;
  approveCommand: (epoch: number) => string;
  intervalMs: number;
  pollMs: number;
  /** How long a move may take from its command before the drill stops waiting for it. */
  moveWaitMs: (move: 'failover' | 'failback') => number;
}

const FINISHED = new Set(['succeeded', 'failed', 'stalled', 'approval-timed-out', 'withdrawn']);

/** The hook's report of the promotion: `promoted: lost <n> writes over <ms> ms`. */
export function lossWindowOf(run: Run | undefined): number | undefined {
  const step = run?.steps.find((s) => s.action.type === 'promote-replica');
  const m = /over (\d+) ms/.exec(step?.detail ?? '');
  return m ? Number(m[1]) : undefined;
}

function observedMove(
  move: 'failover' | 'failback',
  commandedAt: number,
  run: Run | undefined,
): ObservedMove {
  const t = (s?: string) => (s === undefined ? undefined : Date.parse(s));
  return {
    move,
    commandedAt,
    ...(run && { epoch: run.epoch }),
    ...(run && FINISHED.has(run.status) && { outcome: run.status }),
    actions: (run?.steps ?? [])
      .filter((s) => s.startedAt !== undefined)
      .map((s) => ({
        index: s.index,
        type: s.action.type,
        cloud: s.action.cloud,
        startedAt: t(s.startedAt) as number,
        ...(s.finishedAt !== undefined && { finishedAt: t(s.finishedAt) as number, outcome: s.status }),
      })),
    ...(run?.status === 'succeeded' && run.finishedAt !== undefined && { finishedAt: t(run.finishedAt) }),
  };
}

export async function runDrill(
  o: DrillRunOptions,
  p: DrillPorts,
): Promise<{ report: DrillReport; ended: boolean }> {
  const samples: ClientSample[] = [];
  let ttlMs = 0;
  let clientOn = true;
  const client = (async () => {
    while (clientOn) {
      const next = p.now() + o.intervalMs;
      const { ttlMs: ttl, ...sample } = await p.request();
      samples.push(sample);
      ttlMs = Math.max(ttlMs, ttl);
      const wait = next - p.now();
      if (wait > 0) await p.sleep(wait);
    }
  })();

  const moves: { failover?: ObservedMove; failback?: ObservedMove } = {};
  let failoverRun: Run | undefined;
  let ended = false;
  let endedEarly: string | undefined;
  try {
    const start = await p.control('start');
    const startEpoch = start.decisions.at(-1)?.epoch ?? 0;
    p.say(`drill started by ${start.by}: ${describe(start.decisions)}`);
    failoverRun = await awaitMove(o, p, 'failover', start.time, startEpoch);
    moves.failover = observedMove('failover', start.time, failoverRun);
    if (failoverRun?.status !== 'succeeded') {
      p.say(
        `the failover ${failoverRun ? `of epoch ${failoverRun.epoch} ended ${failoverRun.status}` : 'did not end'}: nothing more is commanded; once the executor's page is handled, end the drill with ${o.endCommand}`,
      );
      return { report: report(), ended };
    }
    const early = await hold(o, p, failoverRun.epoch);
    if (early) {
      // The executor failed back during the hold (the standby failed): the drill is over, no end to send.
      ended = true;
      endedEarly = early.reason;
      p.say(`the executor ended the drill during the hold: ${early.reason}; following it`);
      const commandedAt = Date.parse(early.run.startedAt);
      const failbackRun = await awaitMove(o, p, 'failback', commandedAt, early.run.epoch);
      moves.failback = observedMove('failback', commandedAt, failbackRun);
      await servedBack(commandedAt);
      return { report: report(), ended };
    }
    if (p.interrupts() > 1) return stopped();
    let end: Awaited<ReturnType<DrillPorts['control']>>;
    try {
      end = await p.control('end');
    } catch (e) {
      // The report of what ran is still written; the refusal says why the end was not recorded.
      p.say(`the drill's end was refused (${(e as Error).message}); end it with ${o.endCommand}`);
      return { report: report(), ended };
    }
    ended = true;
    p.say(`drill ended by ${end.by}: ${describe(end.decisions)}`);
    const failbackRun = await awaitMove(o, p, 'failback', end.time, failoverRun.epoch);
    moves.failback = observedMove('failback', end.time, failbackRun);
    await servedBack(end.time);
    return { report: report(), ended };
  } finally {
    clientOn = false;
    await client;
  }

  /** The client goes on until the primary serves it again after `from`, or the failback's wait is over. */
  async function servedBack(from: number): Promise<void> {
    const deadline = from + o.moveWaitMs('failback');
    while (
      p.now() < deadline &&
      p.interrupts() < 2 &&
      !samples.some((s) => s.at >= from && s.ok && s.cloud === o.drill.failback.to.cloud)
    )
      await p.sleep(o.pollMs);
  }

  function report(): DrillReport {
    return drillReport({
      drill: o.drill,
      rpo: o.rpo,
      ttlMs,
      moves: {
        failover: moves.failover as ObservedMove,
        ...(moves.failback && { failback: moves.failback }),
      },
      samples,
      ...(lossWindowOf(failoverRun) !== undefined && { lossWindowMs: lossWindowOf(failoverRun) }),
      endedAt: p.now(),
      ...(endedEarly !== undefined && { endedEarly }),
    });
  }

  function stopped() {
    p.say(`stopped waiting: the drill still holds the service on the standby; end it with ${o.endCommand}`);
    return { report: report(), ended };
  }
}

const describe = (ds: Decision[]) =>
  ds.length === 0
    ? 'no move decided yet'
    : ds.map((d) => `epoch ${d.epoch} ${d.decision}${d.approval ? ` (${d.approval})` : ''}`).join(', ');

/** Waits for the run of the move above `afterEpoch` to end, or the move's wait to pass. */
async function awaitMove(
  o: DrillRunOptions,
  p: DrillPorts,
  move: 'failover' | 'failback',
  commandedAt: number,
  afterEpoch: number,
): Promise<Run | undefined> {
  const deadline = commandedAt + o.moveWaitMs(move);
  let told: number | undefined;
  let latest: Run | undefined;
  while (p.now() < deadline) {
    const run = await p.run();
    if (run && run.decision === move && run.epoch >= afterEpoch && Date.parse(run.startedAt) >= commandedAt) {
      latest = run;
      if (FINISHED.has(run.status)) return run;
      if (run.status === 'awaiting-approval' && told !== run.epoch) {
        told = run.epoch;
        p.say(`the ${move} of epoch ${run.epoch} waits for an approval: ${o.approveCommand(run.epoch)}`);
      }
    }
    if (p.interrupts() > 1) break;
    await p.sleep(o.pollMs);
  }
  return latest;
}

/**
 * The hold on the standby: until its end, or the operator's Ctrl-C (which ends the drill now), or the
 * executor's own failback above the failover's epoch (the standby failed during the hold: the decider
 * ended the drill), which it returns with its deciding reason.
 */
async function hold(
  o: DrillRunOptions,
  p: DrillPorts,
  failoverEpoch: number,
): Promise<{ run: Run; reason: string } | undefined> {
  const until = p.now() + o.drill.holdMs;
  while (p.now() < until && p.interrupts() === 0) {
    const run = await p.run();
    if (run && run.decision === 'failback' && run.epoch > failoverEpoch)
      return {
        run,
        reason: `a failback of epoch ${run.epoch} started at ${run.startedAt}, before the hold's end (the decider ends a drill whose standby fails by quorum; its decision names why)`,
      };
    await p.sleep(Math.min(o.pollMs, until - p.now()));
  }
  if (p.interrupts() > 0) p.say('interrupted: ending the drill now (commanding the failback)');
  return undefined;
}
