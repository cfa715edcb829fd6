/**
 * What a chaos run is made of, so that each job plugs in its own: a workload drives what people ask
 * of crosslink in one scenario (links now; VPN runs and DR failover add theirs), and invariants say
 * what must hold of the simulated world and both sides' records, after every step and at the end.
 *
 * A workload registers with `registerWorkload`, an invariant with `registerInvariant`; the runner
 * (runner.ts) runs every registered workload of a scenario at once and checks every invariant
 * after each step any of them takes, each fault it injects or lifts, and while it settles.
 */
import type { BothHalves } from '../support/both-halves.ts';
import type { Scenario } from './scenario.ts';
import type { Observation } from './world.ts';

/** One thing that went wrong, as the failure report prints it. */
export interface Violation {
  invariant: string;
  detail: string;
}

/** What a running scenario shares with its workloads and invariants. */
export interface ChaosContext {
  both: BothHalves;
  seed: number;
  /** Which run of the cloud this is (a seed runs again while it shrinks). */
  run: number;
  scenario: Scenario;
  /** The virtual time the scenario started at. */
  startedAt: number;
  /**
   * Records a step (a line of the trace) and checks every invariant after it. Once the scenario
   * ended (a violation), it throws ScenarioEnded so that a workload stops where it is.
   */
  step(what: string): Promise<void>;
  /** True once the scenario ended: a workload's waits give up. */
  readonly ended: boolean;
  /** The link ids the scenario's link workload created, by plan index (absent until requested). */
  linkIds: (string | undefined)[];
  /** The Google project the links' transports go in. */
  gcpProject: string;
}

export interface Workload {
  name: string;
  /** Runs the scenario's part of this workload to its end; rejects only on a harness failure. */
  run(ctx: ChaosContext): Promise<void>;
  /** What this workload expects once faults stopped: a violation per thing not in an acceptable state. */
  settled(ctx: ChaosContext, seen: Observation): Violation[];
}

export interface Invariant {
  name: string;
  /**
   * Checks one observation. `final` is true once every fault stopped and the system had its time to
   * settle: checks that allow something in flight (an event not yet applied, a half being
   * compensated) hold strictly then.
   */
  check(seen: Observation, ctx: ChaosContext, final: boolean): Violation[];
}

/** Thrown by `step` once the scenario ended, so that its workloads stop. */
export class ScenarioEnded extends Error {
  constructor() {
    super('the scenario ended');
    this.name = 'ScenarioEnded';
  }
}

const workloads: Workload[] = [];
const invariants: Invariant[] = [];

export function registerWorkload(w: Workload): void {
  if (workloads.some((x) => x.name === w.name)) throw new Error(`workload ${w.name} registered twice`);
  workloads.push(w);
}

export function registerInvariant(i: Invariant): void {
  if (invariants.some((x) => x.name === i.name)) throw new Error(`invariant ${i.name} registered twice`);
  invariants.push(i);
}

export function registeredWorkloads(): readonly Workload[] {
  return workloads;
}

export function registeredInvariants(): readonly Invariant[] {
  return invariants;
}
