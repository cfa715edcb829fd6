/**
 * The Step Functions interpreter for the JSONPath subset (see definition.ts), on the local cloud's
 * virtual clock: Wait states, Retry intervals, task timeouts and heartbeats are clock timers, so a
 * test that advances the clock by a day sees a day's worth of execution. History events carry the
 * names and detail shapes of the real service (`TaskStateEntered`, `TaskScheduled`, ...).
 *
 * We wrote our own interpreter rather than running aws-local-stepfunctions on a rewritten
 * definition: that library has no `$$.Task.Token`, a static context object and wall-clock waits,
 * so task tokens, heartbeats and history events would all have been overrides around it.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { TimerClock } from '../../clock.ts';
import { CHOICE_OPERATORS, isTimestamp, type MachineDef, type StateDef, taskKind } from './definition.ts';
import { evaluateIntrinsic, IntrinsicFailure, parseIntrinsic } from './intrinsics.ts';
import { pathExists, selectPath, setPath } from './jsonpath.ts';

export interface LambdaRequest {
  /** Name, ARN or partial ARN, optionally with a qualifier, as the state gave it. */
  functionName: string;
  payload: unknown;
  qualifier?: string;
  invocationType?: 'RequestResponse' | 'Event';
  /** The state machine's role and the execution: the invocation is authorized against the role. */
  caller?: { roleArn: string; execution: string };
}
export interface LambdaResponse {
  payload: unknown;
  executedVersion: string;
  /** Set when the function threw: the payload is `{errorType, errorMessage, trace}`. */
  functionError?: string;
}
/** Invokes a Lambda function; rejects with `{name, message}` for service errors (no such function). */
export type LambdaInvoker = (request: LambdaRequest) => Promise<LambdaResponse>;

export type ExecutionStatus = 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT' | 'ABORTED';

export interface HistoryEvent {
  timestamp: Date;
  type: string;
  id: number;
  previousEventId: number;
  [details: string]: unknown;
}

export const MAX_HISTORY_EVENTS = 25_000;
export const MAX_PAYLOAD_BYTES = 256 * 1024;

/** An error as Step Functions names it (`States.Timeout`, a Lambda's `errorType`, ...). */
export class StatesError extends Error {
  readonly error: string;
  readonly cause: string;
  constructor(error: string, cause = '') {
    super(`${error}: ${cause}`);
    this.name = 'StatesError';
    this.error = error;
    this.cause = cause;
  }
}

/** Thrown into work that was cancelled (StopExecution, a sibling branch failed, a timeout). */
class Cancelled extends Error {
  constructor() {
    super('cancelled');
    this.name = 'Cancelled';
  }
}

/** Answers to SendTask* that the real API gives as error codes. */
export class TaskTokenError extends Error {
  readonly code: 'InvalidToken' | 'TaskTimedOut' | 'TaskDoesNotExist';
  constructor(code: TaskTokenError['code'], message: string) {
    super(message);
    this.name = 'TaskTokenError';
    this.code = code;
  }
}

/** A cancellation tree: aborting a scope aborts its children and runs their cleanups. */
class Scope {
  cancelled = false;
  readonly #cleanups = new Set<() => void>();
  readonly #children = new Set<Scope>();
  readonly #parent: Scope | undefined;
  constructor(parent?: Scope) {
    this.#parent = parent;
    if (parent) parent.#children.add(this);
    if (parent?.cancelled) this.cancelled = true;
  }
  child(): Scope {
    return new Scope(this);
  }
  onCancel(fn: () => void): () => void {
    if (this.cancelled) {
      fn();
      return () => {};
    }
    this.#cleanups.add(fn);
    return () => this.#cleanups.delete(fn);
  }
  cancel(): void {
    if (this.cancelled) return;
    this.cancelled = true;
    for (const c of this.#children) c.cancel();
    for (const fn of this.#cleanups) fn();
    this.#cleanups.clear();
  }
  dispose(): void {
    if (this.#parent) this.#parent.#children.delete(this);
  }
  check(): void {
    if (this.cancelled) throw new Cancelled();
  }
}

export interface MachineRef {
  arn: string;
  name: string;
  definition: MachineDef;
  roleArn: string;
}

interface PendingTask {
  token: string;
  execution: Execution;
  settle(result: { output: string } | { error: string; cause: string }): void;
  heartbeat(): void;
}

/** One run of a state machine. */
export class Execution {
  readonly arn: string;
  readonly name: string;
  readonly machine: MachineRef;
  readonly input: string;
  readonly startDate: Date;
  status: ExecutionStatus = 'RUNNING';
  stopDate?: Date;
  output?: string;
  error?: string;
  cause?: string;
  readonly history: HistoryEvent[] = [];
  /** Resolves when the execution has ended, whatever the outcome. */
  readonly done: Promise<void>;
  readonly root = new Scope();
  /** Tokens this execution handed out and that are still open. */
  readonly openTokens = new Set<string>();
  #resolveDone!: () => void;
  constructor(arn: string, name: string, machine: MachineRef, input: string, start: number) {
    this.arn = arn;
    this.name = name;
    this.machine = machine;
    this.input = input;
    this.startDate = new Date(start);
    this.done = new Promise((r) => {
      this.#resolveDone = r;
    });
  }
  /** @internal */
  finish(): void {
    this.#resolveDone();
  }
}

/** A thread of events inside one execution (a branch, an iteration): for previousEventId. */
interface Thread {
  last: number;
}

interface RunCtx {
  exec: Execution;
  scope: Scope;
  thread: Thread;
  /** `$$.Map.Item` inside a Map iteration. */
  mapItem?: { Index: number; Value: unknown };
}

export interface EngineOptions {
  clock: TimerClock;
  invokeLambda: LambdaInvoker;
  region: string;
  /** Called after every status change (the API layer mirrors it, e.g. for metrics). */
  onEnd?(execution: Execution): void;
  random?: () => number;
}

export class StepFunctionsEngine {
  readonly #clock: TimerClock;
  readonly #invoke: LambdaInvoker;
  readonly #region: string;
  readonly #onEnd: ((e: Execution) => void) | undefined;
  readonly #random: () => number;
  readonly #pending = new Map<string, PendingTask>();
  /** Tokens that were valid once: answering them now is TaskTimedOut, not InvalidToken. */
  readonly #closed = new Set<string>();

  constructor(options: EngineOptions) {
    this.#clock = options.clock;
    this.#invoke = options.invokeLambda;
    this.#region = options.region;
    this.#onEnd = options.onEnd;
    this.#random = options.random ?? Math.random;
  }

  /** Starts an execution; it runs on its own (await `execution.done` to wait for the end). */
  start(machine: MachineRef, name: string, input: string, executionArn: string): Execution {
    const exec = new Execution(executionArn, name, machine, input, this.#clock.now());
    const thread: Thread = { last: 0 };
    this.#event(exec, thread, 'ExecutionStarted', 'executionStartedEventDetails', {
      input,
      inputDetails: { truncated: false },
      roleArn: machine.roleArn,
    });
    const timeout = machine.definition.TimeoutSeconds;
    let timer: { cancel(): void } | undefined;
    if (timeout) {
      timer = this.#clock.at(exec.startDate.getTime() + timeout * 1000, () => {
        if (exec.status !== 'RUNNING') return;
        this.#end(exec, 'TIMED_OUT', thread, 'ExecutionTimedOut', 'executionTimedOutEventDetails', {
          error: 'States.Timeout',
          cause: `The execution exceeded its TimeoutSeconds of ${timeout}`,
        });
      });
    }
    const run = async () => {
      try {
        const output = await this.#runMachine(
          { exec, scope: exec.root, thread },
          machine.definition,
          JSON.parse(input),
        );
        if (exec.status !== 'RUNNING') return;
        const text = JSON.stringify(output);
        this.#end(exec, 'SUCCEEDED', thread, 'ExecutionSucceeded', 'executionSucceededEventDetails', {
          output: text,
          outputDetails: { truncated: false },
        });
        exec.output = text;
      } catch (err) {
        if (exec.status !== 'RUNNING') return;
        const e =
          err instanceof StatesError ? err : new StatesError('States.Runtime', (err as Error).message);
        exec.error = e.error;
        exec.cause = e.cause;
        this.#end(exec, 'FAILED', thread, 'ExecutionFailed', 'executionFailedEventDetails', {
          error: e.error,
          cause: e.cause,
        });
      } finally {
        timer?.cancel();
      }
    };
    // Start on the next tick so the caller gets the execution (and its ARN) first, as StartExecution does.
    queueMicrotask(() => void run());
    return exec;
  }

  /** StopExecution: the execution ends ABORTED; waiting tasks are closed. */
  stop(exec: Execution, error?: string, cause?: string): void {
    if (exec.status !== 'RUNNING') return;
    const details: Record<string, string> = {};
    if (error !== undefined) details.error = error;
    if (cause !== undefined) details.cause = cause;
    exec.error = error;
    exec.cause = cause;
    this.#end(
      exec,
      'ABORTED',
      { last: exec.history.length },
      'ExecutionAborted',
      'executionAbortedEventDetails',
      details,
    );
  }

  sendTaskSuccess(token: string, output: string): void {
    this.#pendingFor(token).settle({ output });
  }
  sendTaskFailure(token: string, error = '', cause = ''): void {
    this.#pendingFor(token).settle({ error, cause });
  }
  sendTaskHeartbeat(token: string): void {
    this.#pendingFor(token).heartbeat();
  }

  #pendingFor(token: string): PendingTask {
    const p = this.#pending.get(token);
    if (p) return p;
    if (this.#closed.has(token))
      throw new TaskTokenError(
        'TaskTimedOut',
        'Task Timed Out: the task is no longer waiting for this token',
      );
    throw new TaskTokenError('InvalidToken', 'Invalid Token: the token was not issued by this service');
  }

  #end(
    exec: Execution,
    status: ExecutionStatus,
    thread: Thread,
    type: string,
    key: string,
    details: Record<string, unknown>,
  ): void {
    exec.status = status;
    exec.stopDate = new Date(this.#clock.now());
    this.#event(exec, thread, type, key, details, true);
    exec.root.cancel();
    for (const t of exec.openTokens) {
      this.#pending.delete(t);
      this.#closed.add(t);
    }
    exec.openTokens.clear();
    exec.finish();
    this.#onEnd?.(exec);
  }

  #event(
    exec: Execution,
    thread: Thread,
    type: string,
    key?: string,
    details?: unknown,
    final = false,
  ): void {
    if (!final && exec.history.length >= MAX_HISTORY_EVENTS - 1) {
      throw new StatesError(
        'States.Runtime',
        `The execution reached the maximum number of history events (${MAX_HISTORY_EVENTS}).`,
      );
    }
    const ev: HistoryEvent = {
      timestamp: new Date(this.#clock.now()),
      type,
      id: exec.history.length + 1,
      previousEventId: thread.last,
    };
    if (key) ev[key] = details;
    exec.history.push(ev);
    thread.last = ev.id;
  }

  async #runMachine(
    ctx: RunCtx,
    def: { StartAt: string; States: Record<string, StateDef> },
    input: unknown,
  ): Promise<unknown> {
    let name = def.StartAt;
    let data = input;
    for (;;) {
      ctx.scope.check();
      const state = def.States[name] as StateDef;
      const r = await this.#runState(ctx, name, state, data);
      if (r.next === undefined) return r.output;
      name = r.next;
      data = r.output;
    }
  }

  #context(ctx: RunCtx, stateName: string, entered: number, retryCount: number, token?: string): unknown {
    const e = ctx.exec;
    const c: Record<string, unknown> = {
      Execution: {
        Id: e.arn,
        Input: JSON.parse(e.input),
        Name: e.name,
        RoleArn: e.machine.roleArn,
        StartTime: e.startDate.toISOString(),
        RedriveCount: 0,
      },
      StateMachine: { Id: e.machine.arn, Name: e.machine.name },
      State: { EnteredTime: new Date(entered).toISOString(), Name: stateName, RetryCount: retryCount },
    };
    if (token !== undefined) c.Task = { Token: token };
    if (ctx.mapItem) c.Map = { Item: ctx.mapItem };
    return c;
  }

  async #runState(
    ctx: RunCtx,
    name: string,
    s: StateDef,
    input: unknown,
  ): Promise<{ output: unknown; next?: string }> {
    const type = s.Type as string;
    const entered = this.#clock.now();
    const lower = type === 'Succeed' || type === 'Fail' ? type : type;
    this.#event(ctx.exec, ctx.thread, `${lower}StateEntered`, 'stateEnteredEventDetails', {
      name,
      input: JSON.stringify(input),
      inputDetails: { truncated: false },
    });
    const exit = (output: unknown, next?: string) => {
      checkSize(output, name);
      this.#event(ctx.exec, ctx.thread, `${type}StateExited`, 'stateExitedEventDetails', {
        name,
        output: JSON.stringify(output),
        outputDetails: { truncated: false },
      });
      return next === undefined ? { output } : { output, next };
    };
    const next = s.End === true ? undefined : (s.Next as string | undefined);
    const context = (retry = 0, token?: string) => this.#context(ctx, name, entered, retry, token);

    switch (type) {
      case 'Pass': {
        const eff = applyInputPath(s, input, context());
        const result =
          s.Result !== undefined
            ? s.Result
            : s.Parameters !== undefined
              ? template(s.Parameters, eff, context(), 'Parameters')
              : eff;
        return exit(applyOutput(s, input, result, context()), next);
      }
      case 'Succeed':
        return exit(applyOutputPath(s, applyInputPath(s, input, context())));
      case 'Fail': {
        const error = s.ErrorPath ? stringAt(s.ErrorPath, input, context(), 'ErrorPath') : s.Error;
        const cause = s.CausePath ? stringAt(s.CausePath, input, context(), 'CausePath') : s.Cause;
        throw new StatesError(error ?? '', cause ?? '');
      }
      case 'Choice': {
        const eff = applyInputPath(s, input, context());
        const c = context();
        let target: string | undefined;
        for (const rule of s.Choices as StateDef[]) {
          if (evaluateRule(rule, eff, c)) {
            target = rule.Next as string;
            break;
          }
        }
        target ??= s.Default as string | undefined;
        if (target === undefined) {
          throw new StatesError(
            'States.NoChoiceMatched',
            `No Choice Rule matched and no Default in state '${name}'`,
          );
        }
        return exit(applyOutputPath(s, eff), target);
      }
      case 'Wait': {
        const eff = applyInputPath(s, input, context());
        let due: number;
        if (s.Seconds !== undefined) due = entered + (s.Seconds as number) * 1000;
        else if (s.Timestamp !== undefined) due = Date.parse(s.Timestamp as string);
        else if (s.SecondsPath !== undefined) {
          const v = selectPath(s.SecondsPath as string, eff, context());
          if (!(Number.isInteger(v) && (v as number) >= 0)) {
            throw new StatesError(
              'States.Runtime',
              `SecondsPath '${s.SecondsPath}' did not select a non-negative integer in state '${name}'`,
            );
          }
          due = entered + (v as number) * 1000;
        } else {
          const v = selectPath(s.TimestampPath as string, eff, context());
          if (!isTimestamp(v)) {
            throw new StatesError(
              'States.Runtime',
              `TimestampPath '${s.TimestampPath}' did not select a timestamp in state '${name}'`,
            );
          }
          due = Date.parse(v);
        }
        await this.#sleepUntil(ctx.scope, due);
        return exit(applyOutputPath(s, eff), next);
      }
      case 'Task':
      case 'Parallel':
      case 'Map':
        return this.#runWithRetry(ctx, name, s, input, context, exit, next);
    }
    throw new StatesError('States.Runtime', `unknown state type ${type}`);
  }

  async #runWithRetry(
    ctx: RunCtx,
    name: string,
    s: StateDef,
    input: unknown,
    context: (retry?: number, token?: string) => unknown,
    exit: (output: unknown, next?: string) => { output: unknown; next?: string },
    next: string | undefined,
  ): Promise<{ output: unknown; next?: string }> {
    const retriers = (s.Retry ?? []) as StateDef[];
    const counts = retriers.map(() => 0);
    let retries = 0;
    for (;;) {
      try {
        const eff = applyInputPath(s, input, context(retries));
        let result: unknown;
        if (s.Type === 'Task')
          result = await this.#runTask(ctx, name, s, eff, input, (token) => context(retries, token));
        else if (s.Type === 'Parallel') result = await this.#runParallel(ctx, name, s, eff, context(retries));
        else result = await this.#runMap(ctx, name, s, eff, context(retries));
        if (s.ResultSelector !== undefined)
          result = template(s.ResultSelector, result, context(retries), 'ResultSelector');
        return exit(applyOutput(s, input, result, context(retries)), next);
      } catch (err) {
        if (err instanceof Cancelled) throw err;
        const e =
          err instanceof StatesError ? err : new StatesError('States.Runtime', (err as Error).message);
        const k = retriers.findIndex((r) => matches(r.ErrorEquals as string[], e.error));
        const retrier = retriers[k];
        if (retrier && (counts[k] as number) < (retrier.MaxAttempts ?? 3)) {
          const interval = (retrier.IntervalSeconds ?? 1) * 1000;
          let delay = interval * (retrier.BackoffRate ?? 2) ** (counts[k] as number);
          if (retrier.MaxDelaySeconds !== undefined) delay = Math.min(delay, retrier.MaxDelaySeconds * 1000);
          if (retrier.JitterStrategy === 'FULL') delay = Math.floor(this.#random() * delay);
          counts[k] = (counts[k] as number) + 1;
          retries++;
          await this.#sleepUntil(ctx.scope, this.#clock.now() + delay);
          continue;
        }
        const catcher = ((s.Catch ?? []) as StateDef[]).find((c) =>
          matches(c.ErrorEquals as string[], e.error),
        );
        if (catcher) {
          const resultPath = catcher.ResultPath === undefined ? '$' : catcher.ResultPath;
          const errorOutput = { Error: e.error, Cause: e.cause };
          const output = resultPath === null ? input : resultPathSet(resultPath, input, errorOutput);
          return exit(output, catcher.Next as string);
        }
        throw e;
      }
    }
  }

  async #runTask(
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
      this.#event(exec, ctx.thread, type, key, details);
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
        region: this.#region,
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
            const t = this.#clock.at(this.#clock.now() + timeoutSeconds * 1000, () =>
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
            heartbeatTimer = this.#clock.at(this.#clock.now() + heartbeatSeconds * 1000, () =>
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
            this.#pending.set(token, {
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
                this.#closeToken(exec, token);
              },
              heartbeat: armHeartbeat,
            });
            scope.onCancel(() => this.#closeToken(exec, token));
            armHeartbeat();
          }

          const request = lambdaRequest(
            kind as 'lambda-arn' | 'invoke' | 'invoke-token',
            s.Resource as string,
            params,
          );
          this.#invoke({ ...request, caller: { roleArn: exec.machine.roleArn, execution: exec.name } }).then(
            (res) => {
              if (res.functionError) {
                const p = res.payload as { errorType?: string } | undefined;
                finish({
                  error: new StatesError(p?.errorType ?? res.functionError, JSON.stringify(res.payload)),
                });
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
      if (token !== undefined) this.#closeToken(exec, token);
    }
  }

  #closeToken(exec: Execution, token: string): void {
    if (this.#pending.delete(token)) this.#closed.add(token);
    exec.openTokens.delete(token);
  }

  async #runParallel(ctx: RunCtx, name: string, s: StateDef, eff: unknown, c: unknown): Promise<unknown> {
    const input = s.Parameters !== undefined ? template(s.Parameters, eff, c, 'Parameters') : eff;
    this.#event(ctx.exec, ctx.thread, 'ParallelStateStarted');
    const scope = ctx.scope.child();
    try {
      const results = await Promise.all(
        (s.Branches as StateDef[]).map((b) =>
          this.#runMachine(
            { ...ctx, scope, thread: { last: ctx.thread.last } },
            b as MachineDef,
            input,
          ).catch((err) => {
            scope.cancel();
            throw err;
          }),
        ),
      );
      this.#event(ctx.exec, ctx.thread, 'ParallelStateSucceeded');
      return results;
    } catch (err) {
      if (err instanceof Cancelled && !ctx.scope.cancelled)
        throw new StatesError('States.Runtime', `branch of '${name}' cancelled`);
      if (!(err instanceof Cancelled)) {
        const e = err instanceof StatesError ? err : new StatesError('States.Runtime', String(err));
        this.#event(ctx.exec, ctx.thread, 'ParallelStateFailed', 'stateFailedEventDetails', {
          error: e.error,
          cause: e.cause,
        });
      }
      throw err;
    } finally {
      scope.dispose();
    }
  }

  async #runMap(ctx: RunCtx, name: string, s: StateDef, eff: unknown, c: unknown): Promise<unknown> {
    const items = s.ItemsPath ? selectPath(s.ItemsPath, eff, c) : eff;
    if (!Array.isArray(items)) {
      throw new StatesError('States.Runtime', `ItemsPath of state '${name}' did not select an array`);
    }
    const processor = (s.ItemProcessor ?? s.Iterator) as MachineDef;
    const selector = s.ItemSelector ?? s.Parameters;
    this.#event(ctx.exec, ctx.thread, 'MapStateStarted', 'mapStateStartedEventDetails', {
      length: items.length,
    });
    const scope = ctx.scope.child();
    const limit = (s.MaxConcurrency as number | undefined) || Number.POSITIVE_INFINITY;
    const results: unknown[] = new Array(items.length);
    let nextIndex = 0;
    let failure: unknown;
    const worker = async () => {
      while (nextIndex < items.length && failure === undefined) {
        const index = nextIndex++;
        const mapItem = { Index: index, Value: items[index] };
        const itemCtx: RunCtx = { ...ctx, scope, thread: { last: ctx.thread.last }, mapItem };
        const itemContext = { ...(c as Record<string, unknown>), Map: { Item: mapItem } };
        const itemInput =
          selector !== undefined ? template(selector, eff, itemContext, 'ItemSelector') : items[index];
        this.#event(ctx.exec, itemCtx.thread, 'MapIterationStarted', 'mapIterationStartedEventDetails', {
          name,
          index,
        });
        try {
          results[index] = await this.#runMachine(itemCtx, processor, itemInput);
          this.#event(
            ctx.exec,
            itemCtx.thread,
            'MapIterationSucceeded',
            'mapIterationSucceededEventDetails',
            { name, index },
          );
        } catch (err) {
          if (err instanceof Cancelled) {
            this.#event(ctx.exec, itemCtx.thread, 'MapIterationAborted', 'mapIterationAbortedEventDetails', {
              name,
              index,
            });
          } else {
            this.#event(ctx.exec, itemCtx.thread, 'MapIterationFailed', 'mapIterationFailedEventDetails', {
              name,
              index,
            });
            failure ??= err;
            scope.cancel();
          }
          if (ctx.scope.cancelled) throw err;
        }
      }
    };
    try {
      await Promise.all(Array.from({ length: Math.min(limit, Math.max(items.length, 1)) }, worker));
    } finally {
      scope.dispose();
    }
    ctx.scope.check();
    if (failure !== undefined) {
      const e = failure instanceof StatesError ? failure : new StatesError('States.Runtime', String(failure));
      this.#event(ctx.exec, ctx.thread, 'MapStateFailed');
      throw e;
    }
    this.#event(ctx.exec, ctx.thread, 'MapStateSucceeded');
    return results;
  }

  #sleepUntil(scope: Scope, due: number): Promise<void> {
    return new Promise((resolve, reject) => {
      scope.check();
      let off = () => {};
      const t = this.#clock.at(due, () => {
        off();
        resolve();
      });
      off = scope.onCancel(() => {
        t.cancel();
        reject(new Cancelled());
      });
    });
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

/** ErrorEquals matching: States.ALL and States.TaskFailed are wildcards, but never for States.Runtime. */
function matches(errorEquals: string[], error: string): boolean {
  if (error === 'States.Runtime' || error === 'States.DataLimitExceeded') return false;
  return errorEquals.some(
    (e) => e === error || e === 'States.ALL' || (e === 'States.TaskFailed' && error !== 'States.Timeout'),
  );
}

function checkSize(v: unknown, state: string): void {
  const size = Buffer.byteLength(JSON.stringify(v) ?? '');
  if (size > MAX_PAYLOAD_BYTES) {
    throw new StatesError(
      'States.DataLimitExceeded',
      `The state/task '${state}' returned a result of ${size} bytes, more than the maximum of ${MAX_PAYLOAD_BYTES}`,
    );
  }
}

function applyInputPath(s: StateDef, input: unknown, context: unknown): unknown {
  if (s.InputPath === null) return {};
  if (s.InputPath === undefined || s.InputPath === '$') return input;
  return mustSelect(s.InputPath, input, context, 'InputPath');
}

function applyOutputPath(s: StateDef, output: unknown): unknown {
  if (s.OutputPath === null) return {};
  if (s.OutputPath === undefined || s.OutputPath === '$') return output;
  return mustSelect(s.OutputPath, output, undefined, 'OutputPath');
}

/** ResultPath then OutputPath. */
function applyOutput(s: StateDef, rawInput: unknown, result: unknown, _context: unknown): unknown {
  let combined: unknown;
  if (s.ResultPath === null) combined = rawInput;
  else if (s.ResultPath === undefined || s.ResultPath === '$') combined = result;
  else combined = resultPathSet(s.ResultPath, rawInput, result);
  return applyOutputPath(s, combined);
}

function resultPathSet(path: string, input: unknown, value: unknown): unknown {
  try {
    return setPath(path, input, value);
  } catch (err) {
    throw new StatesError('States.ResultPathMatchFailure', (err as Error).message);
  }
}

function mustSelect(path: string, data: unknown, context: unknown, field: string): unknown {
  const v = selectPath(path, data, context);
  if (v === undefined) {
    throw new StatesError(
      'States.Runtime',
      `Invalid path '${path}' in ${field}: the path could not be found in the input '${JSON.stringify(data)}'`,
    );
  }
  return v;
}

function stringAt(path: string, data: unknown, context: unknown, field: string): string {
  const v = mustSelect(path, data, context, field);
  if (typeof v !== 'string')
    throw new StatesError('States.Runtime', `${field} '${path}' did not select a string`);
  return v;
}

function numberAt(path: string, data: unknown, context: unknown, field: string): number {
  const v = mustSelect(path, data, context, field);
  if (!(Number.isInteger(v) && (v as number) > 0))
    throw new StatesError('States.Runtime', `${field} '${path}' did not select a positive integer`);
  return v as number;
}

/** Evaluates a payload template (Parameters, ResultSelector, ItemSelector). */
export function template(t: unknown, input: unknown, context: unknown, field: string): unknown {
  if (Array.isArray(t)) return t.map((x) => template(x, input, context, field));
  if (t === null || typeof t !== 'object') return t;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(t)) {
    if (k.endsWith('.$') && typeof v === 'string') {
      const key = k.slice(0, -2);
      if (v.startsWith('States.')) {
        try {
          out[key] = evaluateIntrinsic(parseIntrinsic(v), input, context);
        } catch (err) {
          if (err instanceof IntrinsicFailure) throw new StatesError('States.IntrinsicFailure', err.message);
          throw err;
        }
      } else {
        const sel = selectPath(v, input, context);
        if (sel === undefined) {
          throw new StatesError(
            'States.Runtime',
            `The JSONPath '${v}' specified for the field '${k}' in ${field} could not be found in the input '${JSON.stringify(input)}'`,
          );
        }
        out[key] = sel;
      }
    } else out[k] = template(v, input, context, field);
  }
  return out;
}

// ---------- Choice rules ----------

export function evaluateRule(rule: StateDef, input: unknown, context: unknown): boolean {
  if (Array.isArray(rule.And)) return (rule.And as StateDef[]).every((r) => evaluateRule(r, input, context));
  if (Array.isArray(rule.Or)) return (rule.Or as StateDef[]).some((r) => evaluateRule(r, input, context));
  if (rule.Not) return !evaluateRule(rule.Not as StateDef, input, context);
  const variable = rule.Variable as string;
  const op = Object.keys(rule).find((k) => CHOICE_OPERATORS.has(k)) as string;
  const present = pathExists(variable, input, context);
  if (op === 'IsPresent') return present === rule.IsPresent;
  if (!present) {
    throw new StatesError(
      'States.Runtime',
      `Invalid path '${variable}': the choice state's condition path references an invalid value.`,
    );
  }
  const v = selectPath(variable, input, context);
  let expected = rule[op];
  let base = op;
  if (op.endsWith('Path')) {
    base = op.slice(0, -4);
    expected = selectPath(expected as string, input, context);
    if (expected === undefined)
      throw new StatesError('States.Runtime', `Invalid path '${rule[op]}' in ${op}`);
  }
  switch (base) {
    case 'IsNull':
      return (v === null) === expected;
    case 'IsNumeric':
      return (typeof v === 'number') === expected;
    case 'IsString':
      return (typeof v === 'string') === expected;
    case 'IsBoolean':
      return (typeof v === 'boolean') === expected;
    case 'IsTimestamp':
      return isTimestamp(v) === expected;
    case 'StringMatches':
      return typeof v === 'string' && stringMatches(v, expected as string);
    case 'BooleanEquals':
      return typeof v === 'boolean' && v === expected;
  }
  if (base.startsWith('String')) {
    if (typeof v !== 'string' || typeof expected !== 'string') return false;
    return compare(base.slice(6), v < expected ? -1 : v > expected ? 1 : 0);
  }
  if (base.startsWith('Numeric')) {
    if (typeof v !== 'number' || typeof expected !== 'number') return false;
    return compare(base.slice(7), v - expected);
  }
  if (base.startsWith('Timestamp')) {
    if (!isTimestamp(v) || !isTimestamp(expected)) return false;
    return compare(base.slice(9), Date.parse(v) - Date.parse(expected));
  }
  return false;
}

function compare(kind: string, diff: number): boolean {
  switch (kind) {
    case 'Equals':
      return diff === 0;
    case 'LessThan':
      return diff < 0;
    case 'GreaterThan':
      return diff > 0;
    case 'LessThanEquals':
      return diff <= 0;
    case 'GreaterThanEquals':
      return diff >= 0;
  }
  return false;
}

/** `*` matches any run of characters; `\*` and `\\` are literal. */
function stringMatches(value: string, pattern: string): boolean {
  let re = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i] as string;
    if (c === '\\' && i + 1 < pattern.length) re += escapeRe(pattern[++i] as string);
    else if (c === '*') re += '.*';
    else re += escapeRe(c);
  }
  return new RegExp(`^${re}$`, 's').test(value);
}

function escapeRe(c: string): string {
  return c.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}
