/**
 * Lambda `drCommanded` as its entry runs it (functions/aws/handlers/dr-commanded.ts): an input that
 * is not an EventBridge delivery is refused naming the fields; a command with no plan embedded (the
 * entry run from source, as a package made without CROSSLINK_DR_PLAN_FILE) is ignored and said so,
 * touching neither the fence nor a hook.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { handler } from '#aws/handlers/dr-commanded.ts';
import { buildEvent } from '#core/envelope.ts';
import { ValidationError } from '#core/errors.ts';

const context = {
  functionName: 'crosslink-dev-drCommanded',
  functionVersion: '1',
  invokedFunctionArn: 'arn:aws:lambda:eu-west-1:000000000000:function:crosslink-dev-drCommanded',
  memoryLimitInMB: '1024',
  awsRequestId: 'req-1',
  logGroupName: '/aws/lambda/crosslink-dev-drCommanded',
  logStreamName: 's',
  getRemainingTimeInMillis: () => 900_000,
  callbackWaitsForEmptyEventLoop: false,
};

beforeEach(() => {
  vi.stubEnv('AWS_REGION', 'eu-west-1');
  vi.stubEnv('CROSSLINK_TABLE', 'crosslink-links-dev');
  vi.stubEnv('CROSSLINK_BUS', 'crosslink-dev');
  vi.stubEnv('CROSSLINK_ACCOUNT_ID', '000000000000');
});
afterEach(() => {
  vi.unstubAllEnvs();
});

const command = buildEvent({
  name: 'DrActionStarted',
  origin: { cloud: 'gcp', project: 'crosslink-test', region: 'us-west1' },
  subject: 'ledger',
  data: {
    service: 'ledger',
    decision: 'failover',
    epoch: 3,
    index: 0,
    action: { type: 'promote-replica', cloud: 'aws' },
    via: 'relay',
    deadline: '2026-03-02T10:21:03.000Z',
    startedAt: '2026-03-02T10:06:03.000Z',
  },
  clock: { now: () => Date.parse('2026-03-02T10:06:03Z') },
});

describe('the drCommanded entry', () => {
  it('refuses an input that is not an EventBridge delivery, naming the fields', async () => {
    const err = await handler({ detail: command }, context).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ValidationError);
    expect((err as ValidationError).issues.map((i) => i.path)).toEqual(
      expect.arrayContaining(['detail-type', 'source']),
    );
  });

  it('ignores a command when no plan is embedded, and says so', async () => {
    const out = await handler(
      { version: '0', id: 'ev-1', 'detail-type': 'DrActionStarted', source: 'crosslink', detail: command },
      context,
    );
    expect(out).toEqual({ outcome: 'ignored', reason: 'no DR plan deployed (CROSSLINK_DR_PLAN)' });
  });
});
