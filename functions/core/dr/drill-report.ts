/**
 * The report of a drill that ran (`crosslink dr drill <plan> --apply`): what was measured against
 * the plan's objectives. Pure: the schedule, each move as the executor recorded it, the client's
 * requests as it counted them and the promotion's data loss in, the report out.
 *
 * - **RTO of a move**: from the operator's command to the first request the client got answered by
 *   the side the move went to. The client resolves the service's name as any client does, keeping
 *   the answer for the record's TTL, so the TTL is in it. A commanded move has no detection and no
 *   hysteresis: its budget is the move's actions each taking their whole timeout, plus the TTL.
 * - **RPO**: the writes lost at the failover's promotion (its loss window), against the plan's RPO.
 * - **Client errors**: the requests that got no answer or an error, from the first command to the
 *   drill's end, by kind.
 *
 * A drill passes when both moves ran to their end (`succeeded`), the client was served by the
 * standby after the failover and by the primary after the failback, the failover's RTO is within the
 * plan's RTO and its RPO within the plan's RPO, and the hold lasted to the drill's end (the executor
 * did not fail back early because the standby failed). Anything else is a problem the report names.
 */
import { formatDuration, parseDuration } from '../clock.ts';
import type { Drill } from './drill.ts';
import type { Cloud } from './plan.ts';

/** One request the drill's client sent: when, whether it was answered, by which cloud, or why not. */
export interface ClientSample {
  at: number;
  ok: boolean;
  /** The cloud that answered (ok only). */
  cloud?: Cloud;
  /** Why it failed (not ok): e.g. `region-down`, `dns`, `timeout`, `http-503`. */
  error?: string;
}

/** An action of a move as the executor recorded it. */
export interface ObservedAction {
  index: number;
  type: string;
  cloud: Cloud;
  startedAt: number;
  finishedAt?: number;
  outcome?: string;
}

/** A move of the drill as the executor carried it out. */
export interface ObservedMove {
  move: 'failover' | 'failback';
  /** When the operator's control commanding it was recorded. */
  commandedAt: number;
  /** The epoch the move ran under; absent when no move was decided. */
  epoch?: number;
  /** How its run ended: succeeded, failed, stalled, approval-timed-out, withdrawn; absent when it did not end. */
  outcome?: string;
  actions: ObservedAction[];
  /** When the move finished (DrFailedOver / DrFailedBack). */
  finishedAt?: number;
}

export interface DrillObserved {
  drill: Drill;
  /** The plan's RPO objective, as the plan writes it (e.g. 1m). */
  rpo: string;
  /** The service record's TTL (ms). */
  ttlMs: number;
  moves: { failover: ObservedMove; failback?: ObservedMove };
  samples: ClientSample[];
  /** The writes lost at the failover's promotion (ms of writes), when the promotion reported it. */
  lossWindowMs?: number;
  /** When the drill ended (the client stopped). */
  endedAt: number;
  /**
   * Why the executor ended the drill before its hold was over (its failback's deciding reason, e.g.
   * the standby failing by quorum): the failback was the executor's, not the drill's end.
   */
  endedEarly?: string;
}

export interface MoveReport extends ObservedMove {
  to: { cloud: Cloud; region: string };
  /** Command to the first request answered by `to.cloud`, or null when none was. */
  rtoMs: number | null;
  /** The commanded move's worst case: its actions' timeouts plus the TTL. */
  budgetMs: number;
}

export interface DrillReport {
  service: string;
  executor: Cloud;
  holdMs: number;
  ttlMs: number;
  failover: MoveReport;
  failback: MoveReport | null;
  objectives: { rtoMs: number; rpoMs: number };
  rpo: { lossWindowMs: number | null };
  client: { requests: number; errors: number; byKind: Record<string, number> };
  /** What went wrong, one line each; empty when the drill passed. */
  problems: string[];
  passed: boolean;
}

function moveReport(d: Drill, m: ObservedMove, samples: ClientSample[], ttlMs: number): MoveReport {
  const plan = m.move === 'failover' ? d.failover : d.failback;
  const served = samples.find((s) => s.at >= m.commandedAt && s.ok && s.cloud === plan.to.cloud);
  return {
    ...m,
    to: plan.to,
    rtoMs: served ? served.at - m.commandedAt : null,
    budgetMs: plan.actions.reduce((sum, a) => sum + a.timeoutMs, 0) + ttlMs,
  };
}

function moveProblems(r: MoveReport): string[] {
  const what = r.move === 'failover' ? 'failover' : 'failback';
  if (r.epoch === undefined) return [`${what}: no move was decided after the command`];
  const problems: string[] = [];
  if (r.outcome !== 'succeeded')
    problems.push(`${what} (epoch ${r.epoch}): its run ${r.outcome ? `ended ${r.outcome}` : 'did not end'}`);
  if (r.rtoMs === null)
    problems.push(`${what}: the client was never served by ${r.to.cloud} after the command`);
  return problems;
}

/** The drill's report: each move measured, the objectives checked, the problems named. */
export function drillReport(o: DrillObserved): DrillReport {
  const d = o.drill;
  const rpoMs = parseDuration(o.rpo);
  const samples = [...o.samples].sort((a, b) => a.at - b.at);
  const failover = moveReport(d, o.moves.failover, samples, o.ttlMs);
  const failback = o.moves.failback ? moveReport(d, o.moves.failback, samples, o.ttlMs) : null;
  const problems = [...moveProblems(failover)];
  if (failback) problems.push(...moveProblems(failback));
  else problems.push('failback: not commanded (the drill stopped before it)');
  if (o.endedEarly) problems.push(`hold: the executor ended the drill early: ${o.endedEarly}`);
  for (const r of [failover, failback])
    if (r && r.rtoMs !== null && r.rtoMs > d.budget.rtoMs)
      problems.push(
        `${r.move}: RTO ${formatDuration(r.rtoMs)} is over the plan's ${formatDuration(d.budget.rtoMs)}`,
      );
  if (o.lossWindowMs === undefined) problems.push('RPO: the promotion reported no data loss to measure');
  else if (o.lossWindowMs > rpoMs)
    problems.push(`RPO: ${formatDuration(o.lossWindowMs)} of writes lost is over the plan's ${o.rpo}`);
  const during = samples.filter((s) => s.at >= o.moves.failover.commandedAt && s.at <= o.endedAt);
  const byKind: Record<string, number> = {};
  for (const s of during) if (!s.ok) byKind[s.error ?? 'error'] = (byKind[s.error ?? 'error'] ?? 0) + 1;
  return {
    service: d.service,
    executor: d.executor,
    holdMs: d.holdMs,
    ttlMs: o.ttlMs,
    failover,
    failback,
    objectives: { rtoMs: d.budget.rtoMs, rpoMs },
    rpo: { lossWindowMs: o.lossWindowMs ?? null },
    client: {
      requests: during.length,
      errors: Object.values(byKind).reduce((a, b) => a + b, 0),
      byKind,
    },
    problems,
    passed: problems.length === 0,
  };
}

const ms = (v: number | null | undefined) => (v === null || v === undefined ? '-' : formatDuration(v));

/** The report as the CLI prints it: one block per move, then the objectives and the client. */
export function drillReportLines(r: DrillReport): string[] {
  const lines = [`${r.service}: drill report (executor ${r.executor}, hold ${formatDuration(r.holdMs)})`];
  for (const m of [r.failover, r.failback]) {
    if (!m) continue;
    const at = (t: number) => `+${ms(t - r.failover.commandedAt)}`;
    lines.push(
      `${m.move} to ${m.to.cloud} ${m.to.region}: epoch ${m.epoch ?? '-'}, ${m.outcome ?? 'not ended'}, commanded ${at(m.commandedAt)}, RTO ${ms(m.rtoMs)} (plan ${ms(r.objectives.rtoMs)}, budget ${ms(m.budgetMs)} incl. TTL ${ms(r.ttlMs)})`,
    );
    for (const a of m.actions)
      lines.push(
        `   ${a.index + 1}. ${a.cloud} ${a.type}  started ${at(a.startedAt)}  ${a.finishedAt === undefined ? 'no result' : `${a.outcome} ${at(a.finishedAt)}`}`,
      );
  }
  const kinds = Object.entries(r.client.byKind).map(([k, n]) => `${k} ${n}`);
  lines.push(
    `RPO at promotion: ${ms(r.rpo.lossWindowMs)} of writes lost (plan ${ms(r.objectives.rpoMs)})`,
    `client errors: ${r.client.errors} of ${r.client.requests} requests${kinds.length > 0 ? ` (${kinds.join(', ')})` : ''}`,
    ...(r.passed ? ['drill passed'] : r.problems.map((p) => `problem: ${p}`)),
  );
  return lines;
}
