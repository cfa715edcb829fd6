/**
 * The AWS edge itself: dispatch, SigV4 verification with raw requests, error shapes per protocol,
 * the service-module interface (a test module sees the verified principal, region and clock), and
 * the admin API for the clock and faults.
 */

import { Sha256 } from '@aws-crypto/sha256-js';
import { cbor } from '@smithy/core/cbor';
import { SignatureV4 } from '@smithy/signature-v4';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CallRecord } from '#local/aws/edge.ts';
import { AwsError } from '#local/aws/errors.ts';
import { RawResponse } from '#local/aws/protocols.ts';
import { defineService, type RestInput } from '#local/aws/service.ts';
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
    Proxy(_input: unknown, ctx) {
      return new RawResponse(202, { 'content-type': 'text/plain' }, `raw:${ctx.rawBody.toString()}`);
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

const ec2Probe = defineService({
  name: 'ec2probe',
  signingName: 'ec2probe',
  protocol: 'ec2-query',
  operations: {
    DescribeThings(input: { Filter?: { Name: string; Value: string[] }[] }) {
      const filter = input.Filter?.[0];
      if (filter?.Name === 'bad') throw new AwsError('InvalidParameterValue', 'bad filter', { status: 400 });
      return { thingSet: (filter?.Value ?? []).map((v) => ({ thingId: v })) };
    },
  },
});

const restProbe = defineService({
  name: 'restprobe',
  signingName: 'restprobe',
  protocol: 'rest-json',
  routes: [
    { method: 'POST', path: '/2015-03-31/functions/{FunctionName}/invocations', operation: 'Invoke' },
    { method: 'GET', path: '/files/{Key+}', operation: 'GetFile' },
  ],
  operations: {
    Invoke(input: RestInput) {
      if (input.path.FunctionName === 'missing') {
        throw new AwsError('ResourceNotFoundException', 'Function not found', { status: 404 });
      }
      return { fn: input.path.FunctionName, body: input.body, q: input.query };
    },
    GetFile(input: RestInput) {
      return { key: input.path.Key };
    },
  },
});

/** A service that declares unsigned payloads (as S3 / Lambda function URLs do). */
const unsignedProbe = defineService({
  name: 'uprobe',
  signingName: 'uprobe',
  protocol: 'json1.1',
  targetPrefix: 'UProbe_20260101',
  unsignedPayload: true,
  operations: {
    Echo(input: { echo?: string }) {
      return { echo: input.echo };
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
  // IAM off: these tests drive the edge's transport with probe services whose operations IAM's
  // service reference does not know; IAM at the edge is aws-iam.test.ts's subject.
  cloud = await startTestCloud({
    iam: false,
    awsServices: [...awsServices, probe, queryProbe, ec2Probe, restProbe, unsignedProbe],
  });
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

  it('routes rest-json by method and path template, labels percent-decoded (double-encoded signature)', async () => {
    const url = new URL(cloud.aws.endpoint);
    const signer = new SignatureV4({
      service: 'restprobe',
      region: 'us-east-1',
      sha256: Sha256,
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    });
    const call = async (method: string, path: string, query: Record<string, string>, body?: string) => {
      const signed = await signer.sign({
        method,
        protocol: 'http:',
        hostname: url.hostname,
        port: Number(url.port),
        path,
        query,
        headers: { host: url.host, ...(body ? { 'content-type': 'application/json' } : {}) },
        ...(body ? { body } : {}),
      });
      const { host: _, ...headers } = signed.headers;
      const qs = new URLSearchParams(query).toString();
      return fetch(`${cloud.aws.endpoint}${path}${qs ? `?${qs}` : ''}`, {
        method,
        headers,
        ...(body ? { body } : {}),
      });
    };
    const ok = await call('POST', '/2015-03-31/functions/my%3Afn/invocations', { Qualifier: '1' }, '{"a":1}');
    expect(ok.status).toBe(200);
    expect(await ok.json()).toEqual({ fn: 'my:fn', body: { a: 1 }, q: { Qualifier: '1' } });
    const file = await call('GET', '/files/a/b%20c.txt', {});
    expect(await file.json()).toEqual({ key: 'a/b c.txt' });
    const missing = await call('POST', '/2015-03-31/functions/missing/invocations', {}, '{}');
    expect(missing.status).toBe(404);
    expect(missing.headers.get('x-amzn-errortype')).toBe('ResourceNotFoundException');
  });

  it('lets a handler answer raw bytes (a proxy such as dynalite) after the edge verified SigV4', async () => {
    const res = await signedFetch({ target: 'Probe_20260101.Proxy', body: '{"TableName":"t"}' });
    expect(res.status).toBe(202);
    expect(await res.text()).toBe('raw:{"TableName":"t"}');
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

  it('speaks EC2 query: Filter.N.Value.N input, <item> lists, <Response><Errors> errors', async () => {
    const ok = await signedFetch({
      service: 'ec2probe',
      contentType: 'application/x-www-form-urlencoded',
      body: 'Action=DescribeThings&Version=2016-11-15&Filter.1.Name=id&Filter.1.Value.1=a&Filter.1.Value.2=b',
    });
    const xml = await ok.text();
    expect(xml).toMatch(
      /<DescribeThingsResponse xmlns="http:\/\/ec2.amazonaws.com\/doc\/2016-11-15\/"><requestId>[-0-9a-f]+<\/requestId>/,
    );
    expect(xml).toContain(
      '<thingSet><item><thingId>a</thingId></item><item><thingId>b</thingId></item></thingSet>',
    );
    const bad = await signedFetch({
      service: 'ec2probe',
      contentType: 'application/x-www-form-urlencoded',
      body: 'Action=DescribeThings&Version=2016-11-15&Filter.1.Name=bad',
    });
    expect(bad.status).toBe(400);
    expect(await bad.text()).toMatch(
      /<Response><Errors><Error><Code>InvalidParameterValue<\/Code><Message>bad filter<\/Message><\/Error><\/Errors><RequestID>/,
    );
    const unsigned = await fetch(cloud.aws.endpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'Action=DescribeThings&Version=2016-11-15',
    });
    expect(unsigned.status).toBe(401);
    expect(await unsigned.text()).toContain('<Code>MissingAuthenticationToken</Code>');
  });

  it('speaks rpcv2-cbor: Interconnect over /service/Interconnect/operation/<Op>, errors with a namespaced __type', async () => {
    const call = async (operation: string, input: object) =>
      signedFetch({
        service: 'interconnect',
        region: 'us-east-1',
        path: `/service/Interconnect/operation/${operation}`,
        contentType: 'application/cbor',
        body: Buffer.from(cbor.serialize(input)) as unknown as string,
      });
    const ok = await call('GetEnvironment', { id: 'mce-aws-gcp-iad' });
    expect(ok.status).toBe(200);
    expect(ok.headers.get('smithy-protocol')).toBe('rpc-v2-cbor');
    const out = cbor.deserialize(new Uint8Array(await ok.arrayBuffer())) as {
      environment: { location: string };
    };
    expect(out.environment.location).toBe('us-east4');
    const missing = await call('GetConnection', { identifier: 'mcc-00000000' });
    expect(missing.status).toBe(404);
    expect(cbor.deserialize(new Uint8Array(await missing.arrayBuffer()))).toMatchObject({
      __type: 'com.amazonaws.interconnect#ResourceNotFoundException',
    });
  });

  it('accepts a presigned (query-string) SigV4 request and refuses it once expired', async () => {
    const url = new URL(cloud.aws.endpoint);
    const signer = new SignatureV4({
      service: 'qprobe',
      region: 'us-east-1',
      sha256: Sha256,
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    });
    const presign = (signingDate?: Date) =>
      signer.presign(
        {
          method: 'GET',
          protocol: 'http:',
          hostname: url.hostname,
          port: Number(url.port),
          path: '/',
          query: { Action: 'Echo', Version: '2026-01-01', Name: 'pre signed' },
          headers: { host: url.host },
        },
        { expiresIn: 60, ...(signingDate ? { signingDate } : {}) },
      );
    const qs = (q: Record<string, unknown> | undefined) =>
      new URLSearchParams(Object.entries(q ?? {}).map(([k, v]): [string, string] => [k, String(v)]))
        .toString()
        .replace(/\+/g, '%20');
    const fresh = await presign();
    const ok = await fetch(`${cloud.aws.endpoint}/?${qs(fresh.query)}`);
    expect(ok.status).toBe(200);
    expect(await ok.text()).toContain('<Name>pre signed</Name>');
    const old = await presign(new Date(Date.now() - 5 * 60_000));
    const expired = await fetch(`${cloud.aws.endpoint}/?${qs(old.query)}`);
    expect(expired.status).toBe(403);
    expect(await expired.text()).toContain('expired');
  });

  it('refuses a presigned X-Amz-Expires missing or outside 1..604800, and a signing date in the future', async () => {
    const url = new URL(cloud.aws.endpoint);
    const signer = new SignatureV4({
      service: 'qprobe',
      region: 'us-east-1',
      sha256: Sha256,
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    });
    const presign = (signingDate?: Date) =>
      signer.presign(
        {
          method: 'GET',
          protocol: 'http:',
          hostname: url.hostname,
          port: Number(url.port),
          path: '/',
          query: { Action: 'Echo', Version: '2026-01-01', Name: 'x' },
          headers: { host: url.host },
        },
        { expiresIn: 60, ...(signingDate ? { signingDate } : {}) },
      );
    const send = (q: Record<string, unknown>) =>
      fetch(
        `${cloud.aws.endpoint}/?${new URLSearchParams(
          Object.entries(q).map(([k, v]): [string, string] => [k, String(v)]),
        )}`,
      );
    const signed = (await presign()).query ?? {};
    const { 'X-Amz-Expires': _, ...noExpires } = signed;
    for (const q of [
      noExpires,
      { ...signed, 'X-Amz-Expires': '0' },
      { ...signed, 'X-Amz-Expires': '604801' },
      { ...signed, 'X-Amz-Expires': '1.5' },
      { ...signed, 'X-Amz-Expires': 'soon' },
    ]) {
      const res = await send(q);
      expect(res.status).toBe(400);
      expect(await res.text()).toContain('AuthorizationQueryParametersError');
    }
    // Dated 20 minutes ahead (beyond the 15-minute skew window): not yet valid.
    const future = await send((await presign(new Date(Date.now() + 20 * 60_000))).query ?? {});
    expect(future.status).toBe(403);
    expect(await future.text()).toContain('Signature not yet current');
  });

  it('accepts UNSIGNED-PAYLOAD only from a service that declares unsigned payloads', async () => {
    const url = new URL(cloud.aws.endpoint);
    const tampered = async (service: string, target: string) => {
      const signer = new SignatureV4({
        service,
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
          'x-amz-target': target,
          'x-amz-content-sha256': 'UNSIGNED-PAYLOAD',
        },
        body: '{"echo":"signed"}',
      });
      const { host: _, ...headers } = signed.headers;
      // The body changes after signing: only an unsigned-payload service may not notice.
      return fetch(cloud.aws.endpoint, { method: 'POST', headers, body: '{"echo":"changed"}' });
    };
    const refused = await tampered('probe', 'Probe_20260101.WhoAmI');
    expect(refused.status).toBe(400);
    expect(await refused.json()).toMatchObject({ __type: 'InvalidSignatureException' });
    const allowed = await tampered('uprobe', 'UProbe_20260101.Echo');
    expect(allowed.status).toBe(200);
    expect(await allowed.json()).toEqual({ echo: 'changed' });
  });

  /** Calls Probe WhoAmI signed (as test) at `signingDate`. */
  const whoAmISignedAt = async (signingDate: Date) => {
    const url = new URL(cloud.aws.endpoint);
    const signer = new SignatureV4({
      service: 'probe',
      region: 'us-east-1',
      sha256: Sha256,
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    });
    const signed = await signer.sign(
      {
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
        body: '{}',
      },
      { signingDate },
    );
    const { host: _, ...headers } = signed.headers;
    return fetch(cloud.aws.endpoint, { method: 'POST', headers, body: '{}' });
  };

  it('refuses a header signature older than 15 minutes (wall clock)', async () => {
    const res = await whoAmISignedAt(new Date(Date.now() - 20 * 60_000));
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({
      __type: 'InvalidSignatureException',
      message: expect.stringContaining('Signature expired'),
    });
  });

  it('accepts a header signature current at the virtual time (a function signs with it), and no other', async () => {
    await cloud.clock.advance(6 * 3_600_000);
    const atVirtual = await whoAmISignedAt(new Date(cloud.clock.now()));
    expect(atVirtual.status).toBe(200);
    // Neither the wall time nor the virtual time: three hours from the virtual time, months from the wall.
    const between = await whoAmISignedAt(new Date(cloud.clock.now() - 3 * 3_600_000));
    expect(between.status).toBe(400);
    expect(await between.json()).toMatchObject({ __type: 'InvalidSignatureException' });
  });

  it('tells observers about every authenticated call, answered or refused by the service', async () => {
    const calls: CallRecord[] = [];
    const off = cloud.aws.edge.onCall((c) => calls.push(c));
    await signedFetch({ target: 'Probe_20260101.WhoAmI', body: '{"echo":"x"}', creds: ALICE_CREDENTIALS });
    await signedFetch({ target: 'Probe_20260101.Fail' });
    await signedFetch({
      target: 'Probe_20260101.WhoAmI',
      creds: { accessKeyId: 'test', secretAccessKey: 'bad' },
    });
    off();
    expect(calls.map((c) => [c.operation, c.principal.name, c.error?.code])).toEqual([
      ['WhoAmI', 'alice', undefined],
      ['Fail', 'admin', 'ProbeNotFound'],
    ]);
    expect(calls[0]).toMatchObject({ service: 'probe', region: 'eu-west-2', input: { echo: 'x' } });
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
