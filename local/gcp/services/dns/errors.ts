/**
 * Cloud DNS's errors: the API answers in the older Google JSON error form, `{error: {code, message,
 * errors: [{domain: "global", reason, message}]}}`, with reasons such as `alreadyExists`,
 * `notFound`, `invalid`, `conditionNotMet` and `containerNotEmpty` (the client libraries read
 * `errors[0].reason`).
 */
import { GcpError, type RpcStatus } from '../../errors.ts';

export class DnsError extends GcpError {
  readonly reason: string;
  constructor(status: RpcStatus, reason: string, message: string, httpStatus?: number) {
    super(status, message, httpStatus === undefined ? {} : { httpStatus });
    this.reason = reason;
  }

  override toJSON() {
    const base = super.toJSON();
    return {
      error: {
        ...base.error,
        errors: [{ domain: 'global', reason: this.reason, message: this.message }],
      },
    } as ReturnType<GcpError['toJSON']>;
  }
}

/** 400 `invalid`: a field's value, named as Cloud DNS names it (`entity.managedZone.dnsName`). */
export const invalid = (field: string, value: unknown, why: string): DnsError =>
  new DnsError('INVALID_ARGUMENT', 'invalid', `Invalid value for '${field}': '${String(value)}': ${why}`);

/** 400 `required`: a missing field. */
export const required = (field: string): DnsError =>
  new DnsError('INVALID_ARGUMENT', 'required', `Required field '${field}' not specified`);

export const notFound = (what: string, name: string): DnsError =>
  new DnsError('NOT_FOUND', 'notFound', `The '${what}' resource named '${name}' does not exist.`);

export const alreadyExists = (what: string, name: string): DnsError =>
  new DnsError('ALREADY_EXISTS', 'alreadyExists', `The resource '${what}' named '${name}' already exists`);
