/**
 * The relay's AWS adapter: configuration errors name the variable (and the field of the
 * external-account JSON); a refused token exchange fails the publish before anything is sent.
 */
import { describe, expect, it } from 'vitest';
import { GoogleFederationError } from '#aws/google-federation.ts';
import { federatedPublisher, googleRelayConfig } from '#aws/google-relay.ts';
import { ValidationError } from '#core/errors.ts';
import { RELAY_ENV as ENV, EXTERNAL } from '../support/relay-config.ts';

function issues(env: Record<string, string | undefined>): string[] {
  try {
    googleRelayConfig(env);
  } catch (e) {
    if (e instanceof ValidationError) return e.issues.map((i) => `${i.path}: ${i.reason}`);
    throw e;
  }
  return [];
}

describe('googleRelayConfig', () => {
  it('reads a complete configuration, Pub/Sub defaulting to pubsub.googleapis.com', () => {
    const c = googleRelayConfig(ENV);
    expect(c).toMatchObject({
      project: 'payments-prod',
      topic: 'crosslink-peer-events',
      pubsubEndpoint: 'https://pubsub.googleapis.com',
      maxReceives: 5,
    });
    expect(c.externalAccount.audience).toBe(EXTERNAL.audience);
  });

  it('names every missing or bad variable', () => {
    expect(issues({})).toEqual([
      'CROSSLINK_GCP_PROJECT: is not set',
      'CROSSLINK_GCP_PEER_TOPIC: is not set',
      'CROSSLINK_RELAY_DLQ_URL: is not set',
      'CROSSLINK_RELAY_MAX_RECEIVES: is not set',
      'CROSSLINK_GCP_EXTERNAL_ACCOUNT: is not set (the external-account credential configuration, JSON)',
    ]);
    expect(issues({ ...ENV, CROSSLINK_GCP_PROJECT: 'set CROSSLINK_GCP_PROJECT at deploy' })[0]).toMatch(
      /^CROSSLINK_GCP_PROJECT: must be a Google project id/,
    );
    expect(issues({ ...ENV, CROSSLINK_RELAY_MAX_RECEIVES: '0' })).toEqual([
      'CROSSLINK_RELAY_MAX_RECEIVES: must be a positive integer, got "0"',
    ]);
    expect(issues({ ...ENV, CROSSLINK_GCP_EXTERNAL_ACCOUNT: '{not json' })).toEqual([
      'CROSSLINK_GCP_EXTERNAL_ACCOUNT: is not JSON',
    ]);
  });

  it('accepts only an AWS-sourced external account and names the bad field', () => {
    const bad = {
      ...EXTERNAL,
      type: 'service_account',
      subject_token_type: 'urn:ietf:params:oauth:token-type:jwt',
      credential_source: { file: '/var/run/token' },
    };
    expect(issues({ ...ENV, CROSSLINK_GCP_EXTERNAL_ACCOUNT: JSON.stringify(bad) })).toEqual([
      'CROSSLINK_GCP_EXTERNAL_ACCOUNT.type: must be "external_account"',
      'CROSSLINK_GCP_EXTERNAL_ACCOUNT.subject_token_type: must be "urn:ietf:params:aws:token-type:aws4_request" (an AWS source)',
      'CROSSLINK_GCP_EXTERNAL_ACCOUNT.credential_source.environment_id: must be "aws1"',
      'CROSSLINK_GCP_EXTERNAL_ACCOUNT.credential_source.regional_cred_verification_url: is required',
    ]);
  });
});

describe('federatedPublisher', () => {
  const message = {
    data: Buffer.from('{}'),
    attributes: { 'ce-id': 'x', 'ce-type': 't', crosslinkorigin: 'aws' as const },
  };

  it('fails the publish when the exchange is refused, and sends nothing', async () => {
    const sent: string[] = [];
    const publisher = federatedPublisher({
      client: {
        getAccessToken: async () => {
          throw new GoogleFederationError(
            'Google STS token exchange: 400 invalid_grant: SignatureDoesNotMatch',
          );
        },
      },
      pubsubEndpoint: 'http://127.0.0.1:1',
      project: 'payments-prod',
      topic: 'crosslink-peer-events',
      fetch: (async (url: string) => {
        sent.push(url);
        return new Response('{}');
      }) as typeof fetch,
    });
    await expect(publisher.publish(message)).rejects.toThrow(
      'Google token exchange refused: Google STS token exchange: 400 invalid_grant: SignatureDoesNotMatch',
    );
    expect(sent).toEqual([]);
  });

  it('publishes with the exchanged token as bearer and reports a refusal with its status', async () => {
    const calls: { url: string; auth: string | null; body: unknown }[] = [];
    let status = 200;
    const publisher = federatedPublisher({
      client: { getAccessToken: async () => ({ token: 'federated-token' }) },
      pubsubEndpoint: 'https://pubsub.googleapis.com',
      project: 'payments-prod',
      topic: 'crosslink-peer-events',
      fetch: (async (url: string, init: RequestInit) => {
        calls.push({
          url,
          auth: new Headers(init.headers).get('authorization'),
          body: JSON.parse(String(init.body)),
        });
        return status === 200
          ? new Response(JSON.stringify({ messageIds: ['42'] }))
          : new Response(JSON.stringify({ error: { status: 'PERMISSION_DENIED', message: 'no' } }), {
              status,
            });
      }) as typeof fetch,
    });
    expect(await publisher.publish(message)).toBe('42');
    expect(calls[0]).toEqual({
      url: 'https://pubsub.googleapis.com/v1/projects/payments-prod/topics/crosslink-peer-events:publish',
      auth: 'Bearer federated-token',
      body: { messages: [{ data: Buffer.from('{}').toString('base64'), attributes: message.attributes }] },
    });
    status = 403;
    await expect(publisher.publish(message)).rejects.toThrow(
      'Pub/Sub publish to crosslink-peer-events: 403 PERMISSION_DENIED no',
    );
  });
});
