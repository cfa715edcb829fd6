import { describe, expect, it } from 'vitest';
import {
  ConflictError,
  IllegalTransitionError,
  NotConfiguredError,
  NotFoundError,
  PermissionDeniedError,
  PolicyHashMismatchError,
  PolicyRefusedError,
  UnavailableError,
  ValidationError,
} from '#core/errors.ts';
import { errorToHttp } from '#core/link/http-errors.ts';

describe('errorToHttp', () => {
  it.each([
    [new ValidationError([{ path: 'bandwidth', reason: 'bad' }]), 400],
    [new PolicyRefusedError(['pairs: no']), 403],
    [new PermissionDeniedError('self-approval'), 403],
    [new NotFoundError('no link'), 404],
    [new IllegalTransitionError('ACTIVE', 'approve'), 409],
    [new ConflictError('raced'), 409],
    [new PolicyHashMismatchError('a', 'b'), 409],
    [new NotConfiguredError('no peer key yet'), 503],
    [new UnavailableError('recorded; resume later'), 503],
  ])('maps %s to %i with its name and message', (error, status) => {
    const a = errorToHttp(error);
    expect(a.statusCode).toBe(status);
    expect(JSON.parse(a.body).error).toMatchObject({ code: error.name, message: error.message });
  });

  it('hides the message of an unexpected error', () => {
    const a = errorToHttp(new Error('secret key ABC in a message'), 'req-1');
    expect(a.statusCode).toBe(500);
    expect(a.body).not.toContain('ABC');
    expect(a.body).toContain('req-1');
  });
});
