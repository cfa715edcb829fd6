/**
 * What one Step Functions execution is and what its states run inside: the execution record with
 * its history, the Lambda request and response shapes the engine invokes through, the errors as
 * the service names them, and the cancellation scopes that stop branches, iterations and timers.
 * The engine (interpreter.ts), the Task state (task.ts) and the data flow (data-flow.ts) share it.
 */
import type { MachineDef } from './definition.ts';

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
export class Cancelled extends Error {
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
export class Scope {
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

export interface PendingTask {
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
export interface Thread {
  last: number;
}

export interface RunCtx {
  exec: Execution;
  scope: Scope;
  thread: Thread;
  /** `$$.Map.Item` inside a Map iteration. */
  mapItem?: { Index: number; Value: unknown };
}

/** The context object (`$$`) a state sees: the execution, the machine, the state, its task and Map item. */
export function contextObject(
  ctx: RunCtx,
  stateName: string,
  entered: number,
  retryCount: number,
  token?: string,
): unknown {
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
