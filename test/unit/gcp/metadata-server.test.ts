/**
 * The metadata server of a locally hosted function (local/gcp/metadata-server.ts), read with the
 * functions' own client (functions/gcp/metadata.ts): what Cloud Run's answers, only with
 * `Metadata-Flavor: Google`, every answer carrying it back; the tokens are the function's service
 * account's, accepted by the local Google auth.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { metadataValue, placementFromMetadata } from '#gcp/metadata.ts';
import { VirtualClock } from '#local/clock.ts';
import { GcpAuth, isAuthFailure } from '#local/gcp/auth.ts';
import { localProjectNumber, MetadataServer } from '#local/gcp/metadata-server.ts';

const SA = 'crosslink-intake@crosslink-local.iam.gserviceaccount.com';
let auth: GcpAuth;
let server: MetadataServer;
let fallback: MetadataServer;
let env: Record<string, string>;

beforeAll(async () => {
  auth = new GcpAuth({
    clock: new VirtualClock({ mode: 'manual', start: 0 }),
    project: 'crosslink-local',
    identities: [],
  });
  await auth.init();
  await auth.addServiceAccount(SA);
  server = new MetadataServer({ auth, project: 'crosslink-local', region: 'us-east4', serviceAccount: SA });
  fallback = new MetadataServer({
    auth,
    project: 'crosslink-local',
    region: 'us-east4',
    serviceAccount: undefined,
  });
  await server.listen();
  await fallback.listen();
  env = { GCE_METADATA_HOST: server.host };
});
afterAll(async () => {
  await server?.close();
  await fallback?.close();
});

const get = (path: string, headers: Record<string, string> = { 'Metadata-Flavor': 'Google' }) =>
  fetch(`http://${server.host}/computeMetadata/v1/${path}`, { headers });

describe('the local metadata server', () => {
  it('answers project and region as Cloud Run does, and the functions read their placement from it', async () => {
    const number = localProjectNumber('crosslink-local');
    expect(number).toMatch(/^[1-9]\d{11}$/);
    expect(await metadataValue('project/project-id', env)).toBe('crosslink-local');
    expect(await metadataValue('project/numeric-project-id', env)).toBe(number);
    expect(await metadataValue('instance/region', env)).toBe(`projects/${number}/regions/us-east4`);
    expect(await placementFromMetadata(env)).toEqual({ project: 'crosslink-local', region: 'us-east4' });
  });

  it("gives the service account's email, access token and ID token (default or by email)", async () => {
    expect(await metadataValue('instance/service-accounts/default/email', env)).toBe(SA);
    const token = JSON.parse(await metadataValue(`instance/service-accounts/${SA}/token`, env)) as {
      access_token: string;
      expires_in: number;
      token_type: string;
    };
    expect(token).toMatchObject({ token_type: 'Bearer', expires_in: 3600 });
    expect(auth.authenticate(`Bearer ${token.access_token}`)).toMatchObject({ email: SA });
    const id = await metadataValue('instance/service-accounts/default/identity?audience=https://steps', env);
    const claims = auth.verifyIdToken(id, 'https://steps');
    expect(isAuthFailure(claims)).toBe(false);
    expect(claims).toMatchObject({ email: SA, aud: 'https://steps' });
  });

  it('a function without a service account runs as the default compute account', async () => {
    const host = { GCE_METADATA_HOST: fallback.host };
    expect(await metadataValue('instance/service-accounts/default/email', host)).toBe(
      `${localProjectNumber('crosslink-local')}-compute@developer.gserviceaccount.com`,
    );
  });

  it('refuses a request without Metadata-Flavor (403), an ID token without audience (400), other paths (404)', async () => {
    const bare = await get('project/project-id', {});
    expect(bare.status).toBe(403);
    expect(bare.headers.get('metadata-flavor')).toBe('Google');
    expect((await get('instance/service-accounts/default/identity')).status).toBe(400);
    expect((await get('instance/service-accounts/someone@else.iam.gserviceaccount.com/token')).status).toBe(
      404,
    );
    expect((await get('instance/attributes/ssh-keys')).status).toBe(404);
    await expect(metadataValue('instance/zone-of-nothing', env)).rejects.toThrow(
      /metadata server: http:\/\/127\.0\.0\.1:\d+\/computeMetadata\/v1\/instance\/zone-of-nothing: 404/,
    );
  });
});
