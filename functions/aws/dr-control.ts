/**
 * Lambda `drControl` (docs/dr-executor.md "Operations"): `POST /dr/{service}/controls` on the HTTP
 * API with IAM auth (and `GET /dr/{service}/run`: the executor's run as stored, which `dr drill --apply`
 * follows), an operator's pause, resume or approval of the deployed plan, recorded in the
 * AWS copy of the signal log (functions/aws/signal-log.ts `DRCTL#`) where the plan's traffic switch
 * is on AWS. The caller is the IAM principal API Gateway verified
 * (`requestContext.authorizer.iam.userArn`), never a field of the body: it is the control's `by`.
 *
 * The control is taken by the rules both clouds share (functions/core/dr/control-taking.ts
 * `takeControl`): checked without replaying the signal log (an approval names the epoch of the
 * executor's run awaiting it, as stored, before its deadline; a pause needs the plan not paused, a
 * resume needs it paused, by the recorded controls), refused with 409 naming the field, and recorded
 * with a conditional write at the next number: a control racing it is checked again against the log
 * that holds the other. A request retried with the same `idempotency-key` finds its control
 * recorded and records nothing. Then the decision hook runs (./dr-decide.ts): the decider sees the control at once, an approval
 * lets the move through at the next epoch (its execution started), a pause holds the decider. A run
 * under way takes the pause or the resume from the log at the executor's next input
 * (./dr-executor.ts).
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { type Clock, systemClock } from '#core/clock.ts';
import {
  type ControlAnswer,
  ControlRefusedError,
  deployedPlan,
  takeControl,
} from '#core/dr/control-taking.ts';
import { parseControlRequest } from '#core/dr/controls.ts';
import { executorCloud, type Run } from '#core/dr/executor.ts';
import type { DrPlan } from '#core/dr/plan.ts';
import { NotFoundError, ValidationError } from '#core/errors.ts';
import { errorToHttp, type HttpAnswer } from '#core/link/http-errors.ts';
import { need } from '#core/link/settings.ts';
import { type DecideDeps, decideAndStart, decisionHookFromEnv } from './dr-decide.ts';
import { embeddedDrPlan } from './dr-plan.ts';
import { EventBridgeSink } from './event-sink.ts';
import type { HttpApiEvent } from './intake.ts';
import { DynamoDbSignalLog } from './signal-log.ts';

/** The routes this function serves: a control, and the executor's run as stored (a drill follows it). */
export const DR_CONTROL_ROUTE = 'POST /dr/{service}/controls';
export const DR_RUN_ROUTE = 'GET /dr/{service}/run';

export { type ControlAnswer, ControlRefusedError };

export interface DrControlDeps {
  plan: DrPlan | undefined;
  log: Pick<DynamoDbSignalLog, 'controls' | 'recordControl'>;
  clock: Clock;
  /** The decision hook, run once the control is recorded. */
  decide?: DecideDeps;
}

const ok = (statusCode: number, body: ControlAnswer | { run: Run | null }): HttpAnswer => ({
  statusCode,
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify(body),
});

/** One request of the route: the control checked, recorded once, the decider run; errors as HTTP answers. */
export async function drControlRoute(deps: DrControlDeps, event: HttpApiEvent): Promise<HttpAnswer> {
  try {
    return await control(deps, event);
  } catch (e) {
    return errorToHttp(e, event.requestContext.requestId);
  }
}

async function control(deps: DrControlDeps, event: HttpApiEvent): Promise<HttpAnswer> {
  if (event.routeKey !== DR_CONTROL_ROUTE && event.routeKey !== DR_RUN_ROUTE)
    throw new NotFoundError(`no route ${event.routeKey}`);
  const by = event.requestContext.authorizer?.iam?.userArn;
  // The route's IAM auth guarantees a principal; without one the route is misconfigured.
  if (!by) throw new Error('route without verified caller: the platform passed no principal');
  const service = event.pathParameters?.service ?? '';
  const taking = {
    plan: deps.plan,
    planSetting: 'CROSSLINK_DR_PLAN_FILE at packaging',
    log: deps.log,
    clock: deps.clock,
  };
  const plan = deployedPlan(taking, service);
  if (executorCloud(plan) !== 'aws')
    throw new ControlRefusedError(
      `service: ${service}'s traffic switch is on ${executorCloud(plan)}, which executes it: its controls are taken there, not in the AWS log`,
    );
  if (event.routeKey === DR_RUN_ROUTE)
    return ok(200, { run: deps.decide ? ((await deps.decide.runs.current(service))?.run ?? null) : null });
  const request = parseControlRequest(parseBody(event));
  const key = event.headers?.['idempotency-key'];
  const decide = deps.decide;
  const { created, ...answer } = await takeControl(
    {
      ...taking,
      run: async (s) => (decide ? ((await decide.runs.current(s))?.run ?? null) : null),
      decide: async () => (decide ? (await decideAndStart(decide)).decisions : []),
    },
    { service, request, by, ...(key !== undefined && { key }) },
  );
  return ok(created ? 201 : 200, answer);
}

function parseBody(event: HttpApiEvent): unknown {
  const text =
    event.body && event.isBase64Encoded ? Buffer.from(event.body, 'base64').toString('utf8') : event.body;
  if (!text) throw new ValidationError([{ path: '(body)', reason: 'is required: {"control": "..."}' }]);
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new ValidationError([{ path: '(body)', reason: `is not JSON: ${(e as Error).message}` }]);
  }
}

let cached: DrControlDeps | undefined;

/** The function's dependencies from its environment, once per cold start. */
export function drControlDepsFromEnv(
  env: NodeJS.ProcessEnv = process.env,
  plan: DrPlan | undefined = embeddedDrPlan(),
  clock: Clock = systemClock,
): DrControlDeps {
  if (cached) return cached;
  const region = need(env, 'AWS_REGION');
  const dynamo = new DynamoDBClient({ region });
  const log = new DynamoDbSignalLog(dynamo, need(env, 'CROSSLINK_TABLE'));
  const decide = decisionHookFromEnv(env, {
    plan,
    log,
    dynamo,
    bus: new EventBridgeSink(new EventBridgeClient({ region }), { busName: need(env, 'CROSSLINK_BUS') }),
    origin: { cloud: 'aws', accountId: need(env, 'CROSSLINK_ACCOUNT_ID'), region },
    clock,
  });
  cached = { plan, log, clock, ...(decide && { decide }) };
  return cached;
}
