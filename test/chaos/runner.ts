/**
 * Runs chaos scenarios on one local cloud running both halves, shared by the seeds: each scenario
 * gets links of its own (fresh ids), the local cloud's random reseeded with its seed, the faults of
 * the last one cleared, and starts where the clock stands.
 *
 * One scenario: every registered workload runs (links: the requests, approvals and decommissions
 * through the CLI) while the fault schedule fires on the virtual clock; after every step a workload
 * takes and every fault applied or lifted, every registered invariant is checked. Once the workloads
 * are done and the last fault's time has passed, the faults are lifted and the system settles: an
 * operator redrives the relay's dead letters (as the dead-letter alarms ask), and the strict checks
 * (events accounted for, nothing orphaned, each link in a state a person accepts) are polled until
 * they hold, or nothing is on its way two virtual hours on, or SETTLE_MS of wall time passed. The
 * first violation ends the scenario.
 *
 * A seed is a fast-check seed: `runSeed` draws the scenario with fast-check and, when it fails,
 * lets fast-check shrink it (every shrink is a whole run), within a wall budget; the report names
 * the seed, the shrunk scenario, its fast-check path and the command that replays it.
 */
import fc from 'fast-check';
import type { BothHalves } from '../support/both-halves.ts';
import { describeDr } from './dr-scenario.ts';
import { FaultSchedule } from './faults.ts';
import { linkInvariants, linkWorkload } from './links.ts';
import {
  type ChaosContext,
  type Invariant,
  registeredInvariants,
  registeredWorkloads,
  registerInvariant,
  registerWorkload,
  ScenarioEnded,
  type Violation,
} from './registry.ts';
import {
  describeScenario,
  faultsEndAt,
  type Scenario,
  type ScenarioLimits,
  scenarioArb,
} from './scenario.ts';
import { vpnLastPathInvariant, vpnWorkload } from './vpn.ts';
import { type DeadLetter, Observer } from './world.ts';

registerWorkload(linkWorkload);
for (const i of linkInvariants) registerInvariant(i as Invariant);
registerWorkload(vpnWorkload);
registerInvariant(vpnLastPathInvariant);

/**
 * The most wall time the system gets to settle once the faults stopped, for what does not settle on
 * the virtual clock (something kept in flight, a machine too loaded to move the clock on).
 */
const SETTLE_MS = 330_000;
/**
 * A violation stands before SETTLE_MS when nothing is on its way (no push unsettled: every message
 * the push proxy pushed was acknowledged or dead-lettered, its retries timed on the virtual clock;
 * no SQS message waiting) and virtual time went this far past the faults' end: beyond the
 * compensation bound and a push's whole retry ladder (ten attempts, 40 minutes), with every watcher
 * run and retry on the virtual clock had.
 */
const SETTLED_VIRTUAL_MS = 2 * 60 * 60_000;

export interface ScenarioResult {
  seed: number;
  scenario: Scenario;
  /** What happened, in order: `+<virtual minutes> <step>`. */
  steps: string[];
  /**
   * What must be the same in two runs of one seed: the scenario, each workload's steps in order (per
   * link), and the verdict. Timings, interleavings across links and fault firing counts are not.
   */
  trace: string[];
  checks: number;
  faults: { injected: number; skipped: number };
  violations: Violation[];
  wallMs: number;
}

export interface ChaosCloud {
  both: BothHalves;
  observer: Observer;
  /** Scenarios run so far on this cloud. */
  runs: number;
}

export async function chaosCloud(both: BothHalves): Promise<ChaosCloud> {
  return { both, observer: await Observer.start(both), runs: 0 };
}

/** Runs one scenario to its end (or its first violation). */
export async function runScenario(
  env: ChaosCloud,
  seed: number,
  scenario: Scenario,
): Promise<ScenarioResult> {
  const { both, observer } = env;
  const cloud = both.cloud;
  const wallStart = Date.now();
  cloud.faults.clear();
  await reseed(both, seed);
  const steps: string[] = [];
  const violations: Violation[] = [];
  let checks = 0;
  let checking: Promise<void> = Promise.resolve();
  /** The dead letters taken so far, and what the relay's dead-letter places hold now. */
  const deadLetters: DeadLetter[] = [];
  let relayDead: DeadLetter[] = [];

  const check = (final: boolean): Promise<Violation[]> => {
    const run = checking.then(async () => {
      const seen = await observer.observe(ids(), [...deadLetters, ...relayDead]);
      checks++;
      const found = registeredInvariants().flatMap((i) => i.check(seen, ctx, final));
      if (final) found.push(...registeredWorkloads().flatMap((w) => w.settled(ctx, seen)));
      return found;
    });
    checking = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  };
  const ids = () => ctx.linkIds.filter((id): id is string => id !== undefined);
  const at = () => `+${((cloud.clock.now() - ctx.startedAt) / 60_000).toFixed(1)}m`;

  let ended = false;
  const ctx: ChaosContext = {
    both,
    seed,
    run: ++env.runs,
    scenario,
    startedAt: cloud.clock.now(),
    linkIds: [],
    gcpProject: cloud.gcp.project,
    get ended() {
      return ended;
    },
    async step(what: string) {
      if (ended) throw new ScenarioEnded();
      steps.push(`${at()} ${what}`);
      if (violations.length > 0) return;
      const found = await check(false).catch((err: Error) => [
        { invariant: 'observation', detail: `reading the world failed: ${err.message}` },
      ]);
      if (found.length > 0 && violations.length === 0) {
        violations.push(...found);
        steps.push(`${at()} VIOLATED: ${found.map((v) => v.detail).join('; ')}`);
      }
    },
  };

  const schedule = new FaultSchedule(ctx);
  schedule.start();
  const working = Promise.all(registeredWorkloads().map((w) => w.run(ctx)));
  try {
    await Promise.race([working, untilViolated(violations, () => ended)]);
    // Let the schedule play out: the clock driver jumps to each fault's timer when nothing runs.
    const end = ctx.startedAt + faultsEndAt(scenario);
    while (violations.length === 0 && cloud.clock.now() < end) await pause(200);
  } finally {
    if (violations.length > 0) ended = true;
    await schedule.stop();
    // A workload stopped by the end of the scenario throws ScenarioEnded; anything else is the harness's.
    await working.catch((err: Error) => {
      if (!(err instanceof ScenarioEnded)) throw err;
    });
  }
  if (violations.length === 0) {
    steps.push(`${at()} faults stopped`);
    const stoppedAt = cloud.clock.now();
    const deadline = Date.now() + SETTLE_MS;
    let last: Violation[] = [];
    for (;;) {
      last = await (async () => {
        // The operator the dead-letter alarms call: with the faults gone, the relay's dead letters
        // go back into the relay (docs/relay.md); what comes back again stays, with its reason.
        if ((await observer.relayDeadLetters()).length > 0) {
          const r = await both.cli('relay', 'redrive');
          const said = `${r.out}\n${r.err}`.trim().split('\n').join('; ');
          steps.push(`${at()} operator: relay redrive${r.code === 0 ? '' : ` exit ${r.code}`}: ${said}`);
        }
        relayDead = await observer.relayDeadLetters();
        deadLetters.push(...(await observer.deadLetters()));
        return check(true);
      })().catch((err: Error) => [
        { invariant: 'observation', detail: `reading the world failed: ${err.message}` },
      ]);
      if (last.length === 0 || Date.now() > deadline) break;
      if (cloud.clock.now() - stoppedAt >= SETTLED_VIRTUAL_MS && (await observer.quiet().catch(() => false)))
        break;
      await pause(2000);
    }
    violations.push(...last);
    steps.push(
      `${at()} ${last.length === 0 ? 'settled' : `NOT SETTLED: ${last.map((v) => v.detail).join('; ')}`}`,
    );
  }
  ended = true;
  await checking;
  return {
    seed,
    scenario,
    steps,
    trace: traceOf(scenario, steps, violations),
    checks,
    faults: { ...schedule.tally },
    violations,
    wallMs: Date.now() - wallStart,
  };
}

/** The deterministic part of a run: the scenario, each link's steps in order, the verdict. */
function traceOf(scenario: Scenario, steps: string[], violations: Violation[]): string[] {
  const perLink = scenario.links.map((_, i) =>
    steps
      // Without the time, and without a command's retries (how often the intake refused depends on
      // when the person asked).
      .map((s) => s.replace(/^\+\S+ /, '').replace(/ \[(after|refused) \d+ tries, .*\]$/, ''))
      .filter((s) => s.startsWith(`link ${i} `))
      .join(' > '),
  );
  // The DR workload's steps (dr.ts), when it ran: its DR cloud is stepped by the scenario alone.
  const dr = steps.filter((s) => /^\+\S+ dr /.test(s)).map((s) => s.replace(/^\+\S+ dr /, ''));
  return [
    ...describeScenario(scenario),
    ...(dr.length > 0 ? [...describeDr(scenario.dr), `dr: ${dr.join(' > ')}`] : []),
    ...perLink,
    violations.length === 0
      ? 'held'
      : `violated: ${[...new Set(violations.map((v) => v.invariant))].join(', ')}`,
  ];
}

async function untilViolated(violations: Violation[], ended: () => boolean): Promise<void> {
  while (violations.length === 0 && !ended()) await pause(250);
}

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function reseed(both: BothHalves, seed: number): Promise<void> {
  const res = await fetch(`${both.cloud.admin}/seed`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ seed }),
  });
  if (!res.ok) throw new Error(`reseeding the local cloud: ${res.status} ${await res.text()}`);
}

export interface SeedOutcome {
  seed: number;
  /** The first run (the seed's own scenario). */
  first: ScenarioResult;
  /** Runs made, shrinking included. */
  runs: number;
  checks: number;
  faultsInjected: number;
  /** When it failed: the smallest failing scenario fast-check found, its path and last result. */
  shrunk?: { scenario: Scenario; path: string; result: ScenarioResult; shrinks: number };
}

export interface SeedOptions {
  limits?: ScenarioLimits;
  /** Shrink a failure (default true), for at most `shrinkBudgetMs` of wall time (default 15 min). */
  shrink?: boolean;
  shrinkBudgetMs?: number;
  /** Replay a shrunk counterexample: fast-check's path of it. */
  path?: string;
  /** Called after every run (the first and each shrink). */
  onRun?: (r: ScenarioResult) => void;
}

/** Draws the seed's scenario, runs it and, when it fails, shrinks it (fast-check). */
export async function runSeed(
  env: ChaosCloud,
  seed: number,
  options: SeedOptions = {},
): Promise<SeedOutcome> {
  const results: ScenarioResult[] = [];
  const property = fc.asyncProperty(scenarioArb(options.limits), async (scenario) => {
    // A replay runs the path's scenario only: fast-check would go on to the values after it.
    if (options.path !== undefined && results.length > 0) return true;
    const r = await runScenario(env, seed, scenario);
    results.push(r);
    options.onRun?.(r);
    return r.violations.length === 0;
  });
  const shrink = options.shrink ?? true;
  const details = await fc.check(property, {
    seed,
    numRuns: 1,
    ...(options.path ? { path: options.path } : {}),
    endOnFailure: !shrink,
    ...(shrink ? { interruptAfterTimeLimit: options.shrinkBudgetMs ?? 15 * 60_000 } : {}),
  });
  const first = results[0];
  if (!first)
    throw new Error(
      `seed ${seed}: fast-check ran nothing${details.errorInstance ? ` (${String((details.errorInstance as Error).stack ?? details.errorInstance)})` : ''}`,
    );
  const outcome: SeedOutcome = {
    seed,
    first,
    runs: results.length,
    checks: results.reduce((n, r) => n + r.checks, 0),
    faultsInjected: results.reduce((n, r) => n + r.faults.injected, 0),
  };
  if (details.failed && details.counterexample && details.counterexamplePath) {
    const scenario = details.counterexample[0];
    // The counterexample is the last value that failed: shrinking moves only to failing values.
    const result = [...results].reverse().find((r) => r.violations.length > 0) ?? first;
    outcome.shrunk = { scenario, path: details.counterexamplePath, result, shrinks: details.numShrinks };
  }
  return outcome;
}

/** The failure report: the seed, the shrunk schedule that still fails, and the command replaying it. */
export function failureReport(o: SeedOutcome, replayArgs: string[] = []): string {
  const s = o.shrunk;
  if (!s) return `seed ${o.seed}: held`;
  return [
    `seed ${o.seed} FAILED (${o.first.violations.map((v) => `${v.invariant}: ${v.detail}`).join('; ')})`,
    `shrunk in ${s.shrinks} step(s) (${o.runs} runs) to:`,
    ...[...describeScenario(s.scenario), ...describeDr(s.scenario.dr)].map((l) => `  ${l}`),
    `which fails with: ${s.result.violations.map((v) => `${v.invariant}: ${v.detail}`).join('; ')}`,
    `replay: npm run chaos -- --seed ${o.seed} --path ${s.path}${replayArgs.map((a) => ` ${a}`).join('')}`,
  ].join('\n');
}
