/**
 * The AWS edge itself: dispatch, SigV4 verification with raw requests, error shapes per protocol,
 * the service-module interface (a test module sees the verified principal, region and clock), and
 * the admin API for the clock and faults.
 */

import { Sha256 } from '@aws-crypto/sha256-js';
import { SignatureV4 } from '@smithy/signature-v4';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AwsError } from '#local/aws/errors.ts';
import { defineService } from '#local/aws/service.ts';
import { awsServices } from '#local/aws/services/index.ts';
import type { LocalCloud } from '#local/index.ts';
import { ALICE_CREDENTIALS, admin, startTestCloud } from '../support/local-cloud.ts';

const probe = defineService<{ calls: number }>({
  name: 'probe',
  signingName: 'probe',
  protocol: 'json1.1',
  targetPrefix: 'Probe_20260101',
  createState: () => ({ calls: 0 }),
  operations: {
    WhoAmI(input: { echo?: string }, ctx) {
      ctx.state.calls++;
      return {
        arn: ctx.principal.arn,
        account: ctx.accountId,
        region: ctx.region,
        now: ctx.clock.now(),
        echo: input.echo,
        calls: ctx.state.calls,
      };
    },
    Fail() {
      throw new AwsError('ProbeNotFound', 'nothing here', { status: 404 });
    },
  },
});

const queryProbe = defineService({
  name: 'qprobe',
  signingName: 'qprobe',
  protocol: 'query',
  xmlNamespace: 'https://qprobe.amazonaws.com/doc/2026-01-01/',
  operations: {
    Echo(input: Record<string, unknown>) {
      return { Items: input.Items, Name: input.Name };
    },
  },
});

let cloud: LocalCloud;

async function signedFetch(
  opts: {
    target?: string;
    body?: string;
    creds?: { accessKeyId: string; secretAccessKey: string };
    service?: string;
    region?: string;
    contentType?: string;
    path?: string;
  } = {},
) {
  const url = new URL(cloud.aws.endpoint);
  const signer = new SignatureV4({
    service: opts.service ?? 'probe',
    region: opts.region ?? 'eu-west-2',
    sha256: Sha256,
    credentials: opts.creds ?? { accessKeyId: 'test', secretAccessKey: 'test' },
  });
  const body = opts.body ?? '{}';
  const headers: Record<string, string> = {
    host: url.host,
    'content-type': opts.contentType ?? 'application/x-amz-json-1.1',
  };
  if (opts.target !== undefined) headers['x-amz-target'] = opts.target;
  const signed = await signer.sign({
    method: 'POST',
    protocol: 'http:',
    hostname: url.hostname,
    port: Number(url.port),
    path: opts.path ?? '/',
    query: {},
    headers,
    body,
  });
  const { host: _, ...sendHeaders } = signed.headers;
  return fetch(`${cloud.aws.endpoint}${opts.path ?? '/'}`, { method: 'POST', headers: sendHeaders, body });
}

beforeAll(async () => {
  cloud = await startTestCloud({ awsServices: [...awsServices, probe, queryProbe] });
});
afterAll(async () => {
  await cloud.stop();
});

describe('AWS edge', () => {
  it('hands the verified principal, account, region (from the credential scope) and virtual clock to the handler', async () => {
    const res = await signedFetch({
      target: 'Probe_20260101.WhoAmI',
      body: '{"echo":"hi"}',
      creds: ALICE_CREDENTIALS,
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/x-amz-json-1.1');
    expect(await res.json()).toEqual({
      arn: 'arn:aws:iam::000000000000:user/alice',
      account: '000000000000',
      region: 'eu-west-2',
      now: Date.parse('2026-06-01T00:00:00Z'),
      echo: 'hi',
      calls: 1,
    });
  });

  it('refuses a wrong secret with InvalidSignatureException', async () => {
    const res = await signedFetch({
      target: 'Probe_20260101.WhoAmI',
      creds: { accessKeyId: 'test', secretAccessKey: 'wrong' },
    });
    expect(res.status).toBe(400);
    expect(res.headers.get('x-amzn-errortype')).toBe('InvalidSignatureException');
    expect(((await res.json()) as { __type: string }).__type).toBe('InvalidSignatureException');
  });

  it('refuses an unknown access key with UnrecognizedClientException', async () => {
    const res = await signedFetch({
      target: 'Probe_20260101.WhoAmI',
      creds: { accessKeyId: 'AKIANOBODY0000000000', secretAccessKey: 'x' },
    });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ __type: 'UnrecognizedClientException' });
  });

  it('refuses a request with no signature with MissingAuthenticationTokenException', async () => {
    const res = await fetch(cloud.aws.endpoint, {
      method: 'POST',
      headers: { 'x-amz-target': 'Probe_20260101.WhoAmI', 'content-type': 'application/x-amz-json-1.1' },
      body: '{}',
    });
    expect(res.status).toBe(403);
    expect(await res.json()).toMatchObject({ __type: 'MissingAuthenticationTokenException' });
  });

  it('refuses a malformed Authorization header with IncompleteSignatureException', async () => {
    const res = await fetch(cloud.aws.endpoint, {
      method: 'POST',
      headers: {
        'x-amz-target': 'Probe_20260101.WhoAmI',
        'content-type': 'application/x-amz-json-1.1',
        authorization: 'AWS4-HMAC-SHA256 Credential=test/20260601/us-east-1/probe/aws4_request',
        'x-amz-date': '20260601T000000Z',
      },
      body: '{}',
    });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ __type: 'IncompleteSignatureException' });
  });

  it('refuses a body changed after signing', async () => {
    const url = new URL(cloud.aws.endpoint);
    const signer = new SignatureV4({
      service: 'probe',
      region: 'us-east-1',
      sha256: Sha256,
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    });
    const signed = await signer.sign({
      method: 'POST',
      protocol: 'http:',
      hostname: url.hostname,
      port: Number(url.port),
      path: '/',
      query: {},
      headers: {
        host: url.host,
        'content-type': 'application/x-amz-json-1.1',
        'x-amz-target': 'Probe_20260101.WhoAmI',
      },
      body: '{"echo":"a"}',
    });
    const { host: _, ...headers } = signed.headers;
    const res = await fetch(cloud.aws.endpoint, { method: 'POST', headers, body: '{"echo":"b"}' });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ __type: 'InvalidSignatureException' });
  });

  it('refuses a signature scoped to another service', async () => {
    const res = await signedFetch({ target: 'Probe_20260101.WhoAmI', service: 'dynamodb' });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ __type: 'InvalidSignatureException' });
  });

  it('answers an unknown target with UnknownOperationException', async () => {
    const res = await signedFetch({ target: 'Probe_20260101.Nope' });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ __type: 'UnknownOperationException' });
  });

  it('serializes a thrown AwsError with its code and status', async () => {
    const res = await signedFetch({ target: 'Probe_20260101.Fail' });
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({ __type: 'ProbeNotFound', message: 'nothing here' });
  });

  it('speaks the query protocol: form input flattened to a tree, XML out, XML errors', async () => {
    const ok = await signedFetch({
      service: 'qprobe',
      contentType: 'application/x-www-form-urlencoded',
      body: 'Action=Echo&Version=2026-01-01&Name=n&Items.member.1=a&Items.member.2=b',
    });
    expect(ok.status).toBe(200);
    const xml = await ok.text();
    expect(xml).toContain(
      '<EchoResult><Items><member>a</member><member>b</member></Items><Name>n</Name></EchoResult>',
    );
    expect(xml).toContain('<RequestId>');
    const bad = await signedFetch({
      service: 'qprobe',
      contentType: 'application/x-www-form-urlencoded',
      body: 'Action=Echo&Version=2026-01-01',
      creds: { accessKeyId: 'test', secretAccessKey: 'wrong' },
    });
    expect(bad.status).toBe(403);
    expect(await bad.text()).toMatch(
      /<ErrorResponse[^>]*><Error><Type>Sender<\/Type><Code>SignatureDoesNotMatch<\/Code>/,
    );
  });

  it('moves the virtual clock through the admin API', async () => {
    const before = await admin(cloud, 'GET', '/clock');
    const after = await admin(cloud, 'POST', '/clock/advance', { by: '1h30m' });
    expect(Date.parse(after.now) - Date.parse(before.now)).toBe(90 * 60_000);
    await expect(admin(cloud, 'POST', '/clock/advance', { by: 'soon' })).rejects.toMatchObject({
      status: 400,
    });
  });

  it('injects a counted throttling fault on one operation, then lets calls through', async () => {
    await admin(cloud, 'POST', '/faults', {
      service: 'probe',
      operation: 'WhoAmI',
      kind: 'throttle',
      count: 2,
    });
    const statuses: number[] = [];
    for (let i = 0; i < 3; i++)
      statuses.push((await signedFetch({ target: 'Probe_20260101.WhoAmI' })).status);
    expect(statuses).toEqual([400, 400, 200]);
    expect((await admin(cloud, 'GET', '/faults')).faults).toEqual([]);
  });
});
