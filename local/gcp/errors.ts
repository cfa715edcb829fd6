/**
 * Errors the Google edge sends back, in the shape every Google REST API uses (google.rpc.Status as
 * JSON): `{error: {code, message, status, details}}`, with `code` the HTTP status and `status` the
 * canonical code name. A service module throws `GcpError` (or uses the helpers below) and the edge
 * serializes it.
 */

/** The canonical codes of google.rpc.Code with the HTTP status Google maps each to. */
export const RPC_STATUS = {
  CANCELLED: 499,
  UNKNOWN: 500,
  INVALID_ARGUMENT: 400,
  DEADLINE_EXCEEDED: 504,
  NOT_FOUND: 404,
  ALREADY_EXISTS: 409,
  PERMISSION_DENIED: 403,
  UNAUTHENTICATED: 401,
  RESOURCE_EXHAUSTED: 429,
  FAILED_PRECONDITION: 400,
  ABORTED: 409,
  OUT_OF_RANGE: 400,
  UNIMPLEMENTED: 501,
  INTERNAL: 500,
  UNAVAILABLE: 503,
  DATA_LOSS: 500,
} as const;

export type RpcStatus = keyof typeof RPC_STATUS;

/** The numeric google.rpc.Code of each name (used inside a long-running Operation's `error`). */
export const RPC_CODE: Record<RpcStatus, number> = {
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  PERMISSION_DENIED: 7,
  UNAUTHENTICATED: 16,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  ABORTED: 10,
  OUT_OF_RANGE: 11,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  DATA_LOSS: 15,
};

/** One entry of `error.details` (`@type` plus its fields), e.g. google.rpc.ErrorInfo / BadRequest. */
export type ErrorDetail = { '@type': string } & Record<string, unknown>;

export interface GcpErrorOptions {
  details?: ErrorDetail[];
  /** Extra response headers (e.g. `www-authenticate`, `retry-after`). */
  headers?: Record<string, string>;
  /** Overrides the HTTP status mapped from `status` (rare: injected faults with an explicit status). */
  httpStatus?: number;
}

/** An error in Google's vocabulary: `status` is the canonical code name, `code` its HTTP status. */
export class GcpError extends Error {
  readonly status: RpcStatus;
  readonly code: number;
  readonly details: ErrorDetail[];
  readonly headers: Record<string, string>;
  constructor(status: RpcStatus, message: string, options: GcpErrorOptions = {}) {
    super(message);
    this.name = 'GcpError';
    this.status = status;
    this.code = options.httpStatus ?? RPC_STATUS[status];
    this.details = options.details ?? [];
    this.headers = options.headers ?? {};
  }

  /** The JSON body of the HTTP response. */
  toJSON(): { error: { code: number; message: string; status: RpcStatus; details?: ErrorDetail[] } } {
    return {
      error: {
        code: this.code,
        message: this.message,
        status: this.status,
        ...(this.details.length > 0 ? { details: this.details } : {}),
      },
    };
  }

  /** The google.rpc.Status inside a failed Operation (`{code: <rpc number>, message, details}`). */
  toOperationError(): { code: number; message: string; details: ErrorDetail[] } {
    return { code: RPC_CODE[this.status], message: this.message, details: this.details };
  }
}

/** google.rpc.ErrorInfo detail. */
export function errorInfo(
  reason: string,
  domain: string,
  metadata: Record<string, string> = {},
): ErrorDetail {
  return { '@type': 'type.googleapis.com/google.rpc.ErrorInfo', reason, domain, metadata };
}

/** google.rpc.BadRequest detail with one violation per field. */
export function badRequest(violations: { field: string; description: string }[]): ErrorDetail {
  return { '@type': 'type.googleapis.com/google.rpc.BadRequest', fieldViolations: violations };
}

export const invalidArgument = (message: string, field?: string): GcpError =>
  new GcpError(
    'INVALID_ARGUMENT',
    message,
    field ? { details: [badRequest([{ field, description: message }])] } : {},
  );
export const notFound = (message: string): GcpError => new GcpError('NOT_FOUND', message);
export const alreadyExists = (message: string): GcpError => new GcpError('ALREADY_EXISTS', message);
export const failedPrecondition = (message: string): GcpError => new GcpError('FAILED_PRECONDITION', message);
export const permissionDenied = (message: string): GcpError => new GcpError('PERMISSION_DENIED', message);

/** The canonical code name for an HTTP status (for faults that give a status only). */
export function statusForHttp(http: number): RpcStatus {
  const exact = (Object.entries(RPC_STATUS) as [RpcStatus, number][]).find(([, v]) => v === http);
  if (exact) return exact[0];
  return http >= 500 ? 'INTERNAL' : 'FAILED_PRECONDITION';
}
