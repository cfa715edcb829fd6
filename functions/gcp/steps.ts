/**
 * The steps of the Google workflows, over HTTP: one Cloud Function (`steps`, IAM invoker auth)
 * routes `POST /<stepName>` (body: the step input JSON) to the cloud-neutral step of
 * functions/core/link (one module per stage) and answers 200 with its output JSON, the same JSON the AWS state
 * machines pass. A failure answers `{"error": {"name", "message"}}` with the name the workflow
 * matches (the ASL's error names) and a status that says whether a retry can help:
 *
 * | status | errors                                                                                 |
 * | ------ | -------------------------------------------------------------------------------------- |
 * | 400    | `ValidationError` (the input fails `parseStepInput`, or `request` refuses a request this side cannot place), `InvalidArgument` (the provider refused the request) |
 * | 403    | `PermissionDeniedError`, `PolicyRefusedError`, `PermissionDenied`, `Unauthenticated`   |
 * | 404    | `NotFoundError` / `NotFound`, `UnknownStep`                                            |
 * | 405    | `MethodNotAllowed` (not a POST)                                                        |
 * | 409    | `IllegalTransitionError`, `PolicyHashMismatchError`, `FailedPrecondition`, `AlreadyExists` |
 * | 422    | the other named domain errors: `CapacityUnavailableError`, `HalfFailedError`, `TimedOutError`, ... |
 * | 429    | `ResourceExhausted` (provider throttling): retry with backoff                          |
 * | 500    | `Internal` (the provider's 500: retry only where the call is idempotent), anything unexpected (`InternalError`, no detail) |
 * | 503    | retryable: `Unavailable`, `DeadlineExceeded`, `OperationTimeout`, `Aborted`, `ConflictError`, `EventsNotPutError`, `KmsIntegrityError`, `CallbackError` (429/503/network), `SecretStoreError` (UNAVAILABLE, RESOURCE_EXHAUSTED, DEADLINE_EXCEEDED, INTERNAL) |
 *
 * No step's input or output carries an activation key, and neither does any log line: the handler
 * logs the step, the link id, the status and the error's name and message, never a body.
 */
import {
  ConflictError,
  CrosslinkError,
  IllegalTransitionError,
  NotFoundError,
  PermissionDeniedError,
  PolicyHashMismatchError,
  PolicyRefusedError,
  ValidationError,
} from '#core/errors.ts';
import { isLinkId } from '#core/ids.ts';
import { activateAccept, activateInitiate, keyDeadline } from '#core/link/activate.ts';
import { approvalDeadline } from '#core/link/approve.ts';
import { compensate, type RunFailure } from '#core/link/compensate.ts';
import {
  confirmDeleted,
  decommissionDeadline,
  decommissionRequest,
  deleteOwnHalf,
  drainCheck,
} from '#core/link/decommission.ts';
import { request } from '#core/link/request.ts';
import type { StepDeps } from '#core/link/stage.ts';
import { parseStepInput } from '#core/link/step-input.ts';
import { pollHalf, report } from '#core/link/verify.ts';
import { park } from '#core/link/waits.ts';
import { GoogleApiError } from './google-errors.ts';

/** The steps the workflows call, by route name (the AWS handler names without `step`). */
export const STEPS = {
  request,
  park,
  approvalDeadline,
  keyDeadline,
  activateInitiate,
  activateAccept,
  pollHalf,
  report,
  compensate: compensateWorkflow,
  decommissionRequest,
  decommissionDeadline,
  drainCheck,
  deleteOwnHalf,
  confirmDeleted,
} as const;

export type StepName = keyof typeof STEPS;

/** The workflow's error of a failed run, as its `error_of` makes it: the ASL's `{Error, Cause}`. */
export interface WorkflowError {
  Error?: string;
  Cause?: string;
}

/** A workflow's error as the core's `RunFailure`: the Cause is the step's message itself. */
export function workflowFailureOf(error: WorkflowError | undefined): RunFailure | undefined {
  if (!error) return undefined;
  return { errorName: error.Error ?? '', message: error.Cause ?? '' };
}

/** `POST /compensate`: the workflow's `{Error, Cause}` read here, the core's `compensate` run on it. */
function compensateWorkflow(
  deps: StepDeps,
  input: Omit<Parameters<typeof compensate>[1], 'error'> & { error?: WorkflowError },
) {
  const { error, ...rest } = input;
  const failure = workflowFailureOf(error);
  return compensate(deps, failure ? { ...rest, error: failure } : rest);
}

/** The parts of a functions-framework (Express) request the handler reads. */
export interface StepRequest {
  method?: string;
  path?: string;
  url?: string;
  /** Parsed by functions-framework for `application/json`. */
  body?: unknown;
}

/** The parts of an Express response the handler uses. */
export interface StepResponse {
  status(code: number): StepResponse;
  json(body: unknown): unknown;
}

export interface StepAnswer {
  status: number;
  body: unknown;
}

/** One structured log line (Cloud Logging reads JSON on stdout). */
export interface StepLogEntry {
  severity: 'INFO' | 'ERROR';
  message: string;
  step: string;
  linkId?: string;
  status: number;
  error?: { name: string; message: string };
}

const RETRYABLE_503 = new Set([
  'Unavailable',
  'DeadlineExceeded',
  'OperationTimeout',
  'Aborted',
  'EventsNotPutError',
  'KmsIntegrityError',
]);
/** gRPC codes of the @google-cloud clients' errors that a retry can cure. */
const RETRYABLE_GRPC = new Set([4, 8, 10, 13, 14]);

const fail = (status: number, name: string, message: string): StepAnswer => ({
  status,
  body: { error: { name, message } },
});

/** The one mapping from a step's error to the answer the workflow sees. */
export function stepErrorAnswer(e: unknown): StepAnswer {
  const err = e as Error & { code?: unknown; status?: unknown };
  if (e instanceof ValidationError) return fail(400, e.name, e.message);
  if (e instanceof PolicyRefusedError || e instanceof PermissionDeniedError)
    return fail(403, e.name, e.message);
  if (e instanceof NotFoundError) return fail(404, e.name, e.message);
  if (e instanceof IllegalTransitionError || e instanceof PolicyHashMismatchError)
    return fail(409, e.name, e.message);
  if (e instanceof ConflictError) return fail(503, e.name, e.message);
  if (e instanceof CrosslinkError) return fail(422, e.name, e.message);
  if (e instanceof GoogleApiError) {
    if (e.name === 'ResourceExhausted') return fail(429, e.name, e.message);
    if (RETRYABLE_503.has(e.name)) return fail(503, e.name, e.message);
    if (e.name === 'Internal') return fail(500, e.name, e.message);
    if (e.name === 'InvalidArgument') return fail(400, e.name, e.message);
    if (e.name === 'PermissionDenied' || e.name === 'Unauthenticated') return fail(403, e.name, e.message);
    if (e.name === 'NotFound') return fail(404, e.name, e.message);
    if (e.name === 'FailedPrecondition' || e.name === 'AlreadyExists') return fail(409, e.name, e.message);
    return fail(500, e.name, e.message);
  }
  if (err instanceof Error) {
    if (RETRYABLE_503.has(err.name)) return fail(503, err.name, err.message);
    if (err.name === 'CallbackError') {
      const s = Number(err.status);
      return s === 429 || s === 503 || s === 0
        ? fail(503, err.name, err.message)
        : fail(500, err.name, err.message);
    }
    if (err.name === 'SecretStoreError')
      return RETRYABLE_GRPC.has(Number(err.code))
        ? fail(503, err.name, err.message)
        : fail(500, err.name, err.message);
  }
  // Anything else: no detail (a message we did not write may carry anything).
  return fail(500, 'InternalError', 'internal error (see the steps function log)');
}

function routeOf(req: StepRequest): string {
  const path = req.path ?? new URL(req.url ?? '/', 'http://steps').pathname;
  return path.replace(/\/+$/, '').split('/').pop() ?? '';
}

/** Runs one step for a request; never throws. */
export async function runStep(
  deps: StepDeps,
  req: StepRequest,
  log: (entry: StepLogEntry) => void = () => {},
): Promise<StepAnswer> {
  const step = routeOf(req);
  const input = req.body as { linkId?: unknown } | undefined;
  const linkId = typeof input?.linkId === 'string' && isLinkId(input.linkId) ? input.linkId : undefined;
  let answer: StepAnswer;
  let error: Error | undefined;
  if ((req.method ?? 'POST').toUpperCase() !== 'POST')
    answer = fail(405, 'MethodNotAllowed', `steps are called with POST, not ${req.method}`);
  else if (!Object.hasOwn(STEPS, step))
    answer = fail(404, 'UnknownStep', `no step named ${JSON.stringify(step)}`);
  else {
    try {
      // The same boundary check as the Lambda handlers: each bad field named, before the step runs.
      const checked = parseStepInput<{ linkId: string }>(step, input);
      const fn = STEPS[step as StepName] as (d: StepDeps, i: unknown) => Promise<unknown>;
      answer = { status: 200, body: (await fn(deps, checked)) ?? {} };
    } catch (e) {
      error = e as Error;
      answer = stepErrorAnswer(e);
    }
  }
  const entry: StepLogEntry = {
    severity: answer.status === 200 ? 'INFO' : 'ERROR',
    message: answer.status === 200 ? `${step} done` : `${step} failed`,
    step,
    status: answer.status,
  };
  if (linkId) entry.linkId = linkId;
  if (answer.status !== 200) {
    const named = (answer.body as { error: { name: string; message: string } }).error;
    // The log keeps the real name and message of an unexpected error; the caller gets neither.
    entry.error =
      error && named.name === 'InternalError' ? { name: error.name, message: error.message } : named;
  }
  log(entry);
  return answer;
}

/** Writes one JSON line per step to stdout, as Cloud Logging reads structured logs. */
export const stdoutLog = (entry: StepLogEntry) => {
  process.stdout.write(`${JSON.stringify({ ...entry, service: 'crosslink-gcp-steps' })}\n`);
};

/**
 * The `steps` HTTP function: `stepsHandler(deps)` for functions-framework (`http('steps', ...)`).
 * `deps` may be a function, called per request (the entry point builds them once per instance).
 */
export function stepsHandler(
  deps: StepDeps | (() => StepDeps | Promise<StepDeps>),
  log: (entry: StepLogEntry) => void = stdoutLog,
) {
  return async (req: StepRequest, res: StepResponse): Promise<void> => {
    let answer: StepAnswer;
    try {
      answer = await runStep(typeof deps === 'function' ? await deps() : deps, req, log);
    } catch (e) {
      // Building the dependencies failed (configuration): retrying will not help, but say so plainly.
      log({
        severity: 'ERROR',
        message: 'steps: no dependencies',
        step: routeOf(req),
        status: 500,
        error: { name: (e as Error).name, message: (e as Error).message },
      });
      answer = fail(500, 'InternalError', 'internal error (see the steps function log)');
    }
    res.status(answer.status).json(answer.body);
  };
}
