/**
 * Google's route for an operator's control of a DR plan Google executes (docs/dr-executor.md
 * "Operations"): `POST /dr/{service}/controls` on the `dr-control` function (its own account, its
 * invokers the plan's operators, gcp.yml), body `{"control": "pause" | "resume" | "approve",
 * "epoch": n}`, recorded in Google's copy of the signal log (Firestore, signal-log.ts) where the
 * plan's traffic switch is a Cloud DNS failover policy. The twin of AWS's `drControl`
 * (functions/aws/dr-control.ts): both take the control by functions/core/dr/control-taking.ts.
 *
 * - The caller is the email of the ID token Cloud Run verified (intake.ts `callerOfToken`: the
 *   token of the header Cloud Run checks, its signature replaced by Cloud Run's mark), never a field
 *   of the body: it is the control's `by`. A request without one answers 401; Cloud Run answers 401
 *   to a request without a valid token and 403 to a caller not among the function's invokers before
 *   the function runs.
 * - An approval is checked against the executor's run as stored (`drExecutors/<service>`), a pause
 *   or a resume against the recorded controls; refused with 409 `ControlRefusedError` naming the
 *   field, a malformed body with 400, one issue per field.
 * - Then the decision hook (dr-decide.ts) runs at once: a pause holds the decider; an approval lets
 *   the pending move through at the next epoch, applied to the run awaiting it through its
 *   `decision` step (the execution that opened the run carries it out). A run under way takes the
 *   pause or the resume from the log at its next step (functions/core/dr/executor-steps.ts).
 */
import type { Firestore } from '@google-cloud/firestore';
import type { Clock } from '#core/clock.ts';
import {
  type ControlAnswer,
  type ControlLog,
  ControlRefusedError,
  deployedPlan,
  takeControl,
} from '#core/dr/control-taking.ts';
import { parseControlRequest } from '#core/dr/controls.ts';
import { type DecisionHookDeps, handOnDecisions } from '#core/dr/decision-hook.ts';
import { executorCloud, type Run } from '#core/dr/executor.ts';
import type { Decision } from '#core/dr/failover-state.ts';
import type { DrPlan } from '#core/dr/plan.ts';
import { NotFoundError, ValidationError } from '#core/errors.ts';
import { errorToHttp, type HttpAnswer } from '#core/link/http-errors.ts';
import type { EventSink } from '#core/link/ports.ts';
import { gcpDecisionHookFromEnv } from './dr-decide.ts';
import { FirestoreDrExecutorStore } from './dr-executor-store.ts';
import { readDrPlanVariable } from './dr-signals.ts';
import { type StageExecutions, StartInProgressError } from './execution-starter.ts';
import { callerOfToken, type IntakeHttpRequest, verifiedAuthorization } from './intake.ts';
import { FirestoreSignalLog } from './signal-log.ts';

const ROUTE = /^\/dr\/([^/]+)\/controls\/?$/;

export interface GcpDrControlDeps {
  plan: DrPlan | undefined;
  log: ControlLog;
  clock: Clock;
  /** The executor's run (an approval is checked against it). */
  runs: Pick<FirestoreDrExecutorStore, 'current'>;
  /** The decision hook, where Google executes the plan and the workflow is named. */
  decide?: DecisionHookDeps;
}

/** The function's dependencies: the plan from CROSSLINK_DR_PLAN, the hook as dr-signals builds it. */
export function buildGcpDrControlDeps(
  env: NodeJS.ProcessEnv,
  placement: { project: string; region: string },
  clients: { firestore: Firestore; bus: EventSink; clock: Clock; executions: StageExecutions },
): GcpDrControlDeps {
  const decide = gcpDecisionHookFromEnv(env, placement, clients);
  return {
    plan: readDrPlanVariable(env),
    log: new FirestoreSignalLog(clients.firestore),
    clock: clients.clock,
    runs: new FirestoreDrExecutorStore(clients.firestore),
    ...(decide && { decide }),
  };
}

const json = (statusCode: number, body: unknown): HttpAnswer => ({
  statusCode,
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify(body),
});

const header = (headers: IntakeHttpRequest['headers'], name: string): string | undefined => {
  const v = headers[name] ?? headers[name.toLowerCase()];
  return Array.isArray(v) ? v[0] : v;
};

/** One request: the control checked, recorded once, the decider run; errors as HTTP answers. */
export async function handleDrControl(deps: GcpDrControlDeps, req: IntakeHttpRequest): Promise<HttpAnswer> {
  try {
    return await control(deps, req);
  } catch (e) {
    return errorToHttp(e, header(req.headers, 'x-cloud-trace-context')?.split('/')[0]);
  }
}

async function control(deps: GcpDrControlDeps, req: IntakeHttpRequest): Promise<HttpAnswer> {
  const match = ROUTE.exec(req.path);
  if (req.method !== 'POST' || !match)
    throw new NotFoundError(`no route ${req.method} ${req.path} (POST /dr/{service}/controls)`);
  const caller = callerOfToken(
    verifiedAuthorization({
      'x-serverless-authorization': header(req.headers, 'x-serverless-authorization'),
      authorization: header(req.headers, 'authorization'),
    }),
  );
  if (!caller)
    return json(401, {
      error: {
        code: 'Unauthenticated',
        message: 'no caller Cloud Run verified: call with an ID token whose audience is this function',
      },
    });
  let service: string;
  try {
    service = decodeURIComponent(match[1] as string);
  } catch {
    throw new ValidationError([{ path: 'service', reason: 'is not valid percent-encoding in the path' }]);
  }
  const taking = { plan: deps.plan, planSetting: 'CROSSLINK_DR_PLAN', log: deps.log, clock: deps.clock };
  const plan = deployedPlan(taking, service);
  if (executorCloud(plan) !== 'gcp')
    throw new ControlRefusedError(
      `service: ${service}'s traffic switch is on ${executorCloud(plan)}, which executes it: its controls are taken there, not in Google's log`,
    );
  const request = parseControlRequest(parseBody(req));
  // A drill's start and end are taken where AWS executes the plan (its run route serves the drill);
  // Google's executor follows no drill.
  if (request.control === 'drill')
    throw new ValidationError([
      { path: 'control', reason: 'drill is taken only for a plan AWS executes: Google does not run drills' },
    ]);
  const key = header(req.headers, 'idempotency-key');
  const hook = deps.decide;
  const { created, ...answer } = await takeControl(
    {
      ...taking,
      run: async (s): Promise<Run | null> => (await deps.runs.current(s))?.run ?? null,
      decide: () => decide(hook),
    },
    { service, request, by: caller.principal, ...(key !== undefined && { key }) },
  );
  return json(created ? 201 : 200, answer satisfies ControlAnswer);
}

/**
 * The decision hook after a control. A decision whose workflow start another invocation holds at that
 * moment (dr-signals' schedule or a push, deciding on the same log) is that invocation's to hand on:
 * the control stands recorded and the answer lists no decisions rather than an error.
 */
async function decide(hook: DecisionHookDeps | undefined): Promise<Decision[]> {
  if (!hook) return [];
  try {
    return (await handOnDecisions(hook)).decisions;
  } catch (e) {
    if (e instanceof StartInProgressError) return [];
    throw e;
  }
}

/** The body as sent (the raw text when there is one, so a body that is not JSON is named). */
function parseBody(req: IntakeHttpRequest): unknown {
  if (req.rawBody && req.rawBody.length > 0) {
    const text = req.rawBody.toString('utf8');
    try {
      return JSON.parse(text);
    } catch (e) {
      throw new ValidationError([{ path: '(body)', reason: `is not JSON: ${(e as Error).message}` }]);
    }
  }
  if (req.body === undefined || req.body === null || req.body === '')
    throw new ValidationError([{ path: '(body)', reason: 'is required: {"control": "..."}' }]);
  return req.body;
}
