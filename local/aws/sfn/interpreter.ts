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
import type { TimerClock } from '../../clock.ts';
import {
  applyInputPath,
  applyOutput,
  applyOutputPath,
  checkSize,
  evaluateRule,
  matches,
  resultPathSet,
  stringAt,
  template,
  waitUntil,
} from './data-flow.ts';
import type { MachineDef, StateDef } from './definition.ts';
import {
  Cancelled,
  contextObject,
  Execution,
  type ExecutionStatus,
  type HistoryEvent,
  type LambdaInvoker,
  MAX_HISTORY_EVENTS,
  type MachineRef,
  type PendingTask,
  type RunCtx,
  type Scope,
  StatesError,
  TaskTokenError,
  type Thread,
} from './execution.ts';
import { selectPath } from './jsonpath.ts';
import { runTask, type TaskHost } from './task.ts';

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
  readonly #taskHost: TaskHost;

  constructor(options: EngineOptions) {
    this.#clock = options.clock;
    this.#invoke = options.invokeLambda;
    this.#region = options.region;
    this.#onEnd = options.onEnd;
    this.#random = options.random ?? Math.random;
    this.#taskHost = {
      clock: this.#clock,
      region: this.#region,
      invoke: this.#invoke,
      event: (exec, thread, type, key, details) => this.#event(exec, thread, type, key, details),
      park: (token, pending) => this.#pending.set(token, pending),
      closeToken: (exec, token) => this.#closeToken(exec, token),
    };
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
    const context = (retry = 0, token?: string) => contextObject(ctx, name, entered, retry, token);

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
        const due = waitUntil(s, eff, entered, context(), name);
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
          result = await runTask(this.#taskHost, ctx, name, s, eff, input, (token) =>
            context(retries, token),
          );
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
