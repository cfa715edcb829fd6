/**
 * The Task state: what a Lambda task (a function ARN, `arn:aws:states:::lambda:invoke`, or its
 * `.waitForTaskToken` form) schedules, invokes and answers, with its timeout, heartbeat and task
 * token. Kept apart from the engine (interpreter.ts) because it is the one state that talks to
 * another service and the one whose outcome several clocks race for.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { TimerClock } from '../../clock.ts';
import { numberAt, template } from './data-flow.ts';
import { type StateDef, taskKind } from './definition.ts';
import {
  Cancelled,
  type Execution,
  type LambdaInvoker,
  type LambdaRequest,
  type LambdaResponse,
  type PendingTask,
  type RunCtx,
  StatesError,
  TaskTokenError,
  type Thread,
} from './execution.ts';

/** What a Task state needs of the engine that runs it. */
export interface TaskHost {
  clock: TimerClock;
  region: string;
  invoke: LambdaInvoker;
  /** Appends a history event to the thread (see the engine's `#event`). */
  event(exec: Execution, thread: Thread, type: string, key?: string, details?: unknown): void;
  /** Parks a task token until SendTask* answers it. */
  park(token: string, pending: PendingTask): void;
  /** Closes a token: answering it later is TaskTimedOut. */
  closeToken(exec: Execution, token: string): void;
}

/**
 * Runs one attempt of a Task state: schedules it (history events as the service writes them),
 * invokes the Lambda, and settles on whichever comes first of the Lambda's answer, the task token's
 * answer, the timeout and the heartbeat timeout. Retries and catchers are the caller's.
 */
export async function runTask(
  host: TaskHost,
  ctx: RunCtx,
  name: string,
  s: StateDef,
  eff: unknown,
  rawInput: unknown,
  context: (token?: string) => unknown,
): Promise<unknown> {
  const kind = taskKind(s.Resource as string);
  // Real task tokens are opaque base64 that begins "AQ"; a bare base64url token began with '-'
  // one time in 64, which a command line then read as an option.
  const token = kind === 'invoke-token' ? `AQ${randomBytes(48).toString('base64url')}` : undefined;
  const c = context(token);
  const params = s.Parameters !== undefined ? template(s.Parameters, eff, c, 'Parameters') : eff;
  const timeoutSeconds = s.TimeoutSecondsPath
    ? numberAt(s.TimeoutSecondsPath, rawInput, c, 'TimeoutSecondsPath')
    : ((s.TimeoutSeconds as number | undefined) ?? (kind === 'lambda-arn' ? undefined : 99_999_999));
  const heartbeatSeconds = s.HeartbeatSecondsPath
    ? numberAt(s.HeartbeatSecondsPath, rawInput, c, 'HeartbeatSecondsPath')
    : (s.HeartbeatSeconds as number | undefined);
  const exec = ctx.exec;
  const ev = (type: string, key: string, details: unknown) =>
    host.event(exec, ctx.thread, type, key, details);
  const resource = kind === 'invoke' ? 'invoke' : 'invoke.waitForTaskToken';
  const base = { resourceType: 'lambda', resource };
  if (kind === 'lambda-arn') {
    const details: Record<string, unknown> = {
      resource: s.Resource,
      input: JSON.stringify(params),
      inputDetails: { truncated: false },
    };
    if (timeoutSeconds !== undefined) details.timeoutInSeconds = timeoutSeconds;
    ev('LambdaFunctionScheduled', 'lambdaFunctionScheduledEventDetails', details);
  } else {
    const details: Record<string, unknown> = {
      ...base,
      region: host.region,
      parameters: JSON.stringify(params),
    };
    if (timeoutSeconds !== undefined) details.timeoutInSeconds = timeoutSeconds;
    if (heartbeatSeconds !== undefined) details.heartbeatInSeconds = heartbeatSeconds;
    ev('TaskScheduled', 'taskScheduledEventDetails', details);
  }

  const scope = ctx.scope.child();
  try {
    // Every way this attempt can end races here: the Lambda, the token, the timeout, the heartbeat.
    const outcome = await new Promise<{ ok: unknown } | { error: StatesError; timedOut?: boolean }>(
      (resolve, reject) => {
        let settled = false;
        const finish = (v: { ok: unknown } | { error: StatesError; timedOut?: boolean }) => {
          if (settled) return;
          settled = true;
          resolve(v);
        };
        scope.onCancel(() => {
          if (!settled) {
            settled = true;
            reject(new Cancelled());
          }
        });
        if (timeoutSeconds !== undefined) {
          const t = host.clock.at(host.clock.now() + timeoutSeconds * 1000, () =>
            finish({
              error: new StatesError(
                'States.Timeout',
                `The task '${name}' exceeded its TimeoutSeconds of ${timeoutSeconds}`,
              ),
              timedOut: true,
            }),
          );
          scope.onCancel(() => t.cancel());
        }
        let heartbeatTimer: { cancel(): void } | undefined;
        const armHeartbeat = () => {
          heartbeatTimer?.cancel();
          if (heartbeatSeconds === undefined || kind !== 'invoke-token') return;
          heartbeatTimer = host.clock.at(host.clock.now() + heartbeatSeconds * 1000, () =>
            finish({
              error: new StatesError(
                'States.HeartbeatTimeout',
                `The task '${name}' sent no heartbeat for ${heartbeatSeconds} seconds`,
              ),
              timedOut: true,
            }),
          );
        };
        scope.onCancel(() => heartbeatTimer?.cancel());

        if (kind === 'lambda-arn') {
          ev('LambdaFunctionStarted', 'lambdaFunctionStartedEventDetails', undefined);
        } else {
          ev('TaskStarted', 'taskStartedEventDetails', base);
        }
        if (token !== undefined) {
          exec.openTokens.add(token);
          host.park(token, {
            token,
            execution: exec,
            settle: (r) => {
              if ('output' in r) {
                let parsed: unknown;
                try {
                  parsed = JSON.parse(r.output);
                } catch {
                  throw new TaskTokenError('InvalidToken', 'the output is not JSON');
                }
                finish({ ok: parsed });
              } else finish({ error: new StatesError(r.error, r.cause) });
              host.closeToken(exec, token);
            },
            heartbeat: armHeartbeat,
          });
          scope.onCancel(() => host.closeToken(exec, token));
          armHeartbeat();
        }

        const request = lambdaRequest(
          kind as 'lambda-arn' | 'invoke' | 'invoke-token',
          s.Resource as string,
          params,
        );
        host.invoke({ ...request, caller: { roleArn: exec.machine.roleArn, execution: exec.name } }).then(
          (res) => {
            if (res.functionError) {
              // The function's own error name (`Runtime.ExitError` when its runtime died,
              // `Sandbox.Timedout` when it ran out of time); an error payload that names none is
              // `Lambda.Unknown`, as Step Functions reports an unhandled Lambda error.
              const p = res.payload as { errorType?: unknown } | null | undefined;
              const name =
                typeof p?.errorType === 'string' && p.errorType !== '' ? p.errorType : 'Lambda.Unknown';
              finish({ error: new StatesError(name, JSON.stringify(res.payload)) });
            } else if (kind === 'lambda-arn') finish({ ok: res.payload });
            else if (kind === 'invoke') finish({ ok: invokeResult(res) });
            else if (!settled)
              ev('TaskSubmitted', 'taskSubmittedEventDetails', {
                ...base,
                output: JSON.stringify(invokeResult(res)),
                outputDetails: { truncated: false },
              });
          },
          (err: { name?: string; message?: string }) =>
            finish({
              error: new StatesError(
                `Lambda.${err?.name ?? 'ServiceException'}`,
                err?.message ?? String(err),
              ),
            }),
        );
      },
    );

    if ('ok' in outcome) {
      const out = JSON.stringify(outcome.ok);
      if (kind === 'lambda-arn')
        ev('LambdaFunctionSucceeded', 'lambdaFunctionSucceededEventDetails', {
          output: out,
          outputDetails: { truncated: false },
        });
      else
        ev('TaskSucceeded', 'taskSucceededEventDetails', {
          ...base,
          output: out,
          outputDetails: { truncated: false },
        });
      return outcome.ok;
    }
    const { error, timedOut } = outcome;
    const details = { error: error.error, cause: error.cause };
    if (kind === 'lambda-arn') {
      ev(
        timedOut ? 'LambdaFunctionTimedOut' : 'LambdaFunctionFailed',
        timedOut ? 'lambdaFunctionTimedOutEventDetails' : 'lambdaFunctionFailedEventDetails',
        details,
      );
    } else {
      ev(
        timedOut ? 'TaskTimedOut' : 'TaskFailed',
        timedOut ? 'taskTimedOutEventDetails' : 'taskFailedEventDetails',
        { ...base, ...details },
      );
    }
    throw error;
  } finally {
    scope.cancel();
    scope.dispose();
    if (token !== undefined) host.closeToken(exec, token);
  }
}

function lambdaRequest(
  kind: 'lambda-arn' | 'invoke' | 'invoke-token',
  resource: string,
  params: unknown,
): LambdaRequest {
  if (kind === 'lambda-arn') return { functionName: resource, payload: params };
  const p = (params ?? {}) as Record<string, unknown>;
  const req: LambdaRequest = {
    functionName: String(p.FunctionName),
    payload: p.Payload === undefined ? {} : p.Payload,
  };
  if (typeof p.Qualifier === 'string') req.qualifier = p.Qualifier;
  if (p.InvocationType === 'Event') req.invocationType = 'Event';
  return req;
}

function invokeResult(res: LambdaResponse): unknown {
  const requestId = randomUUID();
  return {
    ExecutedVersion: res.executedVersion,
    Payload: res.payload,
    SdkHttpMetadata: { HttpStatusCode: 200 },
    SdkResponseMetadata: { RequestId: requestId },
    StatusCode: 200,
  };
}
