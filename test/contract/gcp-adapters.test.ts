/**
 * The Google half's adapters against the local cloud's Google edge, with the real clients: the
 * TransportManager halves (our TransportClient), Secret Manager and Cloud KMS (the official clients
 * in their REST fallback), and the Workflows callback tokens (a real callback of a Workflows
 * execution). Each authenticates as the `crosslink` service account with the JWT-bearer flow.
 */
import { generateKeyPairSync } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { KeyManagementServiceClient } from '@google-cloud/kms';
import { SecretManagerServiceClient } from '@google-cloud/secret-manager';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CreateConnectionCommand, ListAttachPointsCommand } from '#aws/interconnect-client.ts';
import { openSealedKey, sealKey } from '#core/crypto/seal.ts';
import { CapacityUnavailableError } from '#core/link/stage.ts';
import type { LinkRequest } from '#core/policy/request.ts';
import { callbackTokens } from '#gcp/callback-tokens.ts';
import { googleAuth, jwtClient } from '#gcp/google-credentials.ts';
import { InvalidArgument, Unavailable } from '#gcp/google-errors.ts';
import { requestIdFor, TransportHalves } from '#gcp/halves.ts';
import { kmsUnwrap } from '#gcp/kms-unwrap.ts';
import { RemoteProfiles } from '#gcp/offerings.ts';
import { SecretManagerStore, SecretStoreError } from '#gcp/secret-store.ts';
import { TransportClient } from '#gcp/transport-client.ts';
import { WorkflowsService } from '#local/gcp/workflows-api.ts';
import type { LocalCloud } from '#local/index.ts';
import { admin, interconnectClient, startTestCloud } from '../support/local-cloud.ts';
import { yaml } from '../support/workflows.ts';

const PROJECT = 'crosslink-local';
const TAGS = { 'cost-centre': 'Network' };
let cloud: LocalCloud;
let smClient: SecretManagerServiceClient;
let kms: KeyManagementServiceClient;
let secrets: SecretManagerStore;
/** Every request the transport client sent (method, URL, body), and what it was answered. */
let wire: { method: string; url: string; body: string; status: number; text: string }[];
/** Answers of CreateTransport to replace by a 500 after the edge has acted on them (a lost answer). */
let loseNextCreates = 0;

function request(linkId: string, extra: Partial<LinkRequest> = {}): LinkRequest {
  return {
    name: `payments-${linkId.slice(-4)}`,
    initiator: 'gcp',
    bandwidth: '1Gbps',
    environment: 'nonprod',
    residency: 'US',
    aws: {
      accountId: '000000000000',
      region: 'us-east-1',
      directConnectGateway: 'dxgw-0',
      routes: ['10.10.0.0/16'],
    },
    gcp: { project: PROJECT, region: 'us-east4', network: 'core', routes: ['10.20.0.0/16'] },
    ...extra,
  };
}

/** A TransportClient without the recording (what another caller, or an earlier run, used). */
function plainClient(location = 'us-east4', maxRetries?: number): TransportClient {
  return new TransportClient({
    project: PROJECT,
    location,
    endpoint: cloud.gcp.endpoint,
    auth: jwtClient(cloud.gcp.auth.keyFile('crosslink')),
    sleep: (ms) => cloud.clock.advance(ms),
    ...(maxRetries === undefined ? {} : { maxRetries }),
  });
}

function halves(): TransportHalves {
  const recordingFetch: typeof fetch = async (url, init) => {
    const res = await fetch(url, init);
    const text = await res.text();
    const method = init?.method ?? 'GET';
    const isCreate = method === 'POST' && /\/transports\?/.test(String(url));
    if (isCreate && res.ok && loseNextCreates > 0) {
      loseNextCreates--;
      wire.push({ method, url: String(url), body: String(init?.body ?? ''), status: 500, text });
      return new Response(
        JSON.stringify({ error: { code: 500, message: 'backend error', status: 'INTERNAL' } }),
        {
          status: 500,
          headers: { 'content-type': 'application/json' },
        },
      );
    }
    wire.push({ method, url: String(url), body: String(init?.body ?? ''), status: res.status, text });
    return new Response(text, { status: res.status, headers: res.headers });
  };
  return new TransportHalves({
    clientFor: (location) =>
      new TransportClient({
        project: PROJECT,
        location,
        endpoint: cloud.gcp.endpoint,
        auth: jwtClient(cloud.gcp.auth.keyFile('crosslink')),
        sleep: (ms) => cloud.clock.advance(ms),
        retryBaseDelayMs: 10,
        fetch: recordingFetch,
      }),
    defaultLocation: 'us-east4',
    secrets,
  });
}

beforeAll(async () => {
  cloud = await startTestCloud();
  const options = {
    apiEndpoint: '127.0.0.1',
    port: cloud.gcp.port,
    protocol: 'http',
    fallback: true,
    auth: googleAuth(cloud.gcp.auth.keyFile('crosslink')),
  };
  smClient = new SecretManagerServiceClient(options);
  kms = new KeyManagementServiceClient(options);
  secrets = new SecretManagerStore(smClient, { project: PROJECT, labels: TAGS });
  wire = [];
});
afterAll(async () => {
  await smClient?.close();
  await kms?.close();
  await cloud?.stop();
});

async function storedKey(linkId: string): Promise<string> {
  const [v] = await smClient.accessSecretVersion({ name: `${secrets.nameOf(linkId)}/versions/latest` });
  return Buffer.from(v.payload!.data as Uint8Array).toString();
}

describe('TransportHalves: Google first (initiate)', () => {
  it('creates the transport labelled with the link, stores the generated key at once and returns only its name', async () => {
    // Prepare
    const h = halves();
    const linkId = 'lk-01jgcpinitiate00000000000a';
    wire = [];
    // Act
    const out = await h.initiate({
      linkId,
      request: request(linkId),
      tags: TAGS,
    });
    // Assess
    const key = await storedKey(linkId);
    expect(key.length).toBeGreaterThan(20);
    expect(out).toEqual({
      half: {
        connectionId: `projects/${PROJECT}/locations/us-east4/transports/${linkId}`,
        state: 'PENDING_KEY',
        adminEnabled: true,
        linkId,
      },
      keyRef: `projects/${PROJECT}/secrets/crosslink-${linkId}-activation-key`,
    });
    expect(JSON.stringify(out)).not.toContain(key);
    const create = wire.find((w) => w.method === 'POST')!;
    expect(new URL(create.url).searchParams.get('requestId')).toBe(requestIdFor(linkId, 'create'));
    expect(JSON.parse(create.body)).toMatchObject({
      network: `projects/${PROJECT}/global/networks/core`,
      remoteProfile: `projects/${PROJECT}/locations/us-east4/remoteTransportProfiles/aws-us-east-1`,
      bandwidth: 'BPS_1G',
      remoteAccountId: '000000000000',
      advertisedRoutes: ['10.20.0.0/16'],
      labels: { 'crosslink-link-id': linkId, 'cost-centre': 'network' },
    });
    const [secret] = await smClient.getSecret({ name: out.keyRef });
    expect(secret.labels).toEqual({ 'crosslink-link-id': linkId, 'cost-centre': 'network' });
    expect(await h.findHalves(linkId)).toEqual([out.half]);
  });

  it('a 500 (answer lost after the create) then a 503 storm: the retried step sends the same requestId and one transport exists', async () => {
    // Prepare: the first CreateTransport is carried out but answered 500; the retry meets two 503s.
    const h = halves();
    const linkId = 'lk-01jgcpstorm0000000000000b';
    const input = {
      linkId,
      request: request(linkId),
      tags: TAGS,
    };
    wire = [];
    loseNextCreates = 1;
    // Act
    const first = await h.initiate(input).catch((e: unknown) => e);
    await admin(cloud, 'POST', '/faults', {
      edge: 'gcp',
      service: 'networkconnectivity',
      operation: 'CreateTransport',
      kind: 'error',
      count: 2,
    });
    const second = await h.initiate(input);
    // Assess
    expect(first).toMatchObject({ name: 'Internal', httpStatus: 500 });
    const creates = wire.filter((w) => w.method === 'POST' && w.url.includes('/transports?'));
    expect(creates.map((c) => c.status)).toEqual([500, 503, 503, 200]);
    expect(new Set(creates.map((c) => new URL(c.url).searchParams.get('requestId')))).toEqual(
      new Set([requestIdFor(linkId, 'create')]),
    );
    const listed = await plainClient().listAllTransports();
    expect(listed.items.filter((t) => t.labels?.['crosslink-link-id'] === linkId)).toHaveLength(1);
    expect(second.half.state).toBe('PENDING_KEY');
    expect(JSON.stringify(second)).not.toContain(await storedKey(linkId));
    await admin(cloud, 'DELETE', '/faults');
  });

  it('adopts a transport created by an earlier request (ALREADY_EXISTS), re-reading its key into the store', async () => {
    // Prepare
    const h = halves();
    const linkId = 'lk-01jgcpadopt0000000000000c';
    const input = {
      linkId,
      request: request(linkId),
      tags: TAGS,
    };
    const earlier = await plainClient().createTransport(linkId, {
      network: `projects/${PROJECT}/global/networks/core`,
      remoteProfile: `projects/${PROJECT}/locations/us-east4/remoteTransportProfiles/aws-us-east-1`,
      bandwidth: 'BPS_1G',
      remoteAccountId: '000000000000',
      labels: { 'crosslink-link-id': linkId },
    });
    // Act
    const again = await h.initiate(input);
    // Assess
    expect(again.half.connectionId).toBe(earlier.transport?.name);
    expect(await storedKey(linkId)).toBe(earlier.activationKey);
  });
});

describe("TransportHalves: in the link's Google region, toward the profile discovered there", () => {
  it('Google first for us-west-2 / us-west1: ListRemoteTransportProfiles in us-west1, the profile by its resource name, the transport in us-west1', async () => {
    // Prepare
    const h = halves();
    const linkId = 'lk-01jgcpwest00000000000000g';
    const req = request(linkId, {
      aws: { ...request(linkId).aws, region: 'us-west-2' },
      gcp: { ...request(linkId).gcp, region: 'us-west1' },
    });
    wire = [];
    // Act
    const out = await h.initiate({ linkId, request: req, tags: TAGS });
    // Assess
    expect(out.half.connectionId).toBe(`projects/${PROJECT}/locations/us-west1/transports/${linkId}`);
    const paths = wire.map((w) => `${w.method} ${new URL(w.url).pathname}`);
    expect(paths.slice(0, 2)).toEqual([
      `GET /v1beta/projects/${PROJECT}/locations/us-west1/remoteTransportProfiles`,
      `POST /v1beta/projects/${PROJECT}/locations/us-west1/transports`,
    ]);
    const create = JSON.parse(wire[1]?.body ?? '{}');
    expect(create.remoteProfile).toBe(
      `projects/${PROJECT}/locations/us-west1/remoteTransportProfiles/aws-us-west-2`,
    );
    await h.deleteHalf(out.half.connectionId);
  });

  it('a pair no profile of the Google region serves is refused before anything is created, naming what is offered', async () => {
    const h = halves();
    const linkId = 'lk-01jgcpnopair0000000000000';
    const req = request(linkId, { gcp: { ...request(linkId).gcp, region: 'us-west1' } });
    wire = [];
    await expect(h.initiate({ linkId, request: req, tags: TAGS })).rejects.toThrow(
      /no remote transport profile in us-west1 reaches AWS us-east-1 \(ListRemoteTransportProfiles there offers AWS us-west-2\)/,
    );
    expect(wire.filter((w) => w.method !== 'GET')).toEqual([]);
  });
});

describe('RemoteProfiles', () => {
  it('lists each location once per TTL; a miss lists again before refusing; an unreachable location is unknown', async () => {
    let lists = 0;
    let now = 0;
    const client = plainClient();
    const counting = {
      listRemoteTransportProfiles: (o: { pageSize?: number; pageToken?: string }) => {
        lists++;
        return client.listRemoteTransportProfiles(o);
      },
    } as unknown as TransportClient;
    const profiles = new RemoteProfiles({ clientFor: () => counting, ttlMs: 1000, now: () => now });
    const [a, b] = await Promise.all([
      profiles.find('us-east4', 'us-east-1'),
      profiles.find('us-east4', 'us-east-1'),
    ]);
    expect(a.name).toBe(`projects/${PROJECT}/locations/us-east4/remoteTransportProfiles/aws-us-east-1`);
    expect(b).toEqual(a);
    expect(lists).toBe(1);
    now = 999;
    await profiles.find('us-east4', 'us-east-1');
    expect(lists).toBe(1);
    now = 1000;
    await profiles.find('us-east4', 'us-east-1');
    expect(lists).toBe(2);
    await expect(profiles.find('us-east4', 'eu-central-1')).rejects.toBeInstanceOf(CapacityUnavailableError);
    expect(lists).toBe(3);
    const westClient = plainClient('us-west2', 0);
    await admin(cloud, 'POST', '/gcp/networkconnectivity/region-outage', { location: 'us-west2', on: true });
    try {
      await expect(
        new RemoteProfiles({ clientFor: () => westClient }).find('us-west2', 'us-west-1'),
      ).rejects.toBeInstanceOf(Unavailable);
    } finally {
      await admin(cloud, 'POST', '/gcp/networkconnectivity/region-outage', {
        location: 'us-west2',
        on: false,
      });
    }
  });
});

describe('TransportHalves: Google second (accept), drain, delete, capacity', () => {
  async function awsKey(): Promise<string> {
    const aws = interconnectClient(cloud);
    const gateway = (await aws.send(new ListAttachPointsCommand({ environmentId: 'mce-aws-gcp-iad' })))
      .attachPoints[0]!.identifier;
    const conn = (
      await aws.send(
        new CreateConnectionCommand({
          bandwidth: '1Gbps',
          environmentId: 'mce-aws-gcp-iad',
          attachPoint: { directConnectGateway: gateway },
          remoteAccount: { identifier: PROJECT },
        }),
      )
    ).connection!;
    return conn.activationKey as string;
  }

  it('accepts the peer key, drains with adminEnabled false, deletes (twice: already gone), and Get says gone', async () => {
    // Prepare
    const h = halves();
    const linkId = 'lk-01jgcpaccept000000000000d';
    const key = await awsKey();
    wire = [];
    // Act
    const half = await h.accept({
      linkId,
      request: request(linkId, { initiator: 'aws' }),
      activationKey: key,
      tags: TAGS,
    });
    const drained = await h.disableHalf(half.connectionId, 1);
    const deleted = await h.deleteHalf(half.connectionId, 1);
    const again = await h.deleteHalf(half.connectionId, 2);
    // Assess
    expect(half).toEqual({
      connectionId: `projects/${PROJECT}/locations/us-east4/transports/${linkId}`,
      state: 'PENDING_CONFIG',
      adminEnabled: true,
      linkId,
    });
    expect(drained).toMatchObject({ connectionId: half.connectionId, adminEnabled: false });
    expect(deleted).toEqual({ alreadyGone: false });
    expect(again).toEqual({ alreadyGone: true });
    expect(await h.getHalf(half.connectionId)).toBeNull();
    expect(await h.findHalves(linkId)).toEqual([]);
    const mutations = wire
      .filter((w) => w.method !== 'GET')
      .map((w) => new URL(w.url).searchParams.get('requestId'));
    expect(mutations).toEqual([
      requestIdFor(linkId, 'accept'),
      requestIdFor(linkId, 'disable', 1),
      requestIdFor(linkId, 'delete', 1),
      requestIdFor(linkId, 'delete', 2),
    ]);
    expect(JSON.stringify([half, drained])).not.toContain(key);
    // Beside the key only what gcloud allows with --activation-key: no profile, bandwidth or account.
    const create = JSON.parse(wire.find((w) => w.method === 'POST')?.body ?? '{}');
    expect(Object.keys(create).sort()).toEqual([
      'advertisedRoutes',
      'description',
      'labels',
      'network',
      'providedActivationKey',
    ]);
  });

  it('a refused key: the error names the problem and never carries the key', async () => {
    const h = halves();
    const linkId = 'lk-01jgcpbadkey000000000000e';
    const key = Buffer.from(JSON.stringify({ version: 1, destinationAccountId: 'other-project' })).toString(
      'base64',
    );
    const err = await h
      .accept({
        linkId,
        request: request(linkId),
        activationKey: key,
        tags: {},
      })
      .then(
        () => new Error('accepted'),
        (e: unknown) => e as Error,
      );
    expect(err).toBeInstanceOf(InvalidArgument);
    expect(err.message).not.toContain(key);
    expect(err.message.length).toBeGreaterThan(0);
  });

  it('capacity follows the remote profile: OPEN with its bandwidths, CLOSED unavailable', async () => {
    const h = halves();
    const pair = request('lk-01jgcpcapacity00000000000');
    expect(await h.capacity(pair)).toMatchObject({
      state: 'available',
      availableBandwidths: expect.arrayContaining(['BPS_1G']),
      offering: `Google profile projects/${PROJECT}/locations/us-east4/remoteTransportProfiles/aws-us-east-1`,
      flow: 'INPUT_OR_OUTPUT',
    });
    await admin(cloud, 'POST', '/gcp/networkconnectivity/set-profile', {
      location: 'us-east4',
      profile: 'aws-us-east-1',
      orderState: 'CLOSED',
    });
    expect((await h.capacity(pair)).state).toBe('unavailable');
    await admin(cloud, 'POST', '/gcp/networkconnectivity/set-profile', {
      location: 'us-east4',
      profile: 'aws-us-east-1',
      orderState: 'OPEN',
    });
  });

  it("finding a link's transports in an unreachable location is unknown (Unavailable), not none; given the link's own location, only it is read", async () => {
    const h = halves();
    await admin(cloud, 'POST', '/gcp/networkconnectivity/region-outage', { location: 'us-west2', on: true });
    try {
      await expect(h.findHalves('lk-01jgcpstorm0000000000000b')).rejects.toBeInstanceOf(Unavailable);
      await expect(h.findHalves('lk-01jgcpstorm0000000000000b', 'us-west2')).rejects.toBeInstanceOf(
        Unavailable,
      );
      // The link's own location, given, is read alone: another region's outage does not hold it up
      // (the transport is the one the storm above made).
      const found = await h.findHalves('lk-01jgcpstorm0000000000000b', 'us-east4');
      expect(found.map((t) => t.connectionId)).toEqual([
        `projects/${PROJECT}/locations/us-east4/transports/lk-01jgcpstorm0000000000000b`,
      ]);
    } finally {
      await admin(cloud, 'POST', '/gcp/networkconnectivity/region-outage', {
        location: 'us-west2',
        on: false,
      });
    }
  });
});

describe('SecretManagerStore', () => {
  it('puts (twice: a retried step adds a version), reads back, deletes (twice), and never names the key in an error', async () => {
    // Prepare
    const linkId = 'lk-01jgcpsecret000000000000f';
    // Act
    const ref = await secrets.putActivationKey(linkId, 'first-key');
    await secrets.putActivationKey(linkId, 'the-key-value');
    const read = await secrets.getActivationKey(ref);
    await admin(cloud, 'POST', '/faults', {
      edge: 'gcp',
      service: 'secretmanager',
      operation: 'AddSecretVersion',
      kind: 'error',
      status: 400,
      count: 1,
    });
    const err = await secrets.putActivationKey(linkId, 'the-key-value').then(
      () => new Error('stored'),
      (e: unknown) => e as Error,
    );
    await secrets.deleteActivationKey(linkId);
    await secrets.deleteActivationKey(linkId);
    // Assess
    expect(ref).toBe(`projects/${PROJECT}/secrets/crosslink-${linkId}-activation-key`);
    expect(read).toBe('the-key-value');
    expect(err).toBeInstanceOf(SecretStoreError);
    expect(err.message).toBe(`add a version to ${ref}: INVALID_ARGUMENT`);
    await expect(secrets.getActivationKey(ref)).rejects.toMatchObject({ name: 'SecretStoreError', code: 5 });
  });
});

describe('kmsUnwrap (Cloud KMS asymmetricDecrypt)', () => {
  it('opens a key sealed to the KMS key version; a key sealed to another key is refused before KMS', async () => {
    // Prepare
    const [ring] = await kms.createKeyRing({
      parent: kms.locationPath(PROJECT, 'us-east4'),
      keyRingId: 'crosslink',
    });
    const [key] = await kms.createCryptoKey({
      parent: ring.name!,
      cryptoKeyId: 'activation',
      cryptoKey: {
        purpose: 'ASYMMETRIC_DECRYPT',
        versionTemplate: { algorithm: 'RSA_DECRYPT_OAEP_3072_SHA256' },
      },
    });
    const version = `${key.name}/cryptoKeyVersions/1`;
    const [pub] = await kms.getPublicKey({ name: version });
    const linkId = 'lk-01jgcpkms0000000000000000g';
    const sealed = sealKey('aws-issued-key', { publicKeyPem: pub.pem!, keyId: version }, linkId);
    const other = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const foreign = sealKey(
      'aws-issued-key',
      { publicKeyPem: other.publicKey.export({ type: 'spki', format: 'pem' }) as string, keyId: 'elsewhere' },
      linkId,
    );
    // Act
    const opened = await openSealedKey(sealed, linkId, { keyId: version, unwrap: kmsUnwrap(kms, version) });
    // Assess
    expect(opened).toBe('aws-issued-key');
    await expect(
      openSealedKey(foreign, linkId, { keyId: version, unwrap: kmsUnwrap(kms, version) }),
    ).rejects.toThrow();
  });
});

describe('callbackTokens (Workflows callbacks)', () => {
  let server: Server;
  let workflows: WorkflowsService;
  let origin: string;

  beforeAll(async () => {
    workflows = new WorkflowsService({
      clock: cloud.clock,
      authorize: (req) => {
        const r = cloud.gcp.auth.authenticate(
          typeof req.headers.authorization === 'string' ? req.headers.authorization : undefined,
        );
        return 'reason' in r ? 'unauthenticated' : true;
      },
    });
    server = createServer((req, res) => {
      if (!workflows.handle(req, res)) res.writeHead(404).end();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    workflows.baseUrl = origin;
    workflows.deploy(
      PROJECT,
      'us-east4',
      'wait',
      yaml`
        main:
          steps:
            - create:
                call: events.create_callback_endpoint
                args:
                  http_callback_method: POST
                result: cb
            - wait:
                call: events.await_callback
                args:
                  callback: \${cb}
                  timeout: 3600
                result: got
            - done:
                return: \${got.http_request.body}
      `,
    );
  });
  afterAll(async () => {
    await new Promise<void>((r) => server.close(() => r()));
  });

  async function parked(): Promise<{ name: string; url: string }> {
    const e = workflows.create(PROJECT, 'us-east4', 'wait');
    for (let i = 0; i < 200; i++) {
      const [url] = workflows.callbacks.waitingUrls(e.name);
      if (url) return { name: e.name, url };
      await new Promise((r) => setTimeout(r, 5));
    }
    throw new Error('the execution never parked on its callback');
  }

  async function ended(name: string) {
    for (let i = 0; i < 200; i++) {
      const e = workflows.get(name);
      if (e.state !== 'ACTIVE') return e;
      await new Promise((r) => setTimeout(r, 5));
    }
    throw new Error(`${name} did not end`);
  }

  it('success resumes the execution with {output}; failure with {error, cause}; a second answer after the end is a no-op', async () => {
    // Prepare
    const tokens = callbackTokens({ auth: jwtClient(cloud.gcp.auth.keyFile('crosslink')), origin });
    const a = await parked();
    const b = await parked();
    // Act
    await tokens.success(a.url, { state: 'ACTIVE' });
    await tokens.failure(b.url, 'LinkRejected', 'rejected by carol');
    const ea = await ended(a.name);
    const eb = await ended(b.name);
    await tokens.success(a.url, { state: 'ACTIVE' });
    // Assess
    expect(ea.state).toBe('SUCCEEDED');
    expect(JSON.parse(ea.result as string)).toEqual({ output: { state: 'ACTIVE' } });
    expect(JSON.parse(eb.result as string)).toEqual({ error: 'LinkRejected', cause: 'rejected by carol' });
  });

  it('refuses to send its access token anywhere but a callback URL of the Executions API, and without credentials the API refuses', async () => {
    const tokens = callbackTokens({ auth: jwtClient(cloud.gcp.auth.keyFile('crosslink')), origin });
    await expect(tokens.success('https://evil.example/v1/x', {})).rejects.toMatchObject({
      name: 'CallbackError',
    });
    await expect(tokens.success(`${origin}/v1/projects/p/topics/t`, {})).rejects.toMatchObject({
      name: 'CallbackError',
    });
    const a = await parked();
    const anonymous = callbackTokens({
      auth: { getAccessToken: async () => ({ token: 'ya29.nope' }) },
      origin,
    });
    await expect(anonymous.success(a.url, {})).rejects.toMatchObject({ name: 'CallbackError', status: 401 });
    await tokens.success(a.url, { state: 'done' });
    await ended(a.name);
  });
});
