/**
 * Answering a wait's token: a throttled SendTaskSuccess does not turn a recorded approval into a 500
 * (the token goes back for the next resumer or the fallback poll), and parking the key wait of a
 * closed link answers that key token.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { type HttpApiEvent, type IntakeDeps, intake } from '#aws/intake.ts';
import { park, resumeWaiting } from '#core/link/waits.ts';
import { approvedLink, BOB, type Harness, LINK, stepHarness } from '../support/step-harness.ts';

let h: Harness;
beforeEach(() => {
  h = stepHarness();
});

function throttledOnce(h: Harness) {
  const success = h.deps.tokens.success;
  let calls = 0;
  h.deps.tokens.success = async (token, output) => {
    if (calls++ === 0) {
      const e = new Error('Rate exceeded') as Error & { $metadata: { httpStatusCode: number } };
      e.name = 'ThrottlingException';
      e.$metadata = { httpStatusCode: 400 };
      throw e;
    }
    await success(token, output);
  };
}

describe('answer', () => {
  it('keeps the approval and answers 200 when SendTaskSuccess is throttled; the token is answered later', async () => {
    // Prepare: the gcp side approved; the provisioning run waits on its approval token
    const link = approvedLink();
    await h.store.create({
      ...link,
      state: 'AWAITING_APPROVAL',
      approvals: link.approvals.filter((a) => a.side === 'gcp'),
    });
    await h.store.putToken(LINK, 'approval', 't-approval');
    throttledOnce(h);
    // Act: bob approves for AWS
    const event: HttpApiEvent = {
      routeKey: 'POST /links/{id}/approvals',
      pathParameters: { id: LINK },
      body: JSON.stringify({ decision: 'approve' }),
      requestContext: { authorizer: { iam: { userArn: BOB } } },
    };
    const out = await intake(h.deps as unknown as IntakeDeps, event);
    // Assess
    expect(out.statusCode).toBe(200);
    const stored = await h.store.get(LINK);
    expect(stored?.link.state).toBe('APPROVED');
    expect(h.store.tokens.get(`${LINK}-approval`)).toBe('t-approval');
    expect(h.answered).toEqual([]);
    await resumeWaiting(h.deps, stored?.link as never, ['approval']);
    expect(h.answered).toEqual([{ token: 't-approval', output: { state: 'APPROVED' } }]);
  });

  it('still throws an error a retry cannot fix (AccessDenied)', async () => {
    await h.store.create(approvedLink());
    await h.store.putToken(LINK, 'approval', 't-1');
    h.deps.tokens.success = async () => {
      const e = new Error('not authorized');
      e.name = 'AccessDeniedException';
      throw e;
    };
    const link = (await h.store.get(LINK))?.link;
    await expect(resumeWaiting(h.deps, link as never, ['approval'])).rejects.toThrow('not authorized');
  });
});

describe('park(key) on a closed link', () => {
  it('answers the key token it just parked with the failure, not the approval token', async () => {
    const link = approvedLink();
    await h.store.create({
      ...link,
      state: 'REJECTED',
      stages: [...link.stages, { state: 'REJECTED', at: link.updatedAt, reason: 'rejected by carol' }],
    });
    await park(h.deps, { linkId: LINK, phase: 'key', token: 't-key' });
    expect(h.answered).toEqual([{ token: 't-key', error: 'LinkRejected', cause: 'rejected by carol' }]);
  });
});
