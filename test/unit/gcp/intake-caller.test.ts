/**
 * The Google intake's caller is the token of the header Cloud Run verified: X-Serverless-Authorization
 * when the request has it, else Authorization; never the other one, which Cloud Run passes on
 * unverified. A made-up token naming the approver beside the requester's own verified one is the
 * requester: her approval is refused (403), and no approval by the approver is recorded.
 */
import { describe, expect, it } from 'vitest';
import type { IntakeDeps } from '#core/link/intake.ts';
import { createLink, transition } from '#core/link/transition.ts';
import { callerOfToken, handleIntake, verifiedAuthorization } from '#gcp/intake.ts';
import { CAROL, LINK, stepHarness, T0 } from '../../support/step-harness.ts';

const ALICE = 'alice@example.com';

/** A token as Cloud Run forwards it (signature removed), or as anyone may write one. */
function bearer(email: string, signature = 'SIGNATURE_REMOVED_BY_GOOGLE'): string {
  const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
  return `Bearer ${b64({ alg: 'RS256', typ: 'JWT' })}.${b64({ email, aud: 'https://intake' })}.${signature}`;
}

/** A Google-initiated link alice requested, awaiting both approvals. */
async function awaitingApproval() {
  const h = stepHarness();
  let link = createLink(
    {
      id: LINK,
      name: 'east',
      initiator: 'gcp',
      environment: 'prod',
      requester: ALICE,
      bandwidth: '1Gbps',
      policyHash: 'a'.repeat(64),
    },
    T0,
  );
  link = transition(link, { kind: 'requestApproval' }, T0 + 1000).link;
  await h.store.create(link);
  const deps = {
    ...h.deps,
    origin: { cloud: 'gcp', project: 'crosslink-local', region: 'us-east4' },
    stages: {
      start: async () => ({ executionName: `${LINK}-provisioning-1`, started: true }),
      running: async () => true,
    },
  } as unknown as IntakeDeps;
  const approve = (headers: Record<string, string>) =>
    handleIntake(deps, {
      method: 'POST',
      path: `/links/${LINK}/approvals`,
      headers: { ...headers, 'content-type': 'application/json' },
      body: { decision: 'approve' },
    });
  return { h, approve };
}

describe('the caller of the Google intake', () => {
  it('is X-Serverless-Authorization when present, else Authorization', () => {
    expect(
      verifiedAuthorization({ 'x-serverless-authorization': bearer(ALICE), authorization: bearer(CAROL) }),
    ).toBe(bearer(ALICE));
    expect(verifiedAuthorization({ authorization: bearer(CAROL) })).toBe(bearer(CAROL));
    expect(verifiedAuthorization({})).toBeUndefined();
    expect(callerOfToken(bearer(ALICE))).toEqual({ principal: ALICE, side: 'gcp' });
    expect(callerOfToken('Bearer not-a-jwt')).toBeUndefined();
    // A token Cloud Run did not verify (its signature not replaced) names no caller, signed or not.
    expect(callerOfToken(bearer(ALICE, 'made-up'))).toBeUndefined();
    expect(callerOfToken(bearer(ALICE, 'eyJhbGciOi-a-real-looking-signature'))).toBeUndefined();
  });

  it("a made-up Authorization naming the approver beside the requester's verified token: 403, no approval recorded", async () => {
    // Prepare
    const { h, approve } = await awaitingApproval();
    // Act
    const answer = await approve({
      'x-serverless-authorization': bearer(ALICE),
      authorization: bearer(CAROL, 'made-up'),
    });
    // Assess
    expect(answer.statusCode).toBe(403);
    expect(answer.body).toMatch(/alice@example\.com requested this link and cannot approve it/);
    expect((await h.store.get(LINK))?.link.approvals).toEqual([]);
  });

  it('a valid token in X-Serverless-Authorization alone is the caller: the approver approves', async () => {
    const { h, approve } = await awaitingApproval();
    const answer = await approve({ 'x-serverless-authorization': bearer(CAROL) });
    expect(answer.statusCode).toBe(200);
    expect((await h.store.get(LINK))?.link.approvals).toEqual([
      expect.objectContaining({ side: 'gcp', by: CAROL }),
    ]);
  });

  it('without X-Serverless-Authorization the caller is the Authorization token', async () => {
    const { h, approve } = await awaitingApproval();
    const answer = await approve({ authorization: bearer(CAROL) });
    expect(answer.statusCode).toBe(200);
    expect((await h.store.get(LINK))?.link.approvals).toEqual([
      expect.objectContaining({ side: 'gcp', by: CAROL }),
    ]);
  });
});
