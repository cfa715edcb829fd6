/**
 * What a Lambda function is in the local AWS: its configuration and handler forms (inline, a
 * module file, or an unpacked artifact with its \`Handler\` setting), the context an invocation
 * gets, Invoke's service errors, and the environment Lambda defines and reserves. The runtime
 * (runtime.ts), the Lambda API (services/lambda.ts) and the offline runner share it.
 */

export type InlineHandler = (event: unknown, context: LambdaContext) => unknown;

export interface LambdaContext {
  functionName: string;
  functionVersion: string;
  invokedFunctionArn: string;
  memoryLimitInMB: string;
  awsRequestId: string;
  logGroupName: string;
  logStreamName: string;
  callbackWaitsForEmptyEventLoop: boolean;
  getRemainingTimeInMillis(): number;
}

/** Code deployed from an artifact: the directory the zip was unpacked into and the `Handler` setting. */
export interface ArtifactHandler {
  taskRoot: string;
  /** `<module path>.<export>`, e.g. `functions/aws/handlers.intake`. */
  handler: string;
}

export interface FunctionConfig {
  name: string;
  /**
   * An inline function, `{file, export}` of a module (bundled .js, or .ts with type stripping), or
   * an artifact's task root and handler setting (found there as Lambda's runtime finds it).
   */
  handler: InlineHandler | { file: string; export: string } | ArtifactHandler;
  /** The Runtime setting (e.g. `nodejs24.x`): AWS_EXECUTION_ENV is `AWS_Lambda_<runtime>`. */
  runtime?: string;
  /** Seconds (default 6, as the Serverless Framework sets). */
  timeout?: number;
  memorySize?: number;
  environment?: Record<string, string>;
  /** ARN of the on-failure destination of asynchronous invocations (SQS queue, Lambda, event bus). */
  onFailure?: string;
  maximumRetryAttempts?: number;
  maximumEventAgeInSeconds?: number;
  /**
   * Reserved concurrency (`ReservedConcurrentExecutions`): at most this many invocations run at
   * once; one more is throttled (TooManyRequestsException). Unset: no limit of its own.
   */
  reservedConcurrency?: number;
  /**
   * The execution role's ARN: the function's code calls AWS with temporary credentials of a session
   * of this role (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`), and its
   * on-failure destination and event source mappings are authorized against it.
   */
  role?: string;
  /** The function's resource-based policy: its statements by StatementId (AddPermission). */
  permissions?: Map<string, Record<string, unknown>>;
}

export interface LambdaFunction extends FunctionConfig {
  arn: string;
  version: string;
  lastModified: number;
}

/** Service errors of Invoke (not function errors); `reason` is the error's `Reason` field, when it has one. */
export class LambdaServiceError extends Error {
  readonly reason: string | undefined;
  constructor(name: string, message: string, reason?: string) {
    super(message);
    this.name = name;
    this.reason = reason;
  }
}

/** Invoke's answer to an invocation past the function's reserved concurrency (HTTP 429). */
export function throttled(): LambdaServiceError {
  return new LambdaServiceError(
    'TooManyRequestsException',
    'Rate Exceeded.',
    'ReservedFunctionConcurrentInvocationLimitExceeded',
  );
}

/**
 * Variable names Lambda reserves: a function's configuration may not set them (CreateFunction and
 * UpdateFunctionConfiguration answer InvalidParameterValueException), the runtime does.
 */
export const RESERVED_VARIABLES = new Set([
  '_HANDLER',
  '_X_AMZN_TRACE_ID',
  'AWS_DEFAULT_REGION',
  'AWS_REGION',
  'AWS_EXECUTION_ENV',
  'AWS_LAMBDA_FUNCTION_NAME',
  'AWS_LAMBDA_FUNCTION_MEMORY_SIZE',
  'AWS_LAMBDA_FUNCTION_VERSION',
  'AWS_LAMBDA_INITIALIZATION_TYPE',
  'AWS_LAMBDA_LOG_GROUP_NAME',
  'AWS_LAMBDA_LOG_STREAM_NAME',
  'AWS_ACCESS_KEY',
  'AWS_ACCESS_KEY_ID',
  'AWS_SECRET_ACCESS_KEY',
  'AWS_SESSION_TOKEN',
  'AWS_LAMBDA_RUNTIME_API',
  'LAMBDA_TASK_ROOT',
  'LAMBDA_RUNTIME_DIR',
]);

/**
 * The variables Lambda defines in a function's execution environment (the Lambda Developer Guide,
 * "Defined runtime environment variables"), for one sandbox. Left out: the credentials (the local
 * cloud's base environment gives them), AWS_LAMBDA_RUNTIME_API (there is no Runtime API here: the
 * sandbox is a worker thread), and PATH, LD_LIBRARY_PATH, NODE_PATH and LAMBDA_RUNTIME_DIR, which
 * name directories of Lambda's image that do not exist on this machine.
 */
export function lambdaDefinedEnvironment(input: {
  functionName: string;
  region: string;
  memorySize: number;
  logStreamName: string;
  handler?: string;
  taskRoot?: string;
  runtime?: string;
}): Record<string, string> {
  return {
    AWS_REGION: input.region,
    AWS_DEFAULT_REGION: input.region,
    AWS_LAMBDA_FUNCTION_NAME: input.functionName,
    AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
    AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(input.memorySize),
    AWS_LAMBDA_INITIALIZATION_TYPE: 'on-demand',
    AWS_LAMBDA_LOG_GROUP_NAME: `/aws/lambda/${input.functionName}`,
    AWS_LAMBDA_LOG_STREAM_NAME: input.logStreamName,
    ...(input.runtime ? { AWS_EXECUTION_ENV: `AWS_Lambda_${input.runtime}` } : {}),
    ...(input.handler ? { _HANDLER: input.handler } : {}),
    ...(input.taskRoot ? { LAMBDA_TASK_ROOT: input.taskRoot } : {}),
    LANG: 'en_US.UTF-8',
    TZ: ':UTC',
  };
}

/** `arn:aws:lambda:r:a:function:name[:q]`, `a:function:name`, `name:q` or `name` -> `name`. */
export function functionNameOf(nameOrArn: string): string {
  const m = /(?:^|:)function:([A-Za-z0-9_-]+)/.exec(nameOrArn);
  if (m) return m[1] as string;
  return nameOrArn.split(':')[0] as string;
}
