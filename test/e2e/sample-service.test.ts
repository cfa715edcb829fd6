/**
 * The deployable artefact, end to end: test/fixtures/sample-service is packaged with `osls package`
 * (offline, no credentials), its CloudFormation template is loaded into a fresh local cloud, and
 * the chain runs: an event on the custom bus -> rule with an input transformer -> SQS -> the
 * bundled relay Lambda (in its worker, calling SQS with the SDK) with partial batch failures ->
 * redrive of the failing message to the DLQ; and the scheduled state machine with its Lambda task.
 */
import { generateKeyPairSync, sign } from 'node:crypto';
import { cpSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Sha256 } from '@aws-crypto/sha256-js';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { DescribeExecutionCommand, ListExecutionsCommand, SFNClient } from '@aws-sdk/client-sfn';
import { ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { SignatureV4 } from '@smithy/signature-v4';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lambdaRuntime } from '#local/aws/services/lambda.ts';
import { queuesOf } from '#local/aws/services/sqs.ts';
import { inputsHash, packageService } from '#local/aws/wiring/packaging.ts';
import { deployLocally, type LoadedStack, type LocalDeployment } from '#local/aws/wiring.ts';
import type { LocalCloud } from '#local/index.ts';
import { ADMIN_CREDENTIALS, startTestCloud } from '../support/local-cloud.ts';
import { eventually } from '../support/timers.ts';

const SERVICE_DIR = resolve(import.meta.dirname, '../fixtures/sample-service');
const ACCOUNT = '000000000000';
const REGION = 'us-east-1';
let cloud: LocalCloud;
let stack: LoadedStack;
let deployment: LocalDeployment | undefined;
let sqs: SQSClient;
let eb: EventBridgeClient;
let sfn: SFNClient;
let api = '';
const keys = generateKeyPairSync('rsa', { modulusLength: 2048 });
const jwk = { ...keys.publicKey.export({ format: 'jwk' }), kid: 'k1', alg: 'RS256', use: 'sig' };

/** A Google-style OIDC token signed with the test's key. */
function jwt(claims: Record<string, unknown>): string {
  const enc = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const head = enc({ alg: 'RS256', kid: 'k1', typ: 'JWT' });
  const body = enc(claims);
  return `${head}.${body}.${sign('RSA-SHA256', Buffer.from(`${head}.${body}`), keys.privateKey).toString('base64url')}`;
}

/** A request to the HTTP API signed with SigV4 for execute-api. */
async function signedFetch(
  path: string,
  body: unknown,
  credentials: { accessKeyId: string; secretAccessKey: string },
) {
  const url = new URL(path, api);
  const signer = new SignatureV4({ service: 'execute-api', region: REGION, credentials, sha256: Sha256 });
  const signed = await signer.sign({
    method: 'POST',
    protocol: 'http:',
    hostname: url.hostname,
    port: Number(url.port),
    path: url.pathname,
    headers: { host: url.host, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return fetch(url, { method: 'POST', headers: signed.headers, body: JSON.stringify(body) });
}

const queueUrl = (name: string) => `${cloud.aws.endpoint}/${ACCOUNT}/${name}`;
async function receive(name: string) {
  const out = await sqs.send(
    new ReceiveMessageCommand({ QueueUrl: queueUrl(name), MaxNumberOfMessages: 10, VisibilityTimeout: 300 }),
  );
  return out.Messages ?? [];
}

beforeAll(async () => {
  cloud = await startTestCloud();
  const config = { region: REGION, endpoint: cloud.aws.endpoint, credentials: ADMIN_CREDENTIALS };
  sqs = new SQSClient(config);
  eb = new EventBridgeClient(config);
  sfn = new SFNClient(config);
  // Package (only if the inputs changed), load the template, start the HTTP API: as npm start would.
  deployment = await deployLocally(cloud, SERVICE_DIR, {
    jwks: { 'https://accounts.google.com': { keys: [jwk] } },
  });
  stack = deployment.stack;
  api = deployment.httpApis.HttpApi as string;
}, 120_000);

afterAll(async () => {
  for (const c of [sqs, eb, sfn]) c?.destroy();
  await deployment?.stop();
  await cloud?.stop();
});

describe('the packaged sample service in the local cloud', () => {
  it('creates what the template declares', () => {
    expect(stack.functions.sort()).toEqual([
      'crosslink-sample-local-intake',
      'crosslink-sample-local-relay',
      'crosslink-sample-local-tick',
    ]);
    expect(Object.keys(stack.httpApis)).toEqual(['HttpApi']);
    expect(stack.stateMachines).toEqual(['crosslink-sample-ticker']);
    expect(stack.queues.sort()).toEqual([
      'crosslink-sample-links',
      'crosslink-sample-links-dlq',
      'crosslink-sample-out',
    ]);
    expect(stack.rules).toContain('crosslink-sample-link-requested');
    expect(stack.eventSourceMappings).toBe(1);
  });

  it('carries an event from the bus through the rule, SQS and the bundled relay, and redrives what fails', async () => {
    // Act
    const put = await eb.send(
      new PutEventsCommand({
        Entries: ['lk-a', 'lk-b', 'bad-c'].map((id) => ({
          EventBusName: 'crosslink-sample',
          Source: 'crosslink',
          DetailType: 'LinkRequested',
          Detail: JSON.stringify({ id }),
        })),
      }),
    );
    expect(put.FailedEntryCount).toBe(0);
    // Assess: the good ones come out of the relay (which called SQS through the SDK, from its worker).
    const relayed: string[] = [];
    await eventually(async () => {
      for (const m of await receive('crosslink-sample-out'))
        relayed.push(JSON.parse(m.Body as string).relayed);
      return relayed.length === 2;
    });
    expect(relayed.sort()).toEqual(['lk-a', 'lk-b']);
    // The failing one is retried after each 60 s visibility timeout, and after 3 receives goes to the DLQ.
    const links = () =>
      queuesOf(cloud.aws.edge.world, `arn:aws:sqs:${REGION}:${ACCOUNT}:crosslink-sample-links`);
    for (let receives = 1; receives <= 3; receives++) {
      await eventually(() => {
        const messages = links()?.messages ?? [];
        return messages.length === 1 && messages[0]?.receiveCount === receives;
      });
      expect(await receive('crosslink-sample-links-dlq')).toEqual([]);
      await cloud.clock.advance(60_000);
    }
    const dead = await eventually(async () => {
      const m = await receive('crosslink-sample-links-dlq');
      return m.length ? m : undefined;
    });
    expect(JSON.parse(dead[0]?.Body as string)).toEqual({ linkId: 'bad-c' });
    const relayCalls = lambdaRuntime(cloud.aws.edge.world, ACCOUNT, REGION).invocations.filter(
      (i) => i.functionName === 'crosslink-sample-local-relay',
    );
    expect(relayCalls.length).toBeGreaterThanOrEqual(3);
    expect(relayCalls.every((c) => c.outcome === 'ok')).toBe(true);
  }, 60_000);

  it('runs the scheduled state machine every 10 minutes of virtual time with its Lambda task', async () => {
    const stateMachineArn = `arn:aws:states:${REGION}:${ACCOUNT}:stateMachine:crosslink-sample-ticker`;
    const before = (await sfn.send(new ListExecutionsCommand({ stateMachineArn }))).executions?.length ?? 0;
    await cloud.clock.advance(10 * 60_000);
    const [latest] = await eventually(async () => {
      const list = (await sfn.send(new ListExecutionsCommand({ stateMachineArn }))).executions ?? [];
      return list.length > before && list[0]?.status !== 'RUNNING' ? list : undefined;
    });
    const d = await sfn.send(new DescribeExecutionCommand({ executionArn: latest?.executionArn }));
    expect(d.status).toBe('SUCCEEDED');
    expect(JSON.parse(d.output as string)).toMatchObject({
      by: 'crosslink-sample-local-tick',
      tickedAt: expect.stringMatching(/^2026-06-01T00:\d0:00Z$/),
    });
  }, 60_000);

  it('serves HTTP API routes with IAM auth: the verified caller is in the request context', async () => {
    const res = await signedFetch(
      '/links',
      { name: 'a' },
      { accessKeyId: 'AKIALOCALBOB00000001', secretAccessKey: 'bob-local-secret' },
    );
    expect(res.status).toBe(202);
    expect(res.headers.get('x-route')).toBe('POST /links');
    expect(await res.json()).toEqual({ caller: `arn:aws:iam::${ACCOUNT}:user/bob`, got: { name: 'a' } });
    const forged = await signedFetch(
      '/links',
      {},
      { accessKeyId: 'AKIALOCALBOB00000001', secretAccessKey: 'wrong' },
    );
    expect(forged.status).toBe(403);
    const unsigned = await fetch(new URL('/links', api), { method: 'POST', body: '{}' });
    expect(unsigned.status).toBe(403);
    const nowhere = await fetch(new URL('/nope', api));
    expect(nowhere.status).toBe(404);
  });

  it('serves HTTP API routes with a JWT authorizer: issuer, audience, expiry on the virtual clock, claims', async () => {
    const now = Math.floor(cloud.clock.now() / 1000);
    const good = {
      iss: 'https://accounts.google.com',
      aud: 'crosslink-relay',
      email: 'relay@crosslink-local.iam.gserviceaccount.com',
      iat: now,
      exp: now + 3600,
    };
    const call = (token: string) =>
      fetch(new URL('/relay/links', api), {
        method: 'POST',
        headers: { authorization: `Bearer ${token}` },
        body: '{"n":1}',
      });
    const ok = await call(jwt(good));
    expect(ok.status).toBe(202);
    expect(await ok.json()).toEqual({ caller: good.email, topic: 'links', got: { n: 1 } });
    expect((await call(jwt({ ...good, aud: 'someone-else' }))).status).toBe(401);
    expect((await call(jwt({ ...good, iss: 'https://evil.example' }))).status).toBe(401);
    expect((await call(jwt({ ...good, exp: now - 1 }))).status).toBe(401);
    const [h, b] = jwt(good).split('.');
    expect((await call(`${h}.${b}.${Buffer.from('forged').toString('base64url')}`)).status).toBe(401);
    expect((await fetch(new URL('/relay/links', api), { method: 'POST' })).status).toBe(401);
  });

  it('packages again only when the inputs change', async () => {
    expect((await packageService(SERVICE_DIR)).regenerated).toBe(false);
    const copy = mkdtempSync(join(tmpdir(), 'crosslink-sample-'));
    cpSync(join(SERVICE_DIR, 'serverless.yml'), join(copy, 'serverless.yml'));
    cpSync(join(SERVICE_DIR, 'src'), join(copy, 'src'), { recursive: true });
    const before = inputsHash(copy);
    expect(inputsHash(copy)).toBe(before);
    writeFileSync(join(copy, 'src', 'handlers.ts'), '// changed\n', { flag: 'a' });
    expect(inputsHash(copy)).not.toBe(before);
    expect(inputsHash(SERVICE_DIR)).toBe(inputsHash(SERVICE_DIR));
  });
});
