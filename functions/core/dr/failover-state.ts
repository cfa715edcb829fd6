/**
 * The DR failover decider's vocabulary and stored state: the decisions it emits with their reason
 * codes, the inputs it takes, and the plain-JSON state kept between invocations. Shared by the guards
 * (failover-guards.ts) and the stepping (failover-decider.ts), so neither imports the other's logic.
 */
import type { Action, DrPlan, Side } from './plan.ts';
import type { DrRecord, SignalStatus } from './signal-log.ts';

export type DecisionKind = 'failover' | 'failback' | 'hold';

export type ReasonCode =
  // why a hold
  | 'paused'
  | 'override'
  | 'drill'
  | 'no-quorum'
  | 'hysteresis'
  | 'dampened'
  | 'standby-not-healthy'
  | 'no-side-serving'
  | 'awaiting-approval'
  | 'primary-not-recovered'
  | 'stable-period'
  | 'replication-unhealthy'
  // why a move
  | 'quorum'
  | 'hysteresis-elapsed'
  | 'not-dampened'
  | 'standby-healthy'
  | 'primary-healthy'
  | 'stable-period-elapsed'
  | 'side-serving'
  | 'approved'
  | 'manual-override'
  | 'drill-commanded'
  | 'drill-standby-failed'
  // notes that never decide anything
  | 'approval-withdrawn'
  | 'replication-degraded';

export interface Reason {
  code: ReasonCode;
  message: string;
}

export interface Decision {
  time: string;
  service: string;
  /** Strictly increasing across the decisions of a service: fences the actions it starts. */
  epoch: number;
  /** What was evaluated: a new signal, an operator control, or the passing of time (a deadline). */
  trigger: 'signal' | 'control' | 'tick';
  decision: DecisionKind;
  /** For a failover or failback: waiting for an approval, approved (by `by`), or not required. */
  approval?: 'pending' | 'approved' | 'not-required';
  /** Who approved, or who set the override that caused the move. */
  by?: string;
  /** The side serving traffic once this decision is carried out. */
  active: Side;
  /** The deciding reason first. */
  reasons: Reason[];
  /** For a failover or failback that is to be carried out: the plan's ordered actions. */
  actions?: Action[];
}

/** An evaluation with no new input: lets time-based rules (hysteresis, stable period, staleness) fire. */
export interface Tick {
  time: string;
  tick: true;
}

export type DeciderInput = DrRecord | Tick;

export interface DeciderState {
  service: string;
  epoch: number;
  /** Time of the last input (ms since the epoch), null before the first. */
  now: number | null;
  active: Side;
  /** Latest report per `vantage/signal`. */
  reports: Record<string, { status: SignalStatus; at: number }>;
  primaryDownSince: number | null;
  primaryUpSince: number | null;
  lastFailoverAt: number | null;
  /** The move awaiting approval: since when, the epoch of its first pending decision, who approved it. */
  pending: { decision: 'failover' | 'failback'; since: number; epoch?: number; approvedBy?: string } | null;
  override: { side: Side; by: string } | null;
  /**
   * A drill under way (`crosslink dr drill --apply`): its start moves the service to the standby
   * (`side: standby`), its end back to the primary; cleared once the service is back on the primary.
   * Absent in a state stored before any drill.
   */
  drill?: { side: Side; by: string; since: number } | null;
  /** The global pause switch, or the plan's own pause (`plan: true`). */
  paused: { by: string; since: number; plan?: true } | null;
  /** Outcome and deciding reason of the last decision: a decision is emitted when it changes. */
  lastKey: string | null;
}

export interface StepResult {
  state: DeciderState;
  decision?: Decision;
  /** Why the input was not taken into account (not in the plan, nothing to approve...). */
  ignored?: string;
}

export function initialState(plan: DrPlan, options: { epoch?: number; active?: Side } = {}): DeciderState {
  return {
    service: plan.service,
    epoch: options.epoch ?? 0,
    now: null,
    active: options.active ?? 'primary',
    reports: {},
    primaryDownSince: null,
    primaryUpSince: null,
    lastFailoverAt: null,
    pending: null,
    override: null,
    paused: null,
    lastKey: null,
  };
}

/** A time as the decisions write it: ISO 8601, whole seconds without the milliseconds. */
export const iso = (ms: number) => new Date(ms).toISOString().replace('.000Z', 'Z');
