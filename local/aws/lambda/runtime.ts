/**
 * Lambda functions of one simulated (account, region). A function is either a module on disk (a
 * handler bundled by esbuild, or a source file) run in its own worker thread with its own
 * environment variables, or an inline function (tests, `crosslink sim sfn run --task`). Invocations
 * get a Lambda-shaped context (request id, ARN, remaining time). Asynchronous invocations retry as
 * Lambda does (two retries, one then two minutes apart, on the virtual clock) and then go to the
 * on-failure destination. SQS event source mappings poll a queue and honour batch size and partial
 * batch failures (`batchItemFailures`).
 *
 * Delivery faults (`local/faults.ts`, edge `aws`, service `sqs`, operation the queue name or `*`) act
 * per received record: `drop` leaves it out of the invocation (still in flight, so it comes back
 * after the visibility timeout), `duplicate` sends the extra copy in an invocation of its own (as
 * SQS's at-least-once delivery does), `reorder` holds a copy for its random delay, on the virtual
 * clock like the visibility timeout it must stay under (capped at half of it), then invokes with that
 * record alone: the batch is split and its records arrive in the order of their holds.
 *
 * Simulated delays (retry backoff, visibility) run on the virtual clock; the handler's own run time
 * and its timeout are real time, because its code really runs.
 *
 * Concurrency: each invocation running holds one of the function's sandboxes (a new one, cold,
 * when all are busy). With reserved concurrency (`ReservedConcurrentExecutions`), an invocation
 * past it is throttled: a synchronous one fails with TooManyRequestsException (429, reason
 * ReservedFunctionConcurrentInvocationLimitExceeded); an asynchronous one goes back to its queue
 * and is tried again 1 s later, then 2, 4 ... up to 5 minutes apart (virtual), until its age passes
 * the function's maximum event age, when it is discarded to the on-failure destination with
 * condition `EventAgeExceeded` (at the instant it expires). Throttles do not count against the retries of function errors.
 *
 * A function deployed from an artifact (`{taskRoot, handler}`: its unpacked zip and the `Handler`
 * setting) runs as Lambda's Node.js runtime runs it: the module is found in the task root only
 * (`<module>.js`, `.mjs` or `.cjs`), a module that is missing or fails to import is a
 * `Runtime.ImportModuleError` at invocation (the deployment itself succeeds, as in Lambda), an
 * export that is not a function is `Runtime.HandlerNotFound`. Its environment is built, not
 * inherited: the variables Lambda defines (lambdaDefinedEnvironment), the local cloud's base
 * environment (its endpoint and the credentials it gives), then the function's own variables, and
 * nothing else of this process's environment. Variable names Lambda reserves are refused at register.
 */
import { randomUUID } from 'node:crypto';
import { resolve } from 'node:path';
import { Worker } from 'node:worker_threads';
import type { FaultRegistry } from '#local/faults.ts';
import type { VirtualClock } from '../../clock.ts';
import { shareClock } from '../../virtual-date.ts';
import type { LambdaResponse } from '../sfn/execution.ts';
import type { Queue } from '../sqs/queues.ts';
import { type EventSourceMapping, EventSourceMappings } from './event-sources.ts';
import {
  type ArtifactHandler,
  type FunctionConfig,
  functionNameOf,
  type LambdaContext,
  type LambdaFunction,
  LambdaServiceError,
  lambdaDefinedEnvironment,
  RESERVED_VARIABLES,
  throttled,
} from './functions.ts';

export interface LambdaRuntimeOptions {
  /** The local cloud's clock: timers run on it, and the sandboxes' `Date` follows it (virtual-date.ts). */
  clock: VirtualClock;
  accountId: string;
  region: string;
  /** Delivers a payload to a destination ARN (SQS, Lambda, EventBridge bus). */
  deliver?: (arn: string, payload: unknown) => Promise<void>;
  /** Finds a queue by ARN, for event source mappings. */
  queue?: (arn: string) => Queue | undefined;
  /**
   * Delivery faults of event source mappings (`drop`, `duplicate`, `reorder` on service `sqs`), and
   * `crash` faults of invocations (service `lambda`: the handler ran, the invocation fails).
   */
  faults?: FaultRegistry;
  /** Variables every module function gets (endpoint, region, credentials of the local cloud). */
  baseEnvironment?: () => Record<string, string>;
  /**
   * The credentials of a function with an execution role, as Lambda gives them to its sandbox
   * (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`): they replace the base
   * environment's.
   */
  roleCredentials?: (fn: LambdaFunction) => Record<string, string>;
  /**
   * Checks that the function's execution role may send to its on-failure destination (Lambda
   * sends with the role); throws with IAM's sentence otherwise.
   */
  authorizeDestination?: (fn: LambdaFunction, destinationArn: string) => void;
  /**
   * Checks that the function's execution role may read the queue of an event source mapping
   * (sqs:ReceiveMessage, sqs:DeleteMessage, sqs:GetQueueAttributes, as CreateEventSourceMapping
   * checks); throws with IAM's sentence otherwise.
   */
  authorizeSource?: (fn: LambdaFunction, queueArn: string) => void;
  /**
   * Whether the function's execution role lets Lambda write its log stream (logs:CreateLogStream,
   * logs:PutLogEvents on `/aws/lambda/<function>`), asked once per sandbox: Lambda writes a
   * function's logs with its role, and without the grant they are not kept.
   */
  authorizeLogs?: (fn: LambdaFunction, logStream: string) => boolean;
  log?: (message: string) => void;
}
interface Sandbox {
  worker: Worker;
  busy: boolean;
  /** The invocation in progress, if any. */
  current?: number;
  /** Ended by the runtime (function replaced, runtime closed): not worth a log line. */
  retired?: boolean;
}

/** Backoff between asynchronous attempts, as Lambda documents it (about 1 then 2 minutes). */
export const ASYNC_RETRY_DELAYS_MS = [60_000, 120_000];

/** Backoff of a throttled asynchronous event: 1 s after the first attempt, doubling, at most 5 minutes. */
export function throttleRetryDelayMs(throttles: number): number {
  return Math.min(1000 * 2 ** throttles, 300_000);
}

/** One function's concurrency, as CloudWatch's ConcurrentExecutions and Throttles count it. */
export interface FunctionConcurrency {
  running: number;
  /** The most invocations that ran at once. */
  peak: number;
  /** Invocations refused past the reserved concurrency (each attempt of an async event counts). */
  throttles: number;
  /** Sandboxes started (cold starts). */
  coldStarts: number;
}

/** Lines of function output `LambdaRuntime.logs` keeps. */
export const LOG_LINES = 10_000;

export class LambdaRuntime {
  readonly functions = new Map<string, LambdaFunction>();
  readonly #options: LambdaRuntimeOptions;
  readonly #sandboxes = new Map<string, Sandbox[]>();
  readonly #sources: EventSourceMappings;
  readonly #pending = new Map<number, { resolve(v: unknown): void }>();
  /**
   * Asynchronous events not yet done with: running, or waiting on the clock for a retry or a
   * throttled attempt (`crosslink sim status`: a harness waiting for quiet counts them).
   */
  asyncPending = 0;
  #nextId = 1;
  /** The clock's anchor, shared with every sandbox (made with the first one). */
  #sharedClock: SharedArrayBuffer | undefined;
  /**
   * What the functions' sandboxes wrote (stdout and stderr, one entry a line), newest last, as
   * CloudWatch Logs would keep it; bounded to the last LOG_LINES lines. Also echoed to this process.
   */
  readonly logs: { functionName: string; stream: 'stdout' | 'stderr'; at: number; line: string }[] = [];
  /** Concurrency by function name (status, tests, benches). */
  readonly concurrency = new Map<string, FunctionConcurrency>();
  /** Invocations made, newest last (status, tests). */
  readonly invocations: { functionName: string; requestId: string; at: number; outcome: 'ok' | 'error' }[] =
    [];

  constructor(options: LambdaRuntimeOptions) {
    this.#options = options;
    this.#sources = new EventSourceMappings(options, this);
  }

  /** The SQS event source mappings, by UUID. */
  get mappings(): Map<string, EventSourceMapping> {
    return this.#sources.mappings;
  }

  /** Maps an SQS queue to a function: batches of up to `batchSize`, partial failures when reported. */
  addEventSourceMapping(input: Parameters<EventSourceMappings['add']>[0]): EventSourceMapping {
    return this.#sources.add(input);
  }

  /** Stops or resumes a mapping (UpdateEventSourceMapping's `Enabled`). */
  setEventSourceMappingEnabled(uuid: string, enabled: boolean): EventSourceMapping {
    return this.#sources.setEnabled(uuid, enabled);
  }

  removeEventSourceMapping(uuid: string): void {
    this.#sources.remove(uuid);
  }

  register(config: FunctionConfig): LambdaFunction {
    const reserved = Object.keys(config.environment ?? {}).filter((k) => RESERVED_VARIABLES.has(k));
    if (reserved.length > 0)
      throw new LambdaServiceError(
        'InvalidParameterValueException',
        `Lambda was unable to configure your environment variables because the environment variables you have provided contains reserved keys that are currently not supported for modification. Reserved keys used in this request: ${reserved.join(', ')}`,
      );
    const arn = `arn:aws:lambda:${this.#options.region}:${this.#options.accountId}:function:${config.name}`;
    this.#dropSandboxes(config.name);
    const fn: LambdaFunction = {
      ...config,
      arn,
      version: '$LATEST',
      lastModified: this.#options.clock.now(),
    };
    this.functions.set(config.name, fn);
    return fn;
  }

  remove(name: string): void {
    this.#dropSandboxes(name);
    this.functions.delete(name);
  }

  /** Resolves a name, ARN or partial ARN (`name:qualifier`, `account:function:name`). */
  get(nameOrArn: string): LambdaFunction {
    const name = functionNameOf(nameOrArn);
    const fn = this.functions.get(name);
    if (!fn) {
      throw new LambdaServiceError(
        'ResourceNotFoundException',
        `Function not found: arn:aws:lambda:${this.#options.region}:${this.#options.accountId}:function:${name}`,
      );
    }
    return fn;
  }

  /**
   * RequestResponse invocation: resolves with the payload, or the error payload and `functionError`.
   * The run counts as activity on the clock (VirtualClock.track).
   */
  invoke(nameOrArn: string, payload: unknown): Promise<LambdaResponse & { requestId: string }> {
    return this.#options.clock.track(this.#invoke(nameOrArn, payload), `lambda ${nameOrArn}`);
  }

  /** The concurrency counters of function `name` (made on first use). */
  concurrencyOf(name: string): FunctionConcurrency {
    let c = this.concurrency.get(name);
    if (!c) {
      c = { running: 0, peak: 0, throttles: 0, coldStarts: 0 };
      this.concurrency.set(name, c);
    }
    return c;
  }

  async #invoke(nameOrArn: string, payload: unknown): Promise<LambdaResponse & { requestId: string }> {
    const fn = this.get(nameOrArn);
    const c = this.concurrencyOf(fn.name);
    if (fn.reservedConcurrency !== undefined && c.running >= fn.reservedConcurrency) {
      c.throttles++;
      throw throttled();
    }
    c.running++;
    c.peak = Math.max(c.peak, c.running);
    try {
      return await this.#run(fn, payload);
    } finally {
      c.running--;
    }
  }

  async #run(fn: LambdaFunction, payload: unknown): Promise<LambdaResponse & { requestId: string }> {
    const requestId = randomUUID();
    const timeoutMs = (fn.timeout ?? 6) * 1000;
    const clock = this.#options.clock;
    const startedAt = clock.now();
    // Handler code runs in real time: its timeout and remaining time are wall-clock, so advancing
    // the virtual clock never times out a handler that is still computing.
    const deadlineWall = Date.now() + timeoutMs;
    const context = {
      functionName: fn.name,
      functionVersion: '$LATEST',
      invokedFunctionArn: fn.arn,
      memoryLimitInMB: String(fn.memorySize ?? 1024),
      awsRequestId: requestId,
      logGroupName: `/aws/lambda/${fn.name}`,
      logStreamName: `${new Date(startedAt).toISOString().slice(0, 10).replaceAll('-', '/')}/[$LATEST]${requestId.replaceAll('-', '')}`,
    };
    // JSON round trip: the handler sees what would travel over the wire, never a shared object.
    const event = payload === undefined ? {} : JSON.parse(JSON.stringify(payload));
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<{ error: Record<string, unknown> }>((r) => {
      timer = setTimeout(
        () =>
          r({
            error: {
              errorType: 'Sandbox.Timedout',
              errorMessage: `${new Date(clock.now()).toISOString()} ${requestId} Task timed out after ${(timeoutMs / 1000).toFixed(2)} seconds`,
            },
          }),
        timeoutMs,
      );
      timer.unref();
    });
    const run = async (): Promise<{ ok: unknown } | { error: Record<string, unknown> }> => {
      if (typeof fn.handler === 'function') {
        try {
          const ctx: LambdaContext = {
            ...context,
            callbackWaitsForEmptyEventLoop: true,
            getRemainingTimeInMillis: () => Math.max(0, deadlineWall - Date.now()),
          };
          const out = await fn.handler(event, ctx);
          return { ok: out === undefined ? null : JSON.parse(JSON.stringify(out)) };
        } catch (err) {
          const e = err as Error;
          return {
            error: {
              errorType: e?.name ?? 'Error',
              errorMessage: e?.message ?? String(err),
              trace: String(e?.stack ?? '').split('\n'),
            },
          };
        }
      }
      return this.#runInSandbox(fn, event, { ...context, deadlineWall }, sandboxRef);
    };
    const sandboxRef: { kill?: () => void } = {};
    const ran = await Promise.race([run(), timedOut]);
    clearTimeout(timer);
    // A `crash` fault: the handler's effects are done, then the process dies before it answers.
    const crash = 'error' in ran ? undefined : this.#options.faults?.crashes('aws', 'lambda', fn.name);
    const outcome = crash
      ? {
          error: {
            errorType: 'Runtime.ExitError',
            errorMessage: `RequestId: ${requestId} Error: Runtime exited with error: signal: killed`,
          },
        }
      : ran;
    // Lambda ends a sandbox whose invocation timed out; the next invocation starts cold.
    if ('error' in outcome && outcome.error.errorType === 'Sandbox.Timedout') sandboxRef.kill?.();
    const isError = 'error' in outcome;
    this.invocations.push({
      functionName: fn.name,
      requestId,
      at: startedAt,
      outcome: isError ? 'error' : 'ok',
    });
    if (isError)
      return { payload: outcome.error, executedVersion: '$LATEST', functionError: 'Unhandled', requestId };
    return { payload: outcome.ok, executedVersion: '$LATEST', requestId };
  }

  /**
   * Event invocation: queued, retried twice on function errors (1 and 2 minutes later on the
   * virtual clock), then sent to the on-failure destination. Returns the request id at once.
   */
  invokeAsync(nameOrArn: string, payload: unknown): string {
    const fn = this.get(nameOrArn);
    const requestId = randomUUID();
    const clock = this.#options.clock;
    const firstAt = clock.now();
    const maxRetries = fn.maximumRetryAttempts ?? 2;
    const maxAge = (fn.maximumEventAgeInSeconds ?? 21_600) * 1000;
    let throttles = 0;
    this.asyncPending++;
    let done = false;
    const settle = () => {
      if (!done) this.asyncPending--;
      done = true;
    };
    /** `n`: the function errors so far. */
    const attempt = async (n: number) => {
      let res: LambdaResponse;
      try {
        res = await this.invoke(fn.name, payload);
      } catch (err) {
        const e = err as Error;
        if (e instanceof LambdaServiceError && e.name === 'TooManyRequestsException') {
          if (clock.stopped) return settle();
          const delay = throttleRetryDelayMs(throttles++);
          if (clock.now() + delay - firstAt <= maxAge) clock.at(clock.now() + delay, () => attempt(n));
          // Left in the queue until it expires.
          else
            clock.at(firstAt + maxAge, () =>
              this.#discard(fn, { requestId, condition: 'EventAgeExceeded', invokes: n, payload }).finally(
                settle,
              ),
            );
          return;
        }
        res = {
          payload: { errorType: e.name, errorMessage: e.message },
          executedVersion: '$LATEST',
          functionError: 'Unhandled',
        };
      }
      // A cloud stopping while an invocation ran schedules nothing more.
      if (!res.functionError || clock.stopped) return settle();
      const delay = ASYNC_RETRY_DELAYS_MS[n] ?? 120_000;
      if (n < maxRetries && clock.now() + delay - firstAt <= maxAge) {
        clock.at(clock.now() + delay, () => attempt(n + 1));
        return;
      }
      await this.#discard(fn, {
        requestId,
        condition: 'RetriesExhausted',
        invokes: n + 1,
        payload,
        response: res.payload,
      }).finally(settle);
    };
    queueMicrotask(() => void attempt(0));
    return requestId;
  }

  /**
   * An asynchronous event Lambda gives up on, to the on-failure destination (if any): its retries
   * exhausted after function errors, or its age past the maximum while throttled (never run: no
   * response).
   */
  async #discard(
    fn: LambdaFunction,
    e: {
      requestId: string;
      condition: 'RetriesExhausted' | 'EventAgeExceeded';
      invokes: number;
      payload: unknown;
      response?: unknown;
    },
  ): Promise<void> {
    if (!fn.onFailure) return;
    const record = {
      version: '1.0',
      timestamp: new Date(this.#options.clock.now()).toISOString(),
      requestContext: {
        requestId: e.requestId,
        functionArn: `${fn.arn}:$LATEST`,
        condition: e.condition,
        approximateInvokeCount: e.invokes,
      },
      requestPayload: e.payload,
      ...('response' in e
        ? {
            responseContext: { statusCode: 200, executedVersion: '$LATEST', functionError: 'Unhandled' },
            responsePayload: e.response,
          }
        : {}),
    };
    const destination = fn.onFailure;
    await Promise.resolve()
      .then(() => this.#options.authorizeDestination?.(fn, destination))
      .then(() => this.#options.deliver?.(destination, record))
      .catch((err: Error) =>
        this.#options.log?.(`lambda ${fn.name}: on-failure destination: ${err.message}`),
      );
  }

  #runInSandbox(
    fn: LambdaFunction,
    event: unknown,
    context: Record<string, unknown>,
    ref: { kill?: () => void },
  ): Promise<{ ok: unknown } | { error: Record<string, unknown> }> {
    const spec = fn.handler as { file: string; export: string } | ArtifactHandler;
    let pool = this.#sandboxes.get(fn.name);
    if (!pool) {
      pool = [];
      this.#sandboxes.set(fn.name, pool);
    }
    let box = pool.find((b) => !b.busy);
    if (!box) {
      const artifact = 'taskRoot' in spec ? spec : undefined;
      const stream = `${new Date(this.#options.clock.now()).toISOString().slice(0, 10).replaceAll('-', '/')}/[$LATEST]${randomUUID().replaceAll('-', '')}`;
      // Built, not inherited: the worker's process.env is exactly this (see the header).
      const env = {
        ...lambdaDefinedEnvironment({
          functionName: fn.name,
          region: this.#options.region,
          memorySize: fn.memorySize ?? 1024,
          logStreamName: stream,
          ...(artifact ? { handler: artifact.handler, taskRoot: artifact.taskRoot } : {}),
          ...(fn.runtime ? { runtime: fn.runtime } : {}),
        }),
        ...this.#options.baseEnvironment?.(),
        ...(fn.role ? this.#options.roleCredentials?.(fn) : {}),
        ...fn.environment,
      };
      const worker = new Worker(new URL('./worker.ts', import.meta.url), {
        workerData: {
          ...('taskRoot' in spec
            ? { taskRoot: resolve(spec.taskRoot), handler: spec.handler }
            : { file: resolve(spec.file), exportName: spec.export }),
          clock: this.#clockBuffer(),
        },
        env,
        stdout: true,
        stderr: true,
      });
      worker.unref();
      this.concurrencyOf(fn.name).coldStarts++;
      const kept = this.#options.authorizeLogs?.(fn, stream) ?? true;
      this.#capture(fn.name, 'stdout', worker.stdout, process.stdout, kept);
      this.#capture(fn.name, 'stderr', worker.stderr, process.stderr, kept);
      worker.on('message', (msg: { id: number; ok?: unknown; error?: Record<string, unknown> }) => {
        this.#pending.get(msg.id)?.resolve(msg);
        this.#pending.delete(msg.id);
      });
      const created: Sandbox = { worker, busy: false };
      // A sandbox that dies (process.exit, an error outside the handler) fails what it was running.
      const died = (why: string) => {
        if (!created.retired || created.current !== undefined)
          this.#options.log?.(`lambda ${fn.name}: sandbox ended: ${why}`);
        const list = this.#sandboxes.get(fn.name);
        if (list)
          this.#sandboxes.set(
            fn.name,
            list.filter((b) => b !== created),
          );
        if (created.current !== undefined) {
          this.#pending.get(created.current)?.resolve({
            error: { errorType: 'Runtime.ExitError', errorMessage: `RequestId: the sandbox ended: ${why}` },
          });
          this.#pending.delete(created.current);
        }
      };
      worker.on('error', (err) => died(err.message));
      worker.on('exit', (code) => died(`exit code ${code}`));
      box = created;
      pool.push(box);
    }
    const sandbox = box;
    sandbox.busy = true;
    const id = this.#nextId++;
    sandbox.current = id;
    ref.kill = () => {
      const list = this.#sandboxes.get(fn.name);
      if (list)
        this.#sandboxes.set(
          fn.name,
          list.filter((b) => b !== sandbox),
        );
      this.#pending.delete(id);
      sandbox.current = undefined;
      void sandbox.worker.terminate();
    };
    return new Promise<{ ok: unknown } | { error: Record<string, unknown> }>((resolvePromise) => {
      this.#pending.set(id, {
        resolve: (msg) => {
          sandbox.busy = false;
          sandbox.current = undefined;
          const m = msg as { ok?: unknown; error?: Record<string, unknown> };
          resolvePromise(m.error ? { error: m.error } : { ok: m.ok });
        },
      });
      sandbox.worker.postMessage({ id, event, context });
    });
  }

  #clockBuffer(): SharedArrayBuffer {
    if (!this.#sharedClock) this.#sharedClock = shareClock(this.#options.clock);
    return this.#sharedClock;
  }

  #capture(
    functionName: string,
    stream: 'stdout' | 'stderr',
    from: NodeJS.ReadableStream,
    echo: NodeJS.WritableStream,
    kept: boolean,
  ): void {
    let partial = '';
    from.setEncoding('utf8');
    from.on('data', (chunk: string) => {
      echo.write(chunk);
      const lines = (partial + chunk).split('\n');
      partial = lines.pop() ?? '';
      if (kept) for (const line of lines) this.#keep(functionName, stream, line);
    });
    from.on('end', () => {
      if (partial && kept) this.#keep(functionName, stream, partial);
    });
  }

  #keep(functionName: string, stream: 'stdout' | 'stderr', line: string): void {
    this.logs.push({ functionName, stream, at: this.#options.clock.now(), line });
    if (this.logs.length > LOG_LINES) this.logs.splice(0, this.logs.length - LOG_LINES);
  }

  #dropSandboxes(name: string): void {
    for (const b of this.#sandboxes.get(name) ?? []) {
      b.retired = true;
      void b.worker.terminate();
    }
    this.#sandboxes.delete(name);
  }

  async close(): Promise<void> {
    this.#sources.close();
    await Promise.all(
      [...this.#sandboxes.values()].flat().map((b) => {
        b.retired = true;
        return b.worker.terminate();
      }),
    );
    this.#sandboxes.clear();
  }
}
