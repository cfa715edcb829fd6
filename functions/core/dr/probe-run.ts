/**
 * One scheduled run of a vantage point's probes: GET each probe signal's URL, and when one fails, GET
 * the vantage point's control endpoint (one it must always reach) to tell its own network failing
 * from the service's. Returns the run's observations in the signal log's shape and the streaks to
 * keep for the next run. The HTTP GET and the clock are ports: each cloud's adapter passes its own
 * (functions/aws/http-get.ts `fetchGet` on both clouds' Node runtimes).
 */
import type { Clock } from '../clock.ts';
import {
  NEW_STREAK,
  type Observation,
  observeProbe,
  type ProbeOutcome,
  type ProbeStreak,
  probesOf,
} from './observations.ts';
import type { DrPlan } from './plan.ts';

/** An HTTP GET that never throws: an answer's status, or why there was none. */
export type HttpGet = (url: string) => Promise<ProbeOutcome>;

export interface ProbeRunDeps {
  get: HttpGet;
  clock: Clock;
}

export interface ProbeRunInput {
  plan: DrPlan;
  vantage: string;
  /** Answers whenever the vantage point's own network works. */
  controlUrl: string;
  /** The streaks kept from the last run, by signal name. */
  streaks: Record<string, ProbeStreak>;
}

/** Main course: every probe signal of the vantage point observed once. Errors: ValidationError for a vantage point or probe detail the plan does not allow. */
export async function runProbes(
  deps: ProbeRunDeps,
  input: ProbeRunInput,
): Promise<{ observations: Observation[]; streaks: Record<string, ProbeStreak> }> {
  const probes = probesOf(input.plan, input.vantage);
  const time = new Date(deps.clock.now()).toISOString();
  const outcomes = await Promise.all(probes.map((p) => deps.get(p.target.url)));
  const failed = (o: ProbeOutcome) => !o.answered || o.status < 200 || o.status >= 300;
  const control = outcomes.some(failed) ? await deps.get(input.controlUrl) : undefined;
  const reachable = control === undefined || !failed(control);
  const streaks = { ...input.streaks };
  const observations = probes.map((p, i): Observation => {
    const r = observeProbe(streaks[p.spec.name] ?? NEW_STREAK, p.target, outcomes[i]!, reachable);
    streaks[p.spec.name] = r.streak;
    return {
      time,
      service: input.plan.service,
      vantage: input.vantage,
      signal: p.spec.name,
      status: r.status,
      detail: r.detail,
      ...(r.reason && { reason: r.reason }),
    };
  });
  return { observations, streaks };
}
