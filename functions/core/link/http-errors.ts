/**
 * The one place a named error becomes an HTTP answer of an intake route (both clouds). Domain errors keep their
 * message (it is written for the caller); anything else is a 500 with a request id and no detail, so
 * no internal message (or secret in one) reaches a caller.
 */
import {
  ConflictError,
  IllegalTransitionError,
  NotConfiguredError,
  NotFoundError,
  PermissionDeniedError,
  PolicyHashMismatchError,
  PolicyRefusedError,
  TimedOutError,
  UnavailableError,
  ValidationError,
} from '../errors.ts';

export interface HttpErrorBody {
  error: { code: string; message: string; issues?: readonly { path: string; reason: string }[] };
}

export interface HttpAnswer {
  statusCode: number;
  headers: Record<string, string>;
  body: string;
}

const JSON_HEADERS = { 'content-type': 'application/json' };

export function errorToHttp(e: unknown, requestId?: string): HttpAnswer {
  const answer = (statusCode: number, body: HttpErrorBody): HttpAnswer => ({
    statusCode,
    headers: JSON_HEADERS,
    body: JSON.stringify(body),
  });
  if (e instanceof ValidationError)
    return answer(400, { error: { code: e.name, message: e.message, issues: e.issues } });
  if (e instanceof PolicyRefusedError || e instanceof PermissionDeniedError)
    return answer(403, { error: { code: e.name, message: e.message } });
  if (e instanceof NotFoundError) return answer(404, { error: { code: e.name, message: e.message } });
  if (
    e instanceof IllegalTransitionError ||
    e instanceof ConflictError ||
    e instanceof PolicyHashMismatchError
  )
    return answer(409, { error: { code: e.name, message: e.message } });
  if (e instanceof NotConfiguredError || e instanceof UnavailableError)
    return answer(503, { error: { code: e.name, message: e.message } });
  if (e instanceof TimedOutError) return answer(504, { error: { code: e.name, message: e.message } });
  return answer(500, {
    error: { code: 'InternalError', message: `internal error${requestId ? ` (request ${requestId})` : ''}` },
  });
}
