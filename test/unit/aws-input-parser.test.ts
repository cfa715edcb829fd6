/**
 * The Lambda handlers' input parser: a malformed event is refused at the handler boundary, each
 * problem named, before any dependency is built (no environment is set here, so a handler that got
 * past the parser would fail on its environment instead, with another message).
 */
import { describe, expect, it } from 'vitest';
import { handler as intake } from '#aws/handlers/intake.ts';
import { handler as peerEvents } from '#aws/handlers/peer-events.ts';
import { handler as stepPark } from '#aws/handlers/step-park.ts';
import { handler as stepReport } from '#aws/handlers/step-report.ts';
import { handler as stepRequest } from '#aws/handlers/step-request.ts';
import { ValidationError } from '#core/errors.ts';

const context = {
  functionName: 'crosslink-dev-test',
  functionVersion: '1',
  invokedFunctionArn: 'arn:aws:lambda:us-east-1:000000000000:function:crosslink-dev-test',
  memoryLimitInMB: '512',
  awsRequestId: 'req-1',
  logGroupName: '/aws/lambda/crosslink-dev-test',
  logStreamName: 's',
  getRemainingTimeInMillis: () => 30_000,
  callbackWaitsForEmptyEventLoop: false,
};

const handlers = { intake, peerEvents, stepPark, stepReport, stepRequest };

describe('handler input parser', () => {
  it('fails a step whose input has no valid link id, naming the field', async () => {
    const err = await handlers.stepRequest({ linkId: 'payments' }, context).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ValidationError);
    expect((err as ValidationError).issues).toEqual([
      { path: 'linkId', reason: 'is not a link id (lk- and a lowercase ULID)' },
    ]);
    const missing = await handlers.stepReport({}, context).catch((e: unknown) => e);
    expect((missing as ValidationError).issues[0]?.path).toBe('linkId');
  });

  it('checks step-specific fields where present', async () => {
    const err = await handlers
      .stepPark({ linkId: 'lk-01kt07nv00h4n3a3ngvn91t9qs', phase: 'lunch', token: '' }, context)
      .catch((e: unknown) => e);
    const paths = (err as ValidationError).issues.map((i) => i.path).sort();
    expect(paths).toEqual(['phase', 'token']);
  });

  it('answers a malformed HTTP API event with the intake 400, not an exception', async () => {
    const out = await handlers.intake({ routeKey: 7 }, context);
    expect(out.statusCode).toBe(400);
    const body = JSON.parse(out.body);
    expect(body.error.issues.map((i: { path: string }) => i.path).sort()).toEqual([
      'requestContext',
      'routeKey',
    ]);
  });

  it('refuses a peer delivery that is not an SQS batch', async () => {
    const err = await handlers.peerEvents({ detail: 'x' }, context).catch((e: unknown) => e);
    expect((err as ValidationError).issues.map((i) => i.path)).toEqual(['Records']);
  });

  it('lets a well-formed input through to the handler (which then needs its environment)', async () => {
    const err = await handlers
      .stepReport({ linkId: 'lk-01kt07nv00h4n3a3ngvn91t9qs' }, context)
      .catch((e: unknown) => e);
    expect(err).not.toBeInstanceOf(ValidationError);
    expect(String((err as Error).message)).toMatch(/environment variable .* is not set/);
  });
});
