/**
 * The DR invariants of a chaos scenario, read from the DR cloud's simulated world (never from
 * crosslink's records): the protected service's databases, Route 53 ARC's cells and Route 53's
 * answer for the service's name, and the probes the world's health endpoints answered. Pure: an
 * observation in, violations out (test/unit/chaos-dr-checks.test.ts), the DR workload (dr.ts) takes
 * the observations.
 *
 * - `dr-quorum`: traffic moved to the standby (its cell turned On, or Route 53 answered it) only
 *   when at least the plan's quorum of independent vantage points had seen the primary fail: a
 *   probing vantage point when its last `failuresInRow` probes of the primary's health endpoint
 *   (within `staleAfter` of the move, those made while its own network was down left out, as the
 *   probe leaves them) all failed; the external checkers (Route 53's) when the primary's side was not
 *   serving in an observation within `staleAfter` of the move. The move is judged where it began in
 *   the world: the first observation with the primary's database fenced or the standby's a writer
 *   (the plan's first actions) within the plan's move window of the flip (test/chaos/dr.ts
 *   `moveWindow`), else the flip. A move carried on after the primary came back (its
 *   fence and promotion took minutes) was decided on what the vantage points saw then; a fence
 *   without quorum is caught at the flip it led to. Traffic never moves back to the primary: the
 *   plan's failback needs an approval nobody gives in a scenario.
 * - `dr-one-writer`: never two writable databases (an unfenced writer whose region is up takes
 *   writes; a fenced one refuses them), never both cells On, never a DNS answer naming both sides.
 * - the end verdict (`drVerdict`), once the faults stopped and the DR cloud settled: exactly one cell
 *   On, Route 53 answering that side only, that side serving with the one writable (unfenced)
 *   database, and the
 *   executor's run (if any) succeeded, stopped with a page (stalled, failed, approval timed out),
 *   withdrawn, or waiting on its approval (epoch named).
 */
import type { ProbeSeen } from '#local/world/protected-service.ts';
import type { Violation } from './registry.ts';

export type Side = 'aws' | 'gcp';

export interface DrSeen {
  /** Virtual ms on the DR cloud's clock. */
  at: number;
  /** Route 53 ARC's cells (`On` / `Off`; undefined when no endpoint answered). */
  cells: Record<Side, string | undefined>;
  /** The sides Route 53's answer for the service's name points at (none: no answer). */
  dns: Side[];
  /** Each side's database role, whether its writes are revoked (`fence`), and whether its region is up. */
  db: Record<Side, { role: 'writer' | 'replica'; fenced: boolean; regionUp: boolean }>;
  /** Each side's serving state: `ok` or why not (`region-down`, `no-capacity`, `drained`). */
  serving: Record<Side, string>;
  /** The probes of the primary's health endpoint the world answered so far (healthz of the primary side). */
  primaryProbes: ProbeSeen[];
  /** The executor's current run as AWS's record has it (read for the end verdict only). */
  /** `late`: the stalled actions' late results the run went on from. */
  run?: { epoch: number; status: string; pages: number; late?: number };
}

/** What of the plan the checks need. */
export interface DrRules {
  primary: Side;
  quorum: number;
  /** The probing vantage points watching the primary, each needing this many failures in a row. */
  probes: { vantage: string; failuresInRow: number }[];
  /** External checkers watching the primary (Route 53's health checkers). */
  external: string[];
  staleAfterMs: number;
  /** The longest a failover can take from its first action to its flip (test/chaos/dr.ts `moveWindow`). */
  moveWindowMs: number;
}

const other = (s: Side): Side => (s === 'aws' ? 'gcp' : 'aws');
const failed = (p: ProbeSeen) => p.status === undefined || p.status < 200 || p.status >= 300;

/** Which vantage points saw the primary fail by `at`, per the rules (the quorum's count). */
export function sawPrimaryFail(rules: DrRules, history: readonly DrSeen[], at: number): string[] {
  const seen: string[] = [];
  const last = history.at(-1);
  const probes = last?.primaryProbes ?? [];
  for (const { vantage, failuresInRow } of rules.probes) {
    const own = probes.filter((p) => p.vantage === vantage && !p.ownNetworkDown && p.at <= at);
    const tail = own.slice(-failuresInRow);
    const fresh = tail.every((p) => at - p.at <= rules.staleAfterMs);
    if (tail.length === failuresInRow && fresh && tail.every(failed)) seen.push(vantage);
  }
  const down = history.some(
    (h) => h.at <= at && at - h.at <= rules.staleAfterMs && h.serving[rules.primary] !== 'ok',
  );
  if (down) seen.push(...rules.external);
  return seen;
}

/**
 * Who saw the primary fail at the best moment within the plan's `staleAfter` before `to`: each
 * probe's time there, and `to`. A move is found at the first observation after it began, but
 * decided at some moment before it, which may come before the observation before it (`from`, kept
 * for the callers): when the primary came back in between, the quorum it was decided on held at a
 * probe before, not at the second observation (seed 153 twice). The lookback is `staleAfter`
 * because the decider takes only observations that fresh, and its move's first action lands within
 * that of the decision.
 */
export function sawPrimaryFailSince(
  rules: DrRules,
  history: readonly DrSeen[],
  _from: number,
  to: number,
): string[] {
  const since = to - rules.staleAfterMs;
  const times = (history.at(-1)?.primaryProbes ?? []).map((p) => p.at).filter((t) => t >= since && t < to);
  return [...new Set([...times, to])]
    .map((t) => sawPrimaryFail(rules, history, t))
    .reduce((best, saw) => (saw.length > best.length ? saw : best), [] as string[]);
}

/** The side traffic goes to by an observation: the cell On, else Route 53's answer (undefined: unclear). */
function trafficSide(s: DrSeen): Side | undefined {
  const on = (['aws', 'gcp'] as const).filter((c) => s.cells[c] === 'On');
  if (on.length === 1) return on[0];
  return s.dns.length === 1 ? s.dns[0] : undefined;
}

/** A database that takes writes: a writer, not fenced, in a region that is up. */
export const writable = (db: DrSeen['db'][Side]): boolean =>
  db.role === 'writer' && !db.fenced && db.regionUp;

/** Never two writable databases, never both cells On, never a DNS answer naming both sides. */
export function oneWriter(s: DrSeen): Violation[] {
  const out: Violation[] = [];
  const both = (['aws', 'gcp'] as const).filter((c) => writable(s.db[c]));
  if (both.length > 1)
    out.push({
      invariant: 'dr-one-writer',
      detail: 'two writable databases: aws and gcp are both unfenced writers, both regions up',
    });
  if (s.cells.aws === 'On' && s.cells.gcp === 'On')
    out.push({ invariant: 'dr-one-writer', detail: 'both ARC cells On: traffic may go to both sides' });
  if (s.dns.length > 1)
    out.push({ invariant: 'dr-one-writer', detail: `Route 53 answered both sides (${s.dns.join(', ')})` });
  return out;
}

/**
 * The DR checks over a scenario's observations, in order: `observe` takes each and returns what it
 * violates (a move without quorum, two writers), `verdict` the end verdict over the last one.
 */
export class DrChecker {
  readonly #rules: DrRules;
  readonly #history: DrSeen[] = [];
  #side: Side;
  /** Where the move under way began (the primary fenced or the standby promoted) and who saw the primary fail then. */
  #began: { at: number; saw: string[] } | undefined;

  constructor(rules: DrRules) {
    this.#rules = rules;
    this.#side = rules.primary;
  }

  get last(): DrSeen | undefined {
    return this.#history.at(-1);
  }

  observe(s: DrSeen): Violation[] {
    const previous = this.#history.at(-1)?.at ?? Number.NEGATIVE_INFINITY;
    this.#history.push(s);
    // What the quorum needs stays: the observations within staleAfter of now.
    while (this.#history.length > 1 && s.at - (this.#history[0] as DrSeen).at > this.#rules.staleAfterMs)
      this.#history.shift();
    const out = oneWriter(s);
    const primary = this.#rules.primary;
    if (
      this.#side === primary &&
      !this.#began &&
      (s.db[primary].fenced || s.db[other(primary)].role === 'writer')
    )
      this.#began = { at: s.at, saw: sawPrimaryFailSince(this.#rules, this.#history, previous, s.at) };
    const now = trafficSide(s);
    if (now !== undefined && now !== this.#side) {
      const from = this.#side;
      this.#side = now;
      if (now === this.#rules.primary)
        out.push({
          invariant: 'dr-quorum',
          detail: `traffic moved back to the primary (${now}): a failback nobody approved`,
        });
      else {
        // The move that began within its window of this flip; an older beginning (a move that
        // stalled after its fence) is not this flip's.
        const began =
          this.#began && s.at - this.#began.at <= this.#rules.moveWindowMs ? this.#began : undefined;
        const saw = began?.saw ?? sawPrimaryFailSince(this.#rules, this.#history, previous, s.at);
        this.#began = undefined;
        if (saw.length < this.#rules.quorum)
          out.push({
            invariant: 'dr-quorum',
            detail: `traffic moved from ${from} to ${now} with ${saw.length} of the quorum of ${this.#rules.quorum} vantage points seeing the primary fail (${saw.join(', ') || 'none'})`,
          });
      }
    }
    return out;
  }
}

/** The end verdict over the last observation once the faults stopped and the DR cloud settled. */
export function drVerdict(s: DrSeen): Violation[] {
  const out: Violation[] = [];
  const v = (detail: string) => out.push({ invariant: 'dr-settled', detail });
  const on = (['aws', 'gcp'] as const).filter((c) => s.cells[c] === 'On');
  if (on.length !== 1) v(`${on.length} ARC cells On (${on.join(', ') || 'none'}), not exactly one`);
  const side = on.length === 1 ? (on[0] as Side) : undefined;
  if (side) {
    if (s.dns.length !== 1 || s.dns[0] !== side)
      v(`Route 53 answers ${s.dns.join(', ') || 'nothing'}, the cell On is ${side}'s`);
    if (s.serving[side] !== 'ok') v(`${side} has the traffic and does not serve (${s.serving[side]})`);
    if (s.db[side].role !== 'writer') v(`${side} has the traffic and its database is a replica`);
    else if (s.db[side].fenced) v(`${side} has the traffic and its database is fenced`);
    if (writable(s.db[other(side)])) v(`${other(side)}'s database is writable too`);
  }
  const run = s.run;
  if (run) {
    const paged = ['stalled', 'failed', 'approval-timed-out'].includes(run.status) && run.pages > 0;
    const fine =
      run.status === 'succeeded' || run.status === 'withdrawn' || run.status === 'awaiting-approval';
    if (!paged && !fine)
      v(
        `the run of epoch ${run.epoch} is ${run.status}${run.pages === 0 ? ', with no page' : ''}: neither succeeded, paged nor waiting on its approval`,
      );
  }
  return out;
}
