/**
 * The decision hook of the executor's side, both clouds (docs/dr-executor.md "The deployed executor
 * on AWS", "On Google: the decision hook"): after the side's DR function records what it observed or
 * received, the decider runs on the signals its log holds from its kept state (failover-decider.ts
 * `decisionsSince`: the state at `now - staleAfter`, so each call reads a bounded window, not the
 * whole log), and each decision newer than the last one handed on is handed on once:
 *
 * - its `DrDecisionMade` is published (unless the executor publishes it itself when it takes the
 *   decision: Google's claim and decision steps do);
 * - a move goes to the executor (`handOn`: a Step Functions execution on AWS, a Workflows execution
 *   or the open run's `decision` step on Google); a hold goes to it only while a move awaits
 *   approval (the hold withdraws it).
 *
 * The decided time moves forward only after the decisions were handed on, conditionally on the value
 * read; the checkpoint is kept only after that too (a checkpoint kept before a failed hand-on would
 * let the next call skip them). Two calls racing hand the same decisions on: the executor's claim
 * (one epoch, one run) makes that harmless. A late observation whose time is before the decided
 * time changes no decision already handed on.
 */
import { createHash } from 'node:crypto';
import type { Clock } from '../clock.ts';
import { buildEvent, type Cloud, type Origin } from '../envelope.ts';
import type { EventSink } from '../link/ports.ts';
import { executorCloud } from './executor.ts';
import { decisionMade } from './executor-events.ts';
import type { StoredRun } from './executor-store.ts';
import { type DeciderCheckpoint, decisionsSince } from './failover-decider.ts';
import type { Decision } from './failover-state.ts';
import type { DrPlan } from './plan.ts';
import type { DrRecord } from './signal-log.ts';

/**
 * The last decision handed on: its time and its epoch. Two decisions can share a time (an approval
 * recorded at the instant of the move it approves gives the approved move that move's time), so a
 * decision is new when it is later, or at that time with a higher epoch.
 */
export interface Decided {
  time: string;
  epoch: number;
}

/** Where a side keeps what its decision hook handed on, beside the executor's run. */
export interface DecisionLedger {
  /** The last decision handed on, or null. */
  decidedAt(service: string): Promise<Decided | null>;
  /**
   * The decider's kept state, or null before the first or when it was kept under another plan
   * (`plan`: planFingerprint's; a redeployed plan's settings or sides would not match it).
   */
  checkpoint(service: string, plan: string): Promise<DeciderCheckpoint | null>;
  /** Keeps a checkpoint later than the stored one (or over another plan's); false otherwise. */
  keepCheckpoint(service: string, plan: string, checkpoint: DeciderCheckpoint): Promise<boolean>;
  /** Moves the last decision from `previous` (as read) to `next`; false when another writer moved it first. */
  markDecided(service: string, previous: Decided | null, next: Decided): Promise<boolean>;
  /** The executor's current (or last) run. */
  current(service: string): Promise<StoredRun | undefined>;
}

export interface DecisionHookDeps {
  plan: DrPlan;
  /** This side's log, in time order, at or after `since` (ms). */
  log: { records(service: string, since?: number): Promise<DrRecord[]> };
  ledger: DecisionLedger;
  bus: EventSink;
  origin: Origin;
  clock: Clock;
  /** The cloud this hook runs on: it hands on nothing unless that cloud executes the plan. */
  cloud: Cloud;
  /** Gives a decision to the executor; answers what it started or applied (an execution's name). */
  handOn: (decision: Decision) => Promise<string>;
  /** The executor publishes `DrDecisionMade` for the decisions it is handed (Google's steps). */
  executorPublishes?: boolean;
}

export interface DecideOutcome {
  /** The decisions handed on by this call. */
  decisions: Decision[];
  /** What the executor started for them (executions' names). */
  started: string[];
}

/** Whether `d` comes after the last decision handed on: later, or at its time with a higher epoch. */
export const isAfter = (d: Decided, last: Decided | null): boolean =>
  last === null ||
  Date.parse(d.time) > Date.parse(last.time) ||
  (Date.parse(d.time) === Date.parse(last.time) && d.epoch > last.epoch);

/** The decisions not handed on yet: those after the last one handed on. */
export const newDecisions = (decisions: readonly Decision[], decided: Decided | null): Decision[] =>
  decisions.filter((d) => isAfter(d, decided));

/** The plan as deployed, as a short hash: a checkpoint kept under another plan is not taken. */
export const planFingerprint = (plan: DrPlan): string =>
  createHash('sha256').update(JSON.stringify(plan)).digest('hex').slice(0, 32);

/** Whether the executor takes a decision: every move; a hold only while a move awaits approval. */
export const executorTakes = (d: Decision, current: StoredRun | undefined): boolean =>
  d.decision !== 'hold' || current?.run.status === 'awaiting-approval';

/** Runs the decider on the log and hands the new decisions on; nothing where the other cloud executes. */
export async function handOnDecisions(deps: DecisionHookDeps): Promise<DecideOutcome> {
  if (executorCloud(deps.plan) !== deps.cloud) return { decisions: [], started: [] };
  const service = deps.plan.service;
  const decidedAt = await deps.ledger.decidedAt(service);
  const fingerprint = planFingerprint(deps.plan);
  const kept = await deps.ledger.checkpoint(service, fingerprint);
  const records = await deps.log.records(service, kept ? kept.at + 1 : 0);
  const { decisions: all, checkpoint } = decisionsSince(
    deps.plan,
    kept,
    records,
    deps.clock.now(),
    deps.plan.settings.staleAfterMs,
  );
  const fresh = newDecisions(all, decidedAt);
  if (fresh.length === 0) {
    await keep(deps, kept, checkpoint);
    return { decisions: [], started: [] };
  }
  if (!deps.executorPublishes) await publish(deps, fresh);
  const started: string[] = [];
  const untaken: Decision[] = [];
  for (const d of fresh) {
    if (executorTakes(d, await deps.ledger.current(service))) started.push(await deps.handOn(d));
    else untaken.push(d);
  }
  if (deps.executorPublishes) await publish(deps, untaken);
  const last = fresh.at(-1) as Decision;
  await deps.ledger.markDecided(service, decidedAt, { time: last.time, epoch: last.epoch });
  await keep(deps, kept, checkpoint);
  return { decisions: fresh, started };
}

async function publish(deps: DecisionHookDeps, decisions: readonly Decision[]): Promise<void> {
  if (decisions.length === 0) return;
  await deps.bus.put(
    decisions.map((d) => {
      const e = decisionMade(d);
      return buildEvent({
        name: e.name,
        origin: deps.origin,
        subject: d.service,
        data: e.data,
        clock: deps.clock,
      });
    }),
  );
}

/** Keeps the decider's state once the decisions up to it were handed on. */
async function keep(deps: DecisionHookDeps, kept: DeciderCheckpoint | null, next: DeciderCheckpoint | null) {
  if (next && next.at !== kept?.at)
    await deps.ledger.keepCheckpoint(deps.plan.service, planFingerprint(deps.plan), next);
}
