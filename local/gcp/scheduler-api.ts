/**
 * Cloud Scheduler's REST surface (cloudscheduler.googleapis.com v1) over the local scheduler:
 * `jobs.get`, `jobs.list`, `jobs.pause` and `jobs.resume` of `projects/{p}/locations/{l}/jobs/{j}`,
 * with the Job fields crosslink reads (`state`, `schedule`, `timeZone`, `scheduleTime`,
 * `lastAttemptTime`, `status`). A valid access token is required, as on the edge's modules, and
 * the caller's permission, as the methods' reference pages name it: `cloudscheduler.jobs.list` on
 * the location, `.get`, `.pause` and `.enable` (resume) on the job. The path may start with
 * `/cloudscheduler.googleapis.com`, as the edge's modules accept their host.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { GcpAuth } from './auth.ts';
import { GcpError } from './errors.ts';
import type { GcpIam } from './iam/policy.ts';
import type { JobState, Scheduler } from './scheduler.ts';

const PATH =
  /^(?:\/cloudscheduler\.googleapis\.com)?\/v1\/projects\/([^/]+)\/locations\/([^/]+)\/jobs(?:\/([^/:?]+))?(?::(pause|resume))?(?:\?.*)?$/;

/** A Job as the API shows it. */
export function jobView(project: string, region: string, j: JobState) {
  return {
    name: `projects/${project}/locations/${region}/jobs/${j.name}`,
    schedule: j.schedule,
    timeZone: j.timeZone,
    state: j.state,
    ...(j.nextRunTime ? { scheduleTime: j.nextRunTime } : {}),
    ...(j.lastAttempt
      ? {
          lastAttemptTime: j.lastAttempt.scheduleTime,
          status:
            typeof j.lastAttempt.status === 'number' && j.lastAttempt.status < 300
              ? {}
              : { code: 2, message: j.lastAttempt.message ?? `HTTP ${j.lastAttempt.status}` },
        }
      : {}),
  };
}

/** A `(req, res) => boolean` for the edge: true when it answered (a scheduler path). */
export function schedulerApi(o: {
  project: string;
  region: string;
  auth: GcpAuth;
  iam: GcpIam;
  scheduler: Scheduler;
}) {
  const send = (res: ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };
  const error = (res: ServerResponse, code: number, status: string, message: string) =>
    send(res, code, { error: { code, message, status } });
  return (req: IncomingMessage, res: ServerResponse): boolean => {
    const m = PATH.exec(req.url ?? '');
    if (!m) return false;
    const [, project, region, job, verb] = m;
    const who = o.auth.authenticate(
      typeof req.headers.authorization === 'string' ? req.headers.authorization : undefined,
    );
    if ('reason' in who) {
      error(res, 401, 'UNAUTHENTICATED', who.message);
      return true;
    }
    const location = `projects/${project}/locations/${region}`;
    const permission = !job ? 'list' : verb === 'resume' ? 'enable' : (verb ?? 'get');
    try {
      o.iam.check(
        who,
        `cloudscheduler.jobs.${permission}`,
        job ? `${location}/jobs/${job}` : location,
        'cloudscheduler.googleapis.com',
      );
    } catch (e) {
      if (!(e instanceof GcpError)) throw e;
      send(res, e.code, e.toJSON());
      return true;
    }
    const jobs = project === o.project && region === o.region ? o.scheduler.jobs() : [];
    if (!job) {
      if (req.method !== 'GET') return false;
      send(res, 200, { jobs: jobs.map((j) => jobView(o.project, o.region, j)) });
      return true;
    }
    const found = jobs.find((j) => j.name === job);
    if (!found) {
      error(res, 404, 'NOT_FOUND', `Job not found: projects/${project}/locations/${region}/jobs/${job}.`);
      return true;
    }
    if (verb === 'pause' && req.method === 'POST') o.scheduler.pause(job);
    else if (verb === 'resume' && req.method === 'POST') o.scheduler.resume(job);
    else if (verb !== undefined || req.method !== 'GET') return false;
    const after = o.scheduler.jobs().find((j) => j.name === job) as JobState;
    send(res, 200, jobView(o.project, o.region, after));
    return true;
  };
}
