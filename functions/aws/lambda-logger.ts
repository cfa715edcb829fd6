/**
 * The AWS functions' structured log: one JSON object a line, info and debug on stdout, warnings and
 * errors on stderr (both go to the function's log group), with the keys of Powertools Logger's
 * default format, so the same Logs Insights queries work: `level`, `message`, `timestamp`,
 * `service`, `cold_start`, `function_arn`, `function_memory_size`, `function_name`,
 * `function_request_id`, `xray_trace_id`, then the keys appended for the invocation (`linkId`),
 * then the entry's own fields. A field or appended key named like a standard key is dropped, as
 * Powertools drops it: a line's `message` and `level` are always the ones logged, so a query for a
 * message (`DR executor page`) finds every line of it.
 *
 * Why not Powertools Logger itself: with its commons, buffer and invocation store it is about 20 KB
 * of a bundle whose budget is 250 KB, of which the SDK clients take 200 (docs/aws-half.md,
 * "Packaging"), and crosslink uses four of its methods. The level is `POWERTOOLS_LOG_LEVEL`,
 * `AWS_LAMBDA_LOG_LEVEL` or `LOG_LEVEL`, INFO when none is set, as Powertools reads it.
 */
import type middy from '@middy/core';

export type LogFields = Record<string, unknown>;
const LEVELS = { DEBUG: 8, INFO: 12, WARN: 16, ERROR: 20 } as const;
type Level = keyof typeof LEVELS;

/** What the log reads of the Lambda context. */
export interface LambdaContextLike {
  functionName?: string;
  invokedFunctionArn?: string;
  memoryLimitInMB?: string | number;
  awsRequestId?: string;
}

function threshold(env: NodeJS.ProcessEnv): number {
  const name = (
    env.POWERTOOLS_LOG_LEVEL ??
    env.AWS_LAMBDA_LOG_LEVEL ??
    env.LOG_LEVEL ??
    'INFO'
  ).toUpperCase();
  return name in LEVELS ? LEVELS[name as Level] : LEVELS.INFO;
}

export class LambdaLogger {
  readonly #service: string;
  readonly #min: number;
  #context: LambdaContextLike | undefined;
  #coldStart = true;
  #keys: LogFields = {};

  constructor(service: string, env: NodeJS.ProcessEnv = process.env) {
    this.#service = service;
    this.#min = threshold(env);
  }

  /** Starts an invocation: its context, and no key appended by the previous one. */
  begin(context: LambdaContextLike | undefined): void {
    if (this.#context !== undefined) this.#coldStart = false;
    this.#context = context ?? {};
    this.#keys = {};
  }

  /** Keys written on every later line of this invocation. */
  appendKeys(keys: LogFields): void {
    Object.assign(this.#keys, keys);
  }

  debug(message: string, fields?: LogFields): void {
    this.#write('DEBUG', message, fields);
  }
  info(message: string, fields?: LogFields): void {
    this.#write('INFO', message, fields);
  }
  warn(message: string, fields?: LogFields): void {
    this.#write('WARN', message, fields);
  }
  error(message: string, fields?: LogFields): void {
    this.#write('ERROR', message, fields);
  }

  #write(level: Level, message: string, fields: LogFields | undefined): void {
    if (LEVELS[level] < this.#min) return;
    const c = this.#context;
    const trace = process.env._X_AMZN_TRACE_ID?.match(/Root=([^;]+)/)?.[1];
    const standard: LogFields = {
      level,
      message,
      timestamp: new Date().toISOString(),
      service: this.#service,
      cold_start: c === undefined ? undefined : this.#coldStart,
      function_arn: c?.invokedFunctionArn,
      function_memory_size: c?.memoryLimitInMB === undefined ? undefined : Number(c.memoryLimitInMB),
      function_name: c?.functionName,
      function_request_id: c?.awsRequestId,
      xray_trace_id: trace,
    };
    const line = JSON.stringify({ ...standard, ...ownKeys(this.#keys), ...ownKeys(fields) });
    (LEVELS[level] >= LEVELS.WARN ? process.stderr : process.stdout).write(`${line}\n`);
  }
}

const STANDARD_KEYS: ReadonlySet<string> = new Set([
  'level',
  'message',
  'timestamp',
  'service',
  'cold_start',
  'function_arn',
  'function_memory_size',
  'function_name',
  'function_request_id',
  'xray_trace_id',
]);

/** `fields` without the standard keys. */
const ownKeys = (fields: LogFields | undefined): LogFields =>
  Object.fromEntries(Object.entries(fields ?? {}).filter(([k]) => !STANDARD_KEYS.has(k)));

/** The middy middleware that starts each invocation's log (its context, the keys reset). */
export function logInvocation(logger: LambdaLogger): middy.MiddlewareObj {
  return {
    before: async (request) => {
      logger.begin(request.context as LambdaContextLike);
    },
  };
}
