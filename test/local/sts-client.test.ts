/**
 * crosslink's AssumeRole client (functions/aws/sts.ts) over the wire: against the local cloud's STS
 * beside the SDK's own client, which must answer alike (credentials, their expiration, the error's
 * name, message and status for a refusal and for expired credentials), and against a bare HTTP
 * server for what the local cloud does not answer by itself (throttling and retries, a Receiver
 * fault, entities in the XML, a modelled error code).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  GetCallerIdentityCommand,
  AssumeRoleCommand as SdkAssumeRoleCommand,
  STSClient,
} from '@aws-sdk/client-sts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { roleCredentials } from '#aws/assume-role.ts';
import { AssumeRoleCommand, StsClient, StsServiceException, stsEndpoint, xmlText } from '#aws/sts.ts';
import type { LocalCloud } from '#local/index.ts';
import { ADMIN_CREDENTIALS, ALICE_CREDENTIALS, startTestCloud } from '../support/local-cloud.ts';

let cloud: LocalCloud;
beforeAll(async () => {
  cloud = await startTestCloud();
});
afterAll(async () => {
  await cloud?.stop();
});

type Creds = { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
const ours = (credentials: Creds = ADMIN_CREDENTIALS) =>
  new StsClient({ region: 'us-east-1', endpoint: cloud.aws.endpoint, credentials, maxAttempts: 1 });
const sdk = (credentials: Creds = ADMIN_CREDENTIALS) =>
  new STSClient({ region: 'us-east-1', endpoint: cloud.aws.endpoint, credentials, maxAttempts: 1 });

const HUB_ROLE = 'arn:aws:iam::111111111111:role/crosslink-hub-access';

async function errorOf(p: Promise<unknown>): Promise<Error & { $metadata?: { httpStatusCode?: number } }> {
  try {
    await p;
  } catch (err) {
    return err as Error & { $metadata?: { httpStatusCode?: number } };
  }
  throw new Error('expected the call to fail');
}

describe('StsClient against the local cloud, beside the SDK', () => {
  it('assumes a role: credentials the edge accepts as the assumed role, expiring as the SDK reads it', async () => {
    // Act
    const out = await ours().send(
      new AssumeRoleCommand({ RoleArn: HUB_ROLE, RoleSessionName: 'ours', DurationSeconds: 900 }),
    );
    const theirs = await sdk().send(
      new SdkAssumeRoleCommand({ RoleArn: HUB_ROLE, RoleSessionName: 'theirs', DurationSeconds: 900 }),
    );
    const c = out.Credentials;
    if (!c) throw new Error('no credentials');
    const who = await sdk({
      accessKeyId: c.AccessKeyId,
      secretAccessKey: c.SecretAccessKey,
      sessionToken: c.SessionToken,
    }).send(new GetCallerIdentityCommand({}));
    // Assess
    expect(c.AccessKeyId).toMatch(/^ASIA[A-Z2-7]{16}$/);
    expect(c.Expiration).toEqual(theirs.Credentials?.Expiration);
    expect(c.Expiration.getTime()).toBe(cloud.clock.now() + 900_000);
    expect(who.Arn).toBe('arn:aws:sts::111111111111:assumed-role/crosslink-hub-access/ours');
    expect(out.$metadata).toMatchObject({ httpStatusCode: 200, attempts: 1, totalRetryDelay: 0 });
    expect(out.$metadata.requestId).toBeTruthy();
  });

  it('turns an AccessDenied answer into an error named by its code, as the SDK does', async () => {
    // Act: alice has no sts:AssumeRole grant.
    const input = { RoleArn: HUB_ROLE, RoleSessionName: 'alice' };
    const mine = await errorOf(ours(ALICE_CREDENTIALS).send(new AssumeRoleCommand(input)));
    const theirs = await errorOf(sdk(ALICE_CREDENTIALS).send(new SdkAssumeRoleCommand(input)));
    // Assess
    expect(mine).toBeInstanceOf(StsServiceException);
    expect(mine.name).toBe('AccessDenied');
    expect(mine.name).toBe(theirs.name);
    expect(mine.message).toBe(theirs.message);
    expect(mine.message).toMatch(
      /^User: arn:aws:iam::000000000000:user\/alice is not authorized to perform: sts:AssumeRole/,
    );
    expect(mine.$metadata?.httpStatusCode).toBe(403);
    expect((mine as StsServiceException).$fault).toBe('client');
  });

  it('refuses with ExpiredToken once the caller’s own session has expired, as the SDK does', async () => {
    // Prepare: a session of the hub role, which may not assume itself; its expiry is what is checked.
    const first = await ours().send(
      new AssumeRoleCommand({ RoleArn: HUB_ROLE, RoleSessionName: 'short', DurationSeconds: 900 }),
    );
    const c = first.Credentials;
    if (!c) throw new Error('no credentials');
    const session = {
      accessKeyId: c.AccessKeyId,
      secretAccessKey: c.SecretAccessKey,
      sessionToken: c.SessionToken,
    };
    await cloud.clock.advance(901_000);
    // Act
    const input = { RoleArn: HUB_ROLE, RoleSessionName: 'again' };
    const mine = await errorOf(ours(session).send(new AssumeRoleCommand(input)));
    const theirs = await errorOf(sdk(session).send(new SdkAssumeRoleCommand(input)));
    // Assess
    expect(mine.name).toBe('ExpiredToken');
    expect([mine.name, mine.message, mine.$metadata?.httpStatusCode]).toEqual([
      theirs.name,
      theirs.message,
      theirs.$metadata?.httpStatusCode,
    ]);
  });

  it('serves roleCredentials (assume-role.ts): one AssumeRole per hour, the session name cut to 64', async () => {
    // Prepare
    const provider = roleCredentials(ours(), HUB_ROLE, 'x'.repeat(80), () => cloud.clock.now());
    // Act
    const a = await provider();
    const b = await provider();
    const who = await sdk(a).send(new GetCallerIdentityCommand({}));
    // Assess
    expect(b).toBe(a);
    expect(a.expiration?.getTime()).toBe(cloud.clock.now() + 3_600_000);
    expect(who.Arn).toBe(`arn:aws:sts::111111111111:assumed-role/crosslink-hub-access/${'x'.repeat(64)}`);
  });
});

describe('StsClient against a bare server', () => {
  let server: Server;
  let endpoint: string;
  /** What the server answers, in order, one per request; the requests it saw. */
  let answers: { status: number; body: string }[] = [];
  const seen: { headers: Record<string, unknown>; body: string }[] = [];
  beforeAll(async () => {
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        seen.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
        const a = answers.shift() ?? { status: 500, body: '' };
        res.writeHead(a.status, { 'content-type': 'text/xml' }).end(a.body);
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  const error = (type: string, code: string, message: string) =>
    `<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>${type}</Type><Code>${code}</Code><Message>${message}</Message></Error><RequestId>r-err</RequestId></ErrorResponse>`;
  const ok = `<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><AssumeRoleResult><Credentials><AccessKeyId>ASIAEXAMPLE</AccessKeyId><SecretAccessKey>s&amp;cret&#x2F;&lt;x&gt;</SecretAccessKey><SessionToken>tok+/=</SessionToken><Expiration>2026-06-01T01:00:00Z</Expiration></Credentials></AssumeRoleResult><ResponseMetadata><RequestId>r-ok</RequestId></ResponseMetadata></AssumeRoleResponse>`;
  const client = (maxAttempts = 3) =>
    new StsClient({ region: 'eu-west-1', endpoint, credentials: ADMIN_CREDENTIALS, maxAttempts });
  const input = { RoleArn: HUB_ROLE, RoleSessionName: 's&n', DurationSeconds: 3600, ExternalId: 'e x' };

  it('sends the form signed for sts in its region, and reads the answer with its entities', async () => {
    // Prepare
    answers = [{ status: 200, body: ok }];
    seen.length = 0;
    // Act
    const out = await client().send(new AssumeRoleCommand(input));
    // Assess
    expect(Object.fromEntries(new URLSearchParams(seen[0]?.body))).toEqual({
      Action: 'AssumeRole',
      Version: '2011-06-15',
      RoleArn: HUB_ROLE,
      RoleSessionName: 's&n',
      DurationSeconds: '3600',
      ExternalId: 'e x',
    });
    expect(seen[0]?.headers['content-type']).toBe('application/x-www-form-urlencoded; charset=utf-8');
    expect(String(seen[0]?.headers.authorization)).toMatch(
      /^AWS4-HMAC-SHA256 Credential=test\/\d{8}\/eu-west-1\/sts\/aws4_request, /,
    );
    expect(out.Credentials).toEqual({
      AccessKeyId: 'ASIAEXAMPLE',
      SecretAccessKey: 's&cret/<x>',
      SessionToken: 'tok+/=',
      Expiration: new Date('2026-06-01T01:00:00Z'),
    });
    expect(out.$metadata.requestId).toBe('r-ok');
  });

  it('retries throttling and a Receiver fault as the SDK’s standard mode does, then answers', async () => {
    // Prepare
    answers = [
      { status: 400, body: error('Sender', 'Throttling', 'Rate exceeded') },
      { status: 503, body: error('Receiver', 'ServiceUnavailable', 'try again') },
      { status: 200, body: ok },
    ];
    seen.length = 0;
    // Act
    const out = await client().send(new AssumeRoleCommand(input));
    // Assess
    expect(seen).toHaveLength(3);
    expect(out.$metadata.attempts).toBe(3);
    expect(out.$metadata.totalRetryDelay).toBeGreaterThan(0);
  });

  it('gives up after maxAttempts with the last error, and does not retry a client error', async () => {
    // Prepare
    answers = [
      { status: 500, body: error('Receiver', 'InternalFailure', 'boom') },
      { status: 500, body: error('Receiver', 'InternalFailure', 'boom again') },
    ];
    seen.length = 0;
    // Act
    const failed = await errorOf(client(2).send(new AssumeRoleCommand(input)));
    answers = [{ status: 400, body: error('Sender', 'MalformedPolicyDocument', 'bad policy') }];
    const modelled = await errorOf(client().send(new AssumeRoleCommand(input)));
    // Assess
    expect(seen).toHaveLength(3);
    expect([failed.name, failed.message, (failed as StsServiceException).$fault]).toEqual([
      'InternalFailure',
      'boom again',
      'server',
    ]);
    expect([modelled.name, modelled.message]).toEqual(['MalformedPolicyDocumentException', 'bad policy']);
  });
});

describe('StsClient endpoint and XML', () => {
  it('resolves the endpoint as the SDK does: config, AWS_ENDPOINT_URL_STS, AWS_ENDPOINT_URL, regional', () => {
    expect(stsEndpoint({ region: 'us-east-1', endpoint: 'http://a:1' }, {}).href).toBe('http://a:1/');
    expect(
      stsEndpoint(
        { region: 'us-east-1' },
        { AWS_ENDPOINT_URL_STS: 'http://s:2', AWS_ENDPOINT_URL: 'http://g:3' },
      ).href,
    ).toBe('http://s:2/');
    expect(stsEndpoint({ region: 'us-east-1' }, { AWS_ENDPOINT_URL: 'http://g:3' }).href).toBe('http://g:3/');
    expect(stsEndpoint({ region: 'eu-central-1' }, {}).href).toBe('https://sts.eu-central-1.amazonaws.com/');
    expect(stsEndpoint({ region: 'cn-north-1' }, {}).href).toBe('https://sts.cn-north-1.amazonaws.com.cn/');
    expect(() => stsEndpoint({ region: 'moon' }, {})).toThrow(
      'StsClient region: "moon" is not an AWS region such as us-east-1',
    );
  });

  it('reads an element’s text with XML’s entities, and nothing for an absent element', () => {
    expect(xmlText('<a><Code>A&amp;B &#65;&#x42;&quot;&apos;</Code></a>', 'Code')).toBe('A&B AB"\'');
    expect(xmlText('<a/>', 'Code')).toBeUndefined();
  });
});
