/**
 * The Google edge's routing by REST path templates and its token checks, without a network: custom
 * verbs win over a colon inside the last segment, emails with ':'-free paths route, host prefixes
 * pin a service, and clashing templates are refused at start.
 */
import { describe, expect, it } from 'vitest';
import { VirtualClock } from '#local/clock.ts';
import { FaultRegistry } from '#local/faults.ts';
import { GcpAuth, signJwt } from '#local/gcp/auth.ts';
import { GcpEdge } from '#local/gcp/edge.ts';
import { GcpIam } from '#local/gcp/iam/policy.ts';
import { defineGcpService } from '#local/gcp/service.ts';
import { seededRandom } from '#local/random.ts';

const ok = () => ({});
const secrets = defineGcpService({
  name: 'secrets',
  host: 'secretmanager.googleapis.com',
  routes: [
    {
      method: 'GET',
      path: '/v1/projects/{project}/secrets/{secret}/versions/{version}',
      operation: 'Get',
      handler: ok,
    },
    {
      method: 'GET',
      path: '/v1/projects/{project}/secrets/{secret}/versions/{version}:access',
      operation: 'Access',
      handler: ok,
    },
  ],
});
const iam = defineGcpService({
  name: 'iam',
  host: 'iamcredentials.googleapis.com',
  routes: [
    {
      method: 'POST',
      path: '/v1/projects/{project}/serviceAccounts/{account}:generateAccessToken',
      operation: 'Gen',
      handler: ok,
    },
    {
      method: 'GET',
      path: '/v1/projects/{project}/serviceAccounts/{account}',
      operation: 'GetSa',
      handler: ok,
    },
  ],
});
const files = defineGcpService({
  name: 'files',
  host: 'storage.googleapis.com',
  routes: [
    { method: 'GET', path: '/storage/v1/b/{bucket}/o/{object=**}', operation: 'GetObject', handler: ok },
  ],
});

function edge(services = [secrets, iam, files]) {
  const clock = new VirtualClock({ mode: 'manual', start: 0 });
  const random = seededRandom(1);
  return new GcpEdge({
    clock,
    faults: new FaultRegistry(random),
    random,
    auth: new GcpAuth({ clock, project: 'p', identities: [] }),
    // Routing only: nothing here is called, so no policy is checked.
    iam: new GcpIam({ projectNumber: () => '1' }),
    services,
    project: 'p',
    region: 'us-east4',
  });
}

describe('Google edge routing', () => {
  it('prefers the template whose custom verb matches', () => {
    const e = edge();
    expect(e.resolve('GET', '/v1/projects/p/secrets/s/versions/latest:access')?.route.route.operation).toBe(
      'Access',
    );
    expect(e.resolve('GET', '/v1/projects/p/secrets/s/versions/3')?.params).toEqual({
      project: 'p',
      secret: 's',
      version: '3',
    });
  });

  it('routes verbs after an email, decodes segments, and keeps a colon in a verb-less template', () => {
    const e = edge();
    const gen = e.resolve(
      'POST',
      '/v1/projects/-/serviceAccounts/crosslink%40x.iam.gserviceaccount.com:generateAccessToken',
    );
    expect(gen?.route.route.operation).toBe('Gen');
    expect(gen?.params.account).toBe('crosslink@x.iam.gserviceaccount.com');
    expect(e.resolve('GET', '/v1/projects/p/serviceAccounts/a:b')?.params.account).toBe('a:b');
  });

  it('takes the rest of the path for {var=**}, and pins a service by host prefix', () => {
    const e = edge();
    expect(e.resolve('GET', '/storage/v1/b/bk/o/a/b/c.txt')?.params.object).toBe('a/b/c.txt');
    expect(
      e.resolve('GET', '/secretmanager.googleapis.com/v1/projects/p/secrets/s/versions/1')?.route.service
        .name,
    ).toBe('secrets');
    expect(
      e.resolve('GET', '/iamcredentials.googleapis.com/v1/projects/p/secrets/s/versions/1'),
    ).toBeUndefined();
    expect(e.resolve('DELETE', '/v1/projects/p/secrets/s/versions/1')).toBeUndefined();
  });

  it('refuses two modules with the same method and template', () => {
    const twin = defineGcpService({ ...secrets, name: 'twin' });
    expect(() => edge([secrets, twin])).toThrow(/clashes/);
  });
});

/** The edge's auth with one identity, carol, on the given virtual and wall clocks. */
async function carolsAuth(clock: VirtualClock, wall: () => number): Promise<GcpAuth> {
  const auth = new GcpAuth({
    clock,
    project: 'p',
    identities: [{ name: 'carol', gcp: { email: 'carol@example.com' } }],
    wall,
  });
  await auth.init();
  return auth;
}

describe('Google edge auth without the token endpoint', () => {
  it('accepts a self-signed service-account JWT until its exp, refuses a stranger', async () => {
    // Prepare
    const clock = new VirtualClock({ mode: 'manual', start: 0 });
    let wall = Date.parse('2026-06-01T00:00:00Z');
    const auth = await carolsAuth(clock, () => wall);
    const key = auth.keyFile('carol');
    const iat = Math.floor(wall / 1000);
    const jwt = signJwt(
      {
        iss: key.client_email,
        sub: key.client_email,
        aud: 'https://networkconnectivity.googleapis.com/',
        iat,
        exp: iat + 3600,
      },
      key.private_key,
      key.private_key_id,
    );
    // Act / Assess
    expect(auth.authenticate(`Bearer ${jwt}`)).toMatchObject({
      email: 'carol@example.com',
      kind: 'self-signed-jwt',
      identity: 'carol',
    });
    wall += 2 * 3_600_000;
    expect(auth.authenticate(`Bearer ${jwt}`)).toMatchObject({ reason: 'expired' });
    expect(auth.authenticate(undefined)).toMatchObject({ reason: 'missing' });
    expect(auth.authenticate('Basic abc')).toMatchObject({ reason: 'invalid' });
  });

  it('expires access tokens on the wall clock their holders cache them by, not the virtual clock', async () => {
    // A client is told expires_in and caches the token against its own (wall) clock; a jump of the
    // virtual clock must not refuse a token every client still trusts.
    let wall = Date.parse('2026-06-01T00:00:00Z');
    const clock = new VirtualClock({ mode: 'manual', start: wall });
    const auth = await carolsAuth(clock, () => wall);
    const issued = auth.issueAccessToken({ email: 'carol@example.com', kind: 'service-account' });
    expect(issued).toMatchObject({ expiresAt: wall + 3_600_000, expiresInSeconds: 3600 });
    await clock.advance(6 * 3_600_000);
    expect(auth.authenticate(`Bearer ${issued.token}`)).toMatchObject({ email: 'carol@example.com' });
    wall += 3_600_000;
    expect(auth.authenticate(`Bearer ${issued.token}`)).toMatchObject({ reason: 'expired' });
    clock.stop();
  });

  it('mints ID tokens it can verify, on the virtual clock', async () => {
    const clock = new VirtualClock({ mode: 'manual', start: Date.parse('2026-06-01T00:00:00Z') });
    const auth = new GcpAuth({
      clock,
      project: 'p',
      identities: [],
      issuer: 'https://accounts.example.test',
    });
    await auth.init();
    const token = auth.mintIdToken({
      email: 'pubsub-push@p.iam.gserviceaccount.com',
      audience: 'https://relay',
    });
    expect(auth.verifyIdToken(token, 'https://relay')).toMatchObject({
      iss: 'https://accounts.example.test',
      email: 'pubsub-push@p.iam.gserviceaccount.com',
      email_verified: true,
    });
    expect(auth.verifyIdToken(token, 'https://other')).toMatchObject({ reason: 'invalid' });
    await clock.advance(3_600_000);
    expect(auth.verifyIdToken(token, 'https://relay')).toMatchObject({ reason: 'expired' });
    clock.stop();
  });
});
