/**
 * The relay's self-test (functions/aws/relay-self-test.ts) with fakes for Google: each step's verdict
 * and reason, stopping at the first that fails.
 */
import { describe, expect, it } from 'vitest';
import { GoogleFederationError } from '#aws/google-federation.ts';
import { isSelfTest, relaySelfTest } from '#aws/relay-self-test.ts';
import { RELAY_ENV as ENV } from '../support/relay-config.ts';

const token = (t: string) => () => ({ getAccessToken: async () => ({ token: t }) });
const answering = (status: number, body: unknown, seen: { url?: string; body?: string } = {}) =>
  (async (url: string, init: RequestInit) => {
    seen.url = url;
    seen.body = String(init.body);
    return new Response(JSON.stringify(body), { status });
  }) as unknown as typeof fetch;

describe('the relay self-test', () => {
  it('knows its invocation from an SQS batch', () => {
    expect(isSelfTest({ crosslinkSelfTest: true })).toBe(true);
    expect(isSelfTest({ Records: [] })).toBe(false);
    expect(isSelfTest(null)).toBe(false);
  });

  it('ok: configuration, exchange, and the publish permission on the peer topic (nothing published)', async () => {
    const seen: { url?: string; body?: string } = {};
    const r = await relaySelfTest(ENV, {
      client: token('ya29.x'),
      fetch: answering(200, { permissions: ['pubsub.topics.publish'] }, seen),
    });
    expect(r.ok).toBe(true);
    expect(r.steps.map((s) => s.step)).toEqual(['configuration', 'token exchange', 'publish permission']);
    expect(seen.url).toBe(
      'https://pubsub.googleapis.com/v1/projects/payments-prod/topics/crosslink-peer-events:testIamPermissions',
    );
    expect(JSON.parse(seen.body as string)).toEqual({ permissions: ['pubsub.topics.publish'] });
  });

  it('fails the step that fails, with its reason, and runs no later one', async () => {
    const noConfig = await relaySelfTest({ ...ENV, CROSSLINK_GCP_PROJECT: '' }, { client: token('x') });
    expect(noConfig.steps).toEqual([
      {
        step: 'configuration',
        ok: false,
        detail: expect.stringMatching(/CROSSLINK_GCP_PROJECT: is not set/),
      },
    ]);
    const refused = await relaySelfTest(ENV, {
      client: () => ({
        getAccessToken: async () => {
          throw new GoogleFederationError(
            'Google STS token exchange: 400 unauthorized_client: condition not met',
          );
        },
      }),
    });
    expect(refused.ok).toBe(false);
    expect(refused.steps.at(-1)).toEqual({
      step: 'token exchange',
      ok: false,
      detail: 'Google STS token exchange: 400 unauthorized_client: condition not met',
    });
    const lacking = await relaySelfTest(ENV, { client: token('x'), fetch: answering(200, {}) });
    expect(lacking.steps.at(-1)).toMatchObject({
      ok: false,
      detail: expect.stringMatching(/lacks pubsub\.topics\.publish on crosslink-peer-events/),
    });
    const missing = await relaySelfTest(ENV, {
      client: token('x'),
      fetch: answering(404, { error: { status: 'NOT_FOUND', message: 'Resource not found' } }),
    });
    expect(missing.steps.at(-1)?.detail).toBe(
      'topics.testIamPermissions on crosslink-peer-events: 404 NOT_FOUND Resource not found',
    );
  });

  it('fails when the Pub/Sub it talks to has no IAM to ask (a bare emulator answers 501)', async () => {
    const r = await relaySelfTest(
      { ...ENV, CROSSLINK_PUBSUB_ENDPOINT: 'http://127.0.0.1:8085' },
      { client: token('x'), fetch: answering(501, { error: { status: 'UNIMPLEMENTED' } }) },
    );
    expect(r.ok).toBe(false);
    expect(r.steps.at(-1)?.detail).toBe(
      'http://127.0.0.1:8085 answered 501 (no IAM to ask): not Pub/Sub, or an emulator without its IAM front',
    );
  });

  it('fails the step, not the test, when Pub/Sub does not answer', async () => {
    const r = await relaySelfTest(ENV, {
      client: token('x'),
      fetch: async () => {
        throw new TypeError('fetch failed');
      },
    });
    expect(r.ok).toBe(false);
    expect(r.steps.at(-1)).toMatchObject({ step: 'publish permission', ok: false });
    expect(r.steps.at(-1)?.detail).toMatch(/did not answer: fetch failed$/);
  });
});
