/**
 * Typed errors for Google REST APIs: one class per google.rpc canonical code we act on, built from
 * the `{error: {code, message, status, details}}` body (or a failed operation's `{code, message}`),
 * so callers and Workflows steps match on `name` (`NotFound`, `ResourceExhausted`, ...).
 */

export type CanonicalCode =
  | 'CANCELLED'
  | 'UNKNOWN'
  | 'INVALID_ARGUMENT'
  | 'DEADLINE_EXCEEDED'
  | 'NOT_FOUND'
  | 'ALREADY_EXISTS'
  | 'PERMISSION_DENIED'
  | 'UNAUTHENTICATED'
  | 'RESOURCE_EXHAUSTED'
  | 'FAILED_PRECONDITION'
  | 'ABORTED'
  | 'OUT_OF_RANGE'
  | 'UNIMPLEMENTED'
  | 'INTERNAL'
  | 'UNAVAILABLE'
  | 'DATA_LOSS';

const BY_NUMBER: Record<number, CanonicalCode> = {
  1: 'CANCELLED',
  2: 'UNKNOWN',
  3: 'INVALID_ARGUMENT',
  4: 'DEADLINE_EXCEEDED',
  5: 'NOT_FOUND',
  6: 'ALREADY_EXISTS',
  7: 'PERMISSION_DENIED',
  8: 'RESOURCE_EXHAUSTED',
  9: 'FAILED_PRECONDITION',
  10: 'ABORTED',
  11: 'OUT_OF_RANGE',
  12: 'UNIMPLEMENTED',
  13: 'INTERNAL',
  14: 'UNAVAILABLE',
  15: 'DATA_LOSS',
  16: 'UNAUTHENTICATED',
};

const BY_HTTP: Record<number, CanonicalCode> = {
  400: 'INVALID_ARGUMENT',
  401: 'UNAUTHENTICATED',
  403: 'PERMISSION_DENIED',
  404: 'NOT_FOUND',
  409: 'ABORTED',
  429: 'RESOURCE_EXHAUSTED',
  499: 'CANCELLED',
  500: 'INTERNAL',
  501: 'UNIMPLEMENTED',
  503: 'UNAVAILABLE',
  504: 'DEADLINE_EXCEEDED',
};

/** The canonical name of a numeric google.rpc / gRPC code (`5` -> `NOT_FOUND`). */
export function codeName(code: number | undefined): CanonicalCode {
  return (code !== undefined && BY_NUMBER[code]) || 'UNKNOWN';
}

/** A Google API refused or failed a call. */
export class GoogleApiError extends Error {
  /** Canonical code name (`NOT_FOUND`). */
  readonly status: CanonicalCode;
  /** HTTP status of the response (0 for a failed long-running operation). */
  readonly httpStatus: number;
  readonly details: unknown[];
  constructor(status: CanonicalCode, message: string, httpStatus = 0, details: unknown[] = []) {
    super(message);
    this.name = new.target.name;
    this.status = status;
    this.httpStatus = httpStatus;
    this.details = details;
  }
}

/** INVALID_ARGUMENT / FAILED_PRECONDITION / OUT_OF_RANGE: the request cannot succeed as sent. */
export class InvalidArgument extends GoogleApiError {}
export class FailedPrecondition extends GoogleApiError {}
export class NotFound extends GoogleApiError {}
export class AlreadyExists extends GoogleApiError {}
export class PermissionDenied extends GoogleApiError {}
export class Unauthenticated extends GoogleApiError {}
/** 429: quota or rate limit (retried by our clients before it surfaces). */
export class ResourceExhausted extends GoogleApiError {}
/** 503: retried by our clients before it surfaces. */
export class Unavailable extends GoogleApiError {}
export class Aborted extends GoogleApiError {}
export class Internal extends GoogleApiError {}
export class DeadlineExceeded extends GoogleApiError {}

const CLASSES: Partial<Record<CanonicalCode, typeof GoogleApiError>> = {
  INVALID_ARGUMENT: InvalidArgument,
  OUT_OF_RANGE: InvalidArgument,
  FAILED_PRECONDITION: FailedPrecondition,
  NOT_FOUND: NotFound,
  ALREADY_EXISTS: AlreadyExists,
  PERMISSION_DENIED: PermissionDenied,
  UNAUTHENTICATED: Unauthenticated,
  RESOURCE_EXHAUSTED: ResourceExhausted,
  UNAVAILABLE: Unavailable,
  ABORTED: Aborted,
  INTERNAL: Internal,
  UNKNOWN: Internal,
  DATA_LOSS: Internal,
  DEADLINE_EXCEEDED: DeadlineExceeded,
};

function make(
  status: CanonicalCode,
  message: string,
  httpStatus: number,
  details: unknown[],
): GoogleApiError {
  const Cls = CLASSES[status] ?? GoogleApiError;
  return new Cls(status, message, httpStatus, details);
}

/** From an HTTP error response body (google.rpc shape, or anything else a proxy sent). */
export function fromHttp(httpStatus: number, body: unknown): GoogleApiError {
  const e = (body as { error?: { message?: unknown; status?: unknown; details?: unknown } } | undefined)
    ?.error;
  const status =
    typeof e?.status === 'string' && Object.values(BY_NUMBER).includes(e.status as CanonicalCode)
      ? (e.status as CanonicalCode)
      : (BY_HTTP[httpStatus] ?? 'UNKNOWN');
  const message = typeof e?.message === 'string' ? e.message : `HTTP ${httpStatus}`;
  return make(status, message, httpStatus, Array.isArray(e?.details) ? e.details : []);
}

/** From a failed long-running operation's `error` (numeric google.rpc code). */
export function fromOperation(error: {
  code?: number;
  message?: string;
  details?: unknown[];
}): GoogleApiError {
  return make(
    BY_NUMBER[error.code ?? 2] ?? 'UNKNOWN',
    error.message ?? 'operation failed',
    0,
    error.details ?? [],
  );
}
