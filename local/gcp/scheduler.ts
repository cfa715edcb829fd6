/**
 * Cloud Scheduler of the local cloud: the jobs of gcp.yml fire on the virtual clock (so
 * `crosslink sim clock advance 1h` fires an every-5-minutes job twelve times, in order), each at
 * the instants its unix-cron schedule names in its time zone. A firing does what the job's target
 * says, with the headers Cloud Scheduler sends (`User-Agent: Google-Cloud-Scheduler`,
 * `X-CloudScheduler: true`, `X-CloudScheduler-JobName`, `X-CloudScheduler-ScheduleTime`):
 * - `http`: the request to the function URL (or `uri`) with an OIDC ID token of the job's service
 *   account, audience the URL;
 * - `pubsub`: a publish to the topic on the emulator (`data` as JSON unless a string, `attributes`);
 * - `workflow`: `executions.create` on the Executions API of the edge with an OAuth access token of
 *   the job's service account (what an httpTarget with `oauthToken` to workflowexecutions does).
 * One attempt per firing (Cloud Scheduler's retryConfig is not simulated); the outcome is kept in
 * the job's `lastAttempt` and `attempts`. `pause` and `resume` are `gcloud scheduler jobs pause` /
 * `resume`: a paused job (state PAUSED) does not fire, and on resume it fires at its next instant
 * after the moment of resuming; the instants it missed are not made up, as in Cloud Scheduler.
 */

import { type SchedulerJobSpec, serviceAccountEmail } from '#deployment/gcp-config.ts';
import type { VirtualClock } from '#local/clock.ts';
import type { GcpAuth } from './auth.ts';
import { type Cron, nextFire, parseCron } from './cron.ts';

export interface JobAttempt {
  /** Virtual time of the schedule instant. */
  scheduleTime: string;
  target: string;
  /** HTTP status of the target's answer, or `error` (no answer). */
  status: number | 'error';
  message?: string;
}

export interface JobState {
  name: string;
  /** ENABLED, or PAUSED by `pause` until `resume` (Cloud Scheduler's Job.State). */
  state: 'ENABLED' | 'PAUSED';
  schedule: string;
  timeZone: string;
  nextRunTime: string | undefined;
  lastAttempt: JobAttempt | undefined;
  /** The last 100 attempts, oldest first. */
  attempts: JobAttempt[];
  /** How many times the job fired. */
  runs: number;
}

export interface SchedulerOptions {
  clock: VirtualClock;
  auth: GcpAuth;
  project: string;
  region: string;
  edgeUrl: () => string;
  pubsubHost: () => string | null;
  functionUrl: (name: string) => string;
  log: (message: string) => void;
}

interface Job {
  spec: SchedulerJobSpec;
  cron: Cron;
  state: JobState;
  timer: { cancel(): void } | undefined;
}

const MAX_ATTEMPTS_KEPT = 100;

export class Scheduler {
  readonly #o: SchedulerOptions;
  readonly #jobs = new Map<string, Job>();
  readonly #inflight = new Set<Promise<void>>();

  constructor(options: SchedulerOptions) {
    this.#o = options;
  }

  /** Replaces every job with `specs` (reload; a job of the same name stays paused). Throws CronError for a bad schedule. */
  set(specs: readonly SchedulerJobSpec[]): void {
    const parsed = specs.map((spec) => ({
      spec,
      cron: parseCron(spec.schedule, spec.timeZone ?? 'Etc/UTC'),
    }));
    const paused = new Set(
      [...this.#jobs.values()].filter((j) => j.state.state === 'PAUSED').map((j) => j.spec.name),
    );
    this.clear();
    for (const { spec, cron } of parsed) {
      const job: Job = {
        spec,
        cron,
        timer: undefined,
        state: {
          name: spec.name,
          state: 'ENABLED',
          schedule: spec.schedule,
          timeZone: cron.timeZone,
          nextRunTime: undefined,
          lastAttempt: undefined,
          attempts: [],
          runs: 0,
        },
      };
      this.#jobs.set(spec.name, job);
      // A reload (an edited gcp.yml) keeps a job paused, as a deploy does not resume it.
      if (paused.has(spec.name)) job.state.state = 'PAUSED';
      else this.#arm(job, this.#o.clock.now());
    }
  }

  clear(): void {
    for (const j of this.#jobs.values()) j.timer?.cancel();
    this.#jobs.clear();
  }

  jobs(): JobState[] {
    return [...this.#jobs.values()].map((j) => structuredClone(j.state));
  }

  job(name: string): JobState | undefined {
    const j = this.#jobs.get(name);
    return j && structuredClone(j.state);
  }

  /** Resolves when every firing started so far has its answer (tests). */
  async idle(): Promise<void> {
    while (this.#inflight.size > 0) await Promise.allSettled([...this.#inflight]);
  }

  /** `gcloud scheduler jobs pause`: no firing until `resume`. A firing already started goes on. */
  pause(name: string): void {
    const j = this.#known(name);
    j.timer?.cancel();
    j.timer = undefined;
    j.state.state = 'PAUSED';
    j.state.nextRunTime = undefined;
  }

  /** `gcloud scheduler jobs resume`: fires again from its next instant after now. */
  resume(name: string): void {
    const j = this.#known(name);
    if (j.state.state === 'ENABLED') return;
    j.state.state = 'ENABLED';
    this.#arm(j, this.#o.clock.now());
  }

  #known(name: string): Job {
    const j = this.#jobs.get(name);
    if (!j) throw new Error(`no scheduler job ${name}`);
    return j;
  }

  /** Fires a job now, as `gcloud scheduler jobs run` does. */
  run(name: string): Promise<void> {
    return this.#fire(this.#known(name), this.#o.clock.now());
  }

  #arm(job: Job, after: number): void {
    const due = nextFire(job.cron, after);
    job.state.nextRunTime = due === undefined ? undefined : new Date(due).toISOString();
    if (due === undefined) return;
    job.timer = this.#o.clock.at(due, () => {
      if (this.#jobs.get(job.spec.name) !== job || job.state.state === 'PAUSED') return;
      this.#arm(job, due);
      void this.#fire(job, due);
    });
  }

  #fire(job: Job, at: number): Promise<void> {
    const p = this.#attempt(job, at).finally(() => this.#inflight.delete(p));
    this.#inflight.add(p);
    return p;
  }

  async #attempt(job: Job, at: number): Promise<void> {
    const scheduleTime = new Date(at).toISOString();
    const headers: Record<string, string> = {
      'user-agent': 'Google-Cloud-Scheduler',
      'x-cloudscheduler': 'true',
      'x-cloudscheduler-jobname': job.spec.name,
      'x-cloudscheduler-scheduletime': scheduleTime,
    };
    let target = '';
    let status: number | 'error' = 'error';
    let message: string | undefined;
    try {
      const { spec } = job;
      let url: string;
      let body: string | undefined;
      let method = 'POST';
      if (spec.http) {
        url = spec.http.uri ?? this.#o.functionUrl(spec.http.function as string);
        method = spec.http.method ?? 'POST';
        Object.assign(headers, spec.http.headers);
        if (spec.http.body !== undefined) {
          body = typeof spec.http.body === 'string' ? spec.http.body : JSON.stringify(spec.http.body);
          headers['content-type'] ??=
            typeof spec.http.body === 'string' ? 'application/octet-stream' : 'application/json';
        }
        const email = serviceAccountEmail(spec.http.serviceAccount, this.#o.project);
        headers.authorization = `Bearer ${this.#o.auth.mintIdToken({ email, audience: url })}`;
      } else if (spec.pubsub) {
        const host = this.#o.pubsubHost();
        if (!host) throw new Error('the Pub/Sub emulator is not running');
        url = `http://${host}/v1/projects/${this.#o.project}/topics/${spec.pubsub.topic}:publish`;
        const data = spec.pubsub.data;
        const bytes = typeof data === 'string' ? data : JSON.stringify(data ?? null);
        body = JSON.stringify({
          messages: [
            {
              data: Buffer.from(bytes).toString('base64'),
              ...(spec.pubsub.attributes ? { attributes: spec.pubsub.attributes } : {}),
            },
          ],
        });
        headers['content-type'] = 'application/json';
      } else if (spec.workflow) {
        url = `${this.#o.edgeUrl()}/v1/projects/${this.#o.project}/locations/${this.#o.region}/workflows/${spec.workflow.name}/executions`;
        const email = serviceAccountEmail(spec.workflow.serviceAccount, this.#o.project);
        const token = this.#o.auth.issueAccessToken({ email, kind: 'service-account' }).token;
        headers.authorization = `Bearer ${token}`;
        headers['content-type'] = 'application/json';
        body = JSON.stringify({ argument: JSON.stringify(spec.workflow.argument ?? null) });
      } else throw new Error('the job has no target');
      target = url;
      const res = await fetch(url, {
        method,
        headers,
        ...(body === undefined || method === 'GET' ? {} : { body }),
        signal: AbortSignal.timeout(180_000),
      });
      status = res.status;
      const text = await res.text();
      if (!res.ok) message = text.slice(0, 500);
    } catch (err) {
      message = (err as Error).message;
    }
    const attempt: JobAttempt = { scheduleTime, target, status, ...(message ? { message } : {}) };
    job.state.lastAttempt = attempt;
    job.state.runs++;
    job.state.attempts.push(attempt);
    if (job.state.attempts.length > MAX_ATTEMPTS_KEPT) job.state.attempts.shift();
    if (status === 'error' || status >= 300)
      this.#o.log(`scheduler: ${job.spec.name} at ${scheduleTime}: ${status} ${message ?? ''}`);
  }
}
