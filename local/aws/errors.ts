/**
 * Errors the AWS edge sends back. A service handler throws `AwsError` (or a subclass made with
 * `errorClass`) and the edge serializes it in the protocol of the request: JSON `__type`, query XML
 * `<ErrorResponse>`, EC2 `<Response><Errors>`, or a CBOR map, with the HTTP status it carries.
 */

export type ErrorFault = 'client' | 'server';

export interface AwsErrorOptions {
  status?: number;
  fault?: ErrorFault;
  /** Extra members of the error shape (e.g. `reason`, `resourceId`), serialized beside `message`. */
  fields?: Record<string, unknown>;
  /** Extra response headers (e.g. `retry-after`). */
  headers?: Record<string, string>;
}

/** An error in a service's own vocabulary: `code` is the error shape's name. */
export class AwsError extends Error {
  readonly code: string;
  readonly status: number;
  readonly fault: ErrorFault;
  readonly fields: Record<string, unknown>;
  readonly headers: Record<string, string>;
  constructor(code: string, message: string, options: AwsErrorOptions = {}) {
    super(message);
    this.name = 'AwsError';
    this.code = code;
    this.status = options.status ?? 400;
    this.fault = options.fault ?? (this.status >= 500 ? 'server' : 'client');
    this.fields = options.fields ?? {};
    this.headers = options.headers ?? {};
  }
}

/**
 * Makes a thrower for one modelled error shape, so a service declares its errors once:
 * `const NotFound = errorClass('ResourceNotFoundException', 404); throw NotFound('no such thing')`.
 */
export function errorClass(code: string, status: number, fault?: ErrorFault) {
  return (message: string, fields?: Record<string, unknown>): AwsError =>
    new AwsError(code, message, { status, fault: fault ?? (status >= 500 ? 'server' : 'client'), fields });
}

/** Why the edge refused to authenticate a request, before any service code ran. */
export type AuthFailure =
  | 'missing'
  | 'malformed'
  | 'unknown-key'
  | 'bad-signature'
  | 'expired'
  /** Temporary credentials (STS) past their expiration. */
  | 'expired-token'
  /** Presigned: X-Amz-Expires missing or out of 1..604800. */
  | 'query-parameters';

/** The authentication errors each protocol family answers with (what the real endpoints send). */
export function authError(protocol: string, failure: AuthFailure, detail: string): AwsError {
  if (failure === 'query-parameters' && protocol !== 'ec2-query') {
    return new AwsError('AuthorizationQueryParametersError', detail, { status: 400 });
  }
  if (protocol === 'ec2-query') {
    const code = failure === 'missing' ? 'MissingAuthenticationToken' : 'AuthFailure';
    return new AwsError(code, detail, { status: 401 });
  }
  if (protocol === 'query') {
    const code = {
      missing: 'MissingAuthenticationToken',
      malformed: 'IncompleteSignature',
      'unknown-key': 'InvalidClientTokenId',
      'bad-signature': 'SignatureDoesNotMatch',
      expired: 'SignatureDoesNotMatch',
      'expired-token': 'ExpiredToken',
      'query-parameters': 'AuthorizationQueryParametersError',
    }[failure];
    return new AwsError(code, detail, { status: 403 });
  }
  const code = {
    missing: 'MissingAuthenticationTokenException',
    malformed: 'IncompleteSignatureException',
    'unknown-key': 'UnrecognizedClientException',
    'bad-signature': 'InvalidSignatureException',
    expired: 'InvalidSignatureException',
    'expired-token': 'ExpiredTokenException',
    'query-parameters': 'AuthorizationQueryParametersError',
  }[failure];
  return new AwsError(code, detail, { status: failure === 'missing' ? 403 : 400 });
}
