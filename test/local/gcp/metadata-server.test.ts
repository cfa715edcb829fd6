/**
 * The metadata server of a locally hosted function (local/gcp/metadata-server.ts), read with the
 * functions' own client (functions/gcp/metadata.ts): what Cloud Run's answers, only with
 * `Metadata-Flavor: Google`, every answer carrying it back; the tokens are the function's service
 * account's, accepted by the local Google auth.
 */

import { instance, project } from 'gcp-metadata';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { placementFromMetadata } from '#gcp/metadata.ts';
import { VirtualClock } from '#local/clock.ts';
import { GcpAuth, isAuthFailure } from '#local/gcp/auth.ts';
import { localProjectNumber, MetadataServer } from '#local/gcp/metadata-server.ts';

const SA = 'crosslink-intake@crosslink-local.iam.gserviceaccount.com';
let auth: GcpAuth;
let server: MetadataServer;
let fallback: MetadataServer;

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
  // gcp-metadata reads the host from the process's environment, as the functions' processes have it.
  process.env.GCE_METADATA_HOST = server.host;
});
afterAll(async () => {
  delete process.env.GCE_METADATA_HOST;
  await server?.close();
  await fallback?.close();
});

/** One value, read with gcp-metadata as the functions read theirs. */
const value = async (path: string): Promise<string> => {
  const [kind, ...rest] = path.split('/');
  const read = kind === 'project' ? project : instance;
  const v = await read<unknown>(rest.join('/'));
  return typeof v === 'string' ? v : JSON.stringify(v);
};

const get = (path: string, headers: Record<string, string> = { 'Metadata-Flavor': 'Google' }) =>
  fetch(`http://${server.host}/computeMetadata/v1/${path}`, { headers });

describe('the local metadata server', () => {
  it('answers project and region as Cloud Run does, and the functions read their placement from it', async () => {
    const number = localProjectNumber('crosslink-local');
    expect(number).toMatch(/^[1-9]\d{11}$/);
    expect(await value('project/project-id')).toBe('crosslink-local');
    expect(await value('project/numeric-project-id')).toBe(number);
    expect(await value('instance/region')).toBe(`projects/${number}/regions/us-east4`);
    expect(await placementFromMetadata()).toEqual({ project: 'crosslink-local', region: 'us-east4' });
  });

  it("gives the service account's email, access token and ID token (default or by email)", async () => {
    expect(await value('instance/service-accounts/default/email')).toBe(SA);
    const token = JSON.parse(await value(`instance/service-accounts/${SA}/token`)) as {
      access_token: string;
      expires_in: number;
      token_type: string;
    };
    expect(token).toMatchObject({ token_type: 'Bearer', expires_in: 3600 });
    expect(auth.authenticate(`Bearer ${token.access_token}`)).toMatchObject({ email: SA });
    const id = await value('instance/service-accounts/default/identity?audience=https://steps');
    const claims = auth.verifyIdToken(id, 'https://steps');
    expect(isAuthFailure(claims)).toBe(false);
    expect(claims).toMatchObject({ email: SA, aud: 'https://steps' });
  });

  it('a function without a service account runs as the default compute account', async () => {
    const email = await fetch(
      `http://${fallback.host}/computeMetadata/v1/instance/service-accounts/default/email`,
      {
        headers: { 'Metadata-Flavor': 'Google' },
      },
    );
    expect(await email.text()).toBe(
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
    await expect(value('instance/zone-of-nothing')).rejects.toMatchObject({ status: 404 });
  });
});
