/**
 * The Google edge framework and its auth, driven by google-auth-library's real JWT-bearer flow:
 * key files, the token endpoint, bearer tokens on the virtual clock, ID tokens and JWKS, the
 * google.rpc error shape, faults, and routing to a pluggable module.
 */
import { createPublicKey, createVerify, generateKeyPairSync } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jwtClient, readKeyFile } from '#gcp/google-credentials.ts';
import { signJwt } from '#local/gcp/auth.ts';
import { GcpError } from '#local/gcp/errors.ts';
import { defineGcpService } from '#local/gcp/service.ts';
import { gcpServices } from '#local/gcp/services/index.ts';
import { enableServices } from '#local/gcp/services/serviceusage.ts';
import type { LocalCloud } from '#local/index.ts';
import { admin, startTestCloud } from '../support/local-cloud.ts';

const echo = defineGcpService<{ calls: number }>({
  name: 'echo',
  host: 'echo.googleapis.com',
  createState: () => ({ calls: 0 }),
  routes: [
    {
      method: 'GET',
      path: '/v1/projects/{project}/echoes/{echo}',
      operation: 'GetEcho',
      permission: { permission: 'echo.echoes.get', on: 'self' },
      handler: (ctx) => {
        ctx.state.calls++;
        if (ctx.params.echo === 'missing')
          throw new GcpError('NOT_FOUND', `echo ${ctx.params.echo} not found`);
        return {
          caller: ctx.caller?.email,
          kind: ctx.caller?.kind,
          project: ctx.params.project,
          calls: ctx.state.calls,
        };
      },
    },
    {
      method: 'POST',
      path: '/v1/projects/{project}/echoes/{echo}:shout',
      operation: 'ShoutEcho',
      permission: { permission: 'echo.echoes.shout', on: 'self' },
      handler: (ctx) => ({ shouted: String(ctx.body.text ?? '').toUpperCase(), echo: ctx.params.echo }),
    },
  ],
});

describe('Google edge: routing, auth, errors, faults', () => {
  let cloud: LocalCloud;
  let keysDir: string;

  beforeAll(async () => {
    keysDir = await mkdtemp(join(tmpdir(), 'crosslink-keys-'));
    cloud = await startTestCloud({ gcp: { keysDir, services: [...gcpServices, echo] } });
    // The echo API's permissions, held by alice and carol in project p1 only.
    cloud.gcp.iam.setCustomRoles({ 'projects/p1/roles/echoer': ['echo.echoes.get', 'echo.echoes.shout'] });
    // p1 and p2 enabled the echo API, as a project must for the edge to serve its calls.
    for (const p of ['p1', 'p2']) enableServices(cloud.gcp.edge.world, p, ['echo.googleapis.com']);
    cloud.gcp.iam.setBindings('test', [
      {
        resource: 'projects/p1',
        role: 'projects/p1/roles/echoer',
        members: ['user:alice@example.com', 'user:carol@example.com'],
      },
    ]);
  });
  afterAll(async () => {
    await cloud?.stop();
    await rm(keysDir, { recursive: true, force: true });
  });

  it('writes a key file per Google identity whose token_uri is the edge', async () => {
    // Prepare / Act
    const key = JSON.parse(await readFile(join(keysDir, 'alice.json'), 'utf8'));
    // Assess
    expect(key).toMatchObject({
      type: 'service_account',
      client_email: 'alice@example.com',
      token_uri: `${cloud.gcp.endpoint}/token`,
      project_id: 'crosslink-local',
    });
    expect(key.private_key).toMatch(/^-----BEGIN PRIVATE KEY-----/);
    expect([...cloud.gcp.keyFiles.keys()].sort()).toEqual(['admin', 'alice', 'carol', 'crosslink']);
    expect(cloud.handshake().gcp).toEqual({
      endpoint: cloud.gcp.endpoint,
      project: 'crosslink-local',
      region: 'us-east4',
      tokenUri: `${cloud.gcp.endpoint}/token`,
      jwksUri: `${cloud.gcp.endpoint}/oauth2/v3/certs`,
    });
  });

  it('runs the real JWT-bearer flow and hands the verified email to the handler', async () => {
    // Prepare
    const client = jwtClient(await readKeyFile(join(keysDir, 'alice.json')));
    // Act
    const res = await client.request<{ caller: string; kind: string; project: string }>({
      url: `${cloud.gcp.endpoint}/v1/projects/p1/echoes/e1`,
    });
    // Assess
    expect(res.data).toMatchObject({ caller: 'alice@example.com', kind: 'service-account', project: 'p1' });
  });

  it('routes custom verbs and the /<host>/ prefix', async () => {
    const client = jwtClient(await readKeyFile(join(keysDir, 'carol.json')));
    const shout = await client.request<{ shouted: string; echo: string }>({
      url: `${cloud.gcp.endpoint}/echo.googleapis.com/v1/projects/p1/echoes/e2:shout`,
      method: 'POST',
      data: { text: 'hi' },
    });
    expect(shout.data).toEqual({ shouted: 'HI', echo: 'e2' });
  });

  it('refuses a call without a token, with a garbage token, and after the token expires (401 UNAUTHENTICATED)', async () => {
    // Missing
    const missing = await fetch(`${cloud.gcp.endpoint}/v1/projects/p1/echoes/e1`);
    expect(missing.status).toBe(401);
    expect(missing.headers.get('www-authenticate')).toContain('Bearer');
    const body = (await missing.json()) as {
      error: { code: number; status: string; details: { reason: string }[] };
    };
    expect(body.error).toMatchObject({ code: 401, status: 'UNAUTHENTICATED' });
    expect(body.error.details[0]?.reason).toBe('CREDENTIALS_MISSING');
    // Garbage
    const garbage = await fetch(`${cloud.gcp.endpoint}/v1/projects/p1/echoes/e1`, {
      headers: { authorization: 'Bearer ya29.not-a-token' },
    });
    expect(garbage.status).toBe(401);
    expect(garbage.headers.get('www-authenticate')).toContain('error="invalid_token"');
    // A token from the endpoint lives an hour of the wall clock its holder caches it by: a jump of
    // the virtual clock does not expire it.
    const token = await fetch(cloud.gcp.tokenUri, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer',
        assertion: assertionFor(cloud, 'carol'),
      }),
    });
    const issued = (await token.json()) as { access_token: string; expires_in: number };
    expect(issued.expires_in).toBe(3600);
    const ok = await fetch(`${cloud.gcp.endpoint}/v1/projects/p1/echoes/e1`, {
      headers: { authorization: `Bearer ${issued.access_token}` },
    });
    expect(ok.status).toBe(200);
    await cloud.clock.advance(3 * 3_600_000);
    const later = await fetch(`${cloud.gcp.endpoint}/v1/projects/p1/echoes/e1`, {
      headers: { authorization: `Bearer ${issued.access_token}` },
    });
    expect(later.status).toBe(200);
    // Expired (a token whose lifetime has passed on the wall clock)
    const short = cloud.gcp.auth.issueAccessToken({
      email: 'carol@example.com',
      kind: 'service-account',
      lifetimeMs: 1,
    });
    await new Promise((r) => setTimeout(r, 5));
    const expired = await fetch(`${cloud.gcp.endpoint}/v1/projects/p1/echoes/e1`, {
      headers: { authorization: `Bearer ${short.token}` },
    });
    expect(expired.status).toBe(401);
    expect(expired.headers.get('www-authenticate')).toBe(
      'Bearer realm="https://accounts.google.com/", error="invalid_token"',
    );
    const e = (await expired.json()) as { error: { details: { reason: string }[] } };
    expect(e.error.details[0]?.reason).toBe('ACCESS_TOKEN_EXPIRED');
  });

  it('refuses an assertion signed by a key it did not issue', async () => {
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const now = Math.floor(Date.now() / 1000);
    const forged = signJwt(
      {
        iss: 'alice@example.com',
        aud: 'https://oauth2.googleapis.com/token',
        scope: 'https://www.googleapis.com/auth/cloud-platform',
        iat: now,
        exp: now + 3600,
      },
      privateKey,
      cloud.gcp.auth.keyFile('alice').private_key_id,
    );
    const res = await fetch(cloud.gcp.tokenUri, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer',
        assertion: forged,
      }),
    });
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({ error: 'invalid_grant', error_description: 'Invalid JWT Signature.' });
  });

  it('issues ID tokens (fetchIdToken) that verify against the JWKS', async () => {
    // Prepare
    const client = jwtClient(await readKeyFile(join(keysDir, 'crosslink.json')));
    // Act
    const idToken = await client.fetchIdToken('https://relay.example.com');
    const jwks = (await (await fetch(cloud.gcp.jwksUri)).json()) as {
      keys: ({ kid: string } & Record<string, unknown>)[];
    };
    // Assess
    const [h, p, s] = idToken.split('.') as [string, string, string];
    const header = JSON.parse(Buffer.from(h, 'base64url').toString());
    const claims = JSON.parse(Buffer.from(p, 'base64url').toString());
    const jwk = jwks.keys.find((k) => k.kid === header.kid);
    expect(jwk).toBeDefined();
    const verifier = createVerify('RSA-SHA256');
    verifier.update(`${h}.${p}`);
    expect(
      verifier.verify(createPublicKey({ key: jwk as never, format: 'jwk' }), Buffer.from(s, 'base64url')),
    ).toBe(true);
    expect(claims).toMatchObject({
      iss: 'https://accounts.google.com',
      aud: 'https://relay.example.com',
      email: 'crosslink@crosslink-local.iam.gserviceaccount.com',
      email_verified: true,
    });
    expect(claims.exp - claims.iat).toBe(3600);
    expect(claims.iat * 1000).toBeLessThanOrEqual(cloud.clock.now());
  });

  it('answers module errors and unknown routes in the google.rpc shape', async () => {
    const client = jwtClient(await readKeyFile(join(keysDir, 'alice.json')));
    const err = await client
      .request({ url: `${cloud.gcp.endpoint}/v1/projects/p1/echoes/missing` })
      .catch((e: { response: { status: number; data: unknown } }) => e.response);
    expect(err.status).toBe(404);
    expect(err.data).toEqual({
      error: { code: 404, message: 'echo missing not found', status: 'NOT_FOUND' },
    });
    const none = await fetch(`${cloud.gcp.endpoint}/v9/nothing/here`);
    expect(none.status).toBe(404);
    expect(((await none.json()) as { error: { status: string } }).error.status).toBe('NOT_FOUND');
  });

  it('applies faults of the shared registry with edge gcp', async () => {
    // Prepare
    const client = jwtClient(await readKeyFile(join(keysDir, 'alice.json')));
    await client.getAccessToken();
    await admin(cloud, 'POST', '/faults', {
      edge: 'gcp',
      service: 'echo',
      operation: 'GetEcho',
      kind: 'throttle',
      count: 1,
    });
    await admin(cloud, 'POST', '/faults', { edge: 'gcp', service: 'echo', kind: 'error', count: 1 });
    // Act
    const first = await fetch(`${cloud.gcp.endpoint}/v1/projects/p1/echoes/e1`, {
      headers: { authorization: `Bearer ${(await client.getAccessToken()).token}` },
    });
    const second = await fetch(`${cloud.gcp.endpoint}/v1/projects/p1/echoes/e1`, {
      headers: { authorization: `Bearer ${(await client.getAccessToken()).token}` },
    });
    const third = await fetch(`${cloud.gcp.endpoint}/v1/projects/p1/echoes/e1`, {
      headers: { authorization: `Bearer ${(await client.getAccessToken()).token}` },
    });
    // Assess
    expect(first.status).toBe(429);
    expect(((await first.json()) as { error: { status: string } }).error.status).toBe('RESOURCE_EXHAUSTED');
    expect(second.status).toBe(503);
    expect(((await second.json()) as { error: { status: string } }).error.status).toBe('UNAVAILABLE');
    expect(third.status).toBe(200);
  });

  it("answers IAM's 403 naming the permission and resource when no role grants it", async () => {
    // Prepare: alice holds the echo role in p1, not in p2
    const client = jwtClient(await readKeyFile(join(keysDir, 'alice.json')));
    // Act
    const err = await client
      .request({ url: `${cloud.gcp.endpoint}/v1/projects/p2/echoes/e1` })
      .catch((e: { response?: { status: number; data: unknown } }) => e.response);
    // Assess
    expect(err?.status).toBe(403);
    expect(err?.data).toEqual({
      error: {
        code: 403,
        message:
          "Permission 'echo.echoes.get' denied on resource 'projects/p2/echoes/e1' (or it may not exist).",
        status: 'PERMISSION_DENIED',
        details: [
          {
            '@type': 'type.googleapis.com/google.rpc.ErrorInfo',
            reason: 'IAM_PERMISSION_DENIED',
            domain: 'echo.googleapis.com',
            metadata: { permission: 'echo.echoes.get', resource: 'projects/p2/echoes/e1' },
          },
        ],
      },
    });
  });

  it('serves the admin API and the Google side of sim status', async () => {
    const status = await admin(cloud, 'GET', '/status');
    expect(status.gcp.endpoint).toBe(cloud.gcp.endpoint);
    const viaGcp = await fetch(`${cloud.gcp.endpoint}/_crosslink/clock`);
    expect(viaGcp.status).toBe(200);
  });
});

function assertionFor(cloud: LocalCloud, name: string): string {
  const key = cloud.gcp.auth.keyFile(name);
  const now = Math.floor(Date.now() / 1000);
  return signJwt(
    {
      iss: key.client_email,
      aud: key.token_uri,
      scope: 'https://www.googleapis.com/auth/cloud-platform',
      iat: now,
      exp: now + 3600,
    },
    key.private_key,
    key.private_key_id,
  );
}
