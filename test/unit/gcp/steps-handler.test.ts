/**
 * The Google `steps` function: `POST /<step>` routed to the cloud-neutral steps with the own side
 * Google, errors mapped to the names and statuses the workflows match, and no activation key in any
 * answer, log line or event. The store, bus and provider are in memory (the adapters have their own
 * contract tests against the local cloud).
 */
import { generateKeyPairSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { http } from '@google-cloud/functions-framework';
import { getTestServer } from '@google-cloud/functions-framework/testing';
import { beforeEach, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { ManualClock } from '#core/clock.ts';
import {
  ConflictError,
  IllegalTransitionError,
  NotFoundError,
  PermissionDeniedError,
  TimedOutError,
  ValidationError,
} from '#core/errors.ts';
import type { LinkRecord } from '#core/link/model.ts';
import type { OwnHalfView, OwnHalves } from '#core/link/ports.ts';
import { CapacityUnavailableError, HalfFailedError, type StepDeps } from '#core/link/stage.ts';
import { createLink, type LinkInput, transition } from '#core/link/transition.ts';
import { loadPolicy } from '#core/policy/policy.ts';
import { CallbackError } from '#gcp/callback-tokens.ts';
import { Internal, ResourceExhausted, Unavailable } from '#gcp/google-errors.ts';
import { SecretStoreError } from '#gcp/secret-store.ts';
import { runStep, type StepLogEntry, stepErrorAnswer, stepsHandler } from '#gcp/steps.ts';
import { MemorySecretStore } from '../../support/memory-secrets.ts';
import { MemoryEventSink } from '../../support/memory-store.ts';
import { MemoryStageStore } from '../../support/step-harness.ts';

const T0 = Date.parse('2026-11-26T10:00:00Z');
const LINK = 'lk-01jgc0000000000000000000ab';
const KEY = 'GOOGLE-ISSUED-KEY-c2VjcmV0LWtleS1tYXRlcmlhbA';
const TRANSPORT = `projects/payments-prod/locations/us-east4/transports/${LINK}`;

/** A provider that keeps one transport per link, issues KEY on initiate and can disable. */
class FakeTransports implements OwnHalves {
  readonly halves = new Map<string, OwnHalfView>();
  readonly disabled: string[] = [];
  secrets: MemorySecretStore;
  constructor(secrets: MemorySecretStore) {
    this.secrets = secrets;
  }
  async capacity() {
    return {
      state: 'available',
      availableBandwidths: ['BPS_1G', 'BPS_10G'],
      offering: 'profile aws-us-east-1',
    };
  }
  async initiate(input: { linkId: string }) {
    const half: OwnHalfView = {
      connectionId: TRANSPORT,
      state: 'PENDING_KEY',
      adminEnabled: true,
      linkId: input.linkId,
    };
    this.halves.set(TRANSPORT, half);
    return { half, keyRef: await this.secrets.putActivationKey(input.linkId, KEY) };
  }
  async accept(): Promise<OwnHalfView> {
    throw new Error('not used');
  }
  async getHalf(id: string) {
    return this.halves.get(id) ?? null;
  }
  async findHalves(linkId: string) {
    return [...this.halves.values()].filter((h) => h.linkId === linkId);
  }
  async deleteHalf(id: string) {
    this.halves.delete(id);
  }
  async disableHalf(id: string, attempt?: number) {
    this.disabled.push(`${id}#${attempt}`);
    const h = this.halves.get(id);
    if (!h) return null;
    const after = { ...h, adminEnabled: false };
    this.halves.set(id, after);
    return after;
  }
}

function approvedLink(more: LinkInput[] = []): LinkRecord {
  let link = createLink(
    {
      id: LINK,
      name: 'east',
      initiator: 'gcp',
      environment: 'prod',
      requester: 'dave@payments-prod.iam.gserviceaccount.com',
      bandwidth: '1Gbps',
      policyHash: 'a'.repeat(64),
    },
    T0,
  );
  const inputs: LinkInput[] = [
    { kind: 'requestApproval' },
    { kind: 'approve', side: 'aws', by: 'arn:aws:iam::000000000000:user/bob' },
    { kind: 'approve', side: 'gcp', by: 'carol@example.com' },
    ...more,
  ];
  for (const [i, input] of inputs.entries()) link = transition(link, input, T0 + i * 1000).link;
  return link;
}

const REQUEST = {
  name: 'east',
  initiator: 'gcp',
  bandwidth: '1Gbps',
  environment: 'prod',
  residency: 'US',
  aws: {
    accountId: '000000000000',
    region: 'us-east-1',
    directConnectGateway: 'dxgw',
    routes: ['10.10.0.0/16'],
  },
  gcp: { project: 'payments-prod', region: 'us-east4', network: 'core', routes: ['10.20.0.0/16'] },
};

let store: MemoryStageStore;
let events: MemoryEventSink;
let secrets: MemorySecretStore;
let transports: FakeTransports;
let deps: StepDeps;
let logs: StepLogEntry[];
const resumed: unknown[] = [];

beforeEach(() => {
  const clock = new ManualClock(T0 + 60_000);
  store = new MemoryStageStore(clock);
  events = new MemoryEventSink();
  secrets = new MemorySecretStore();
  transports = new FakeTransports(secrets);
  logs = [];
  const peer = generateKeyPairSync('rsa', { modulusLength: 2048 });
  deps = {
    store,
    events,
    policy: loadPolicy(parse(readFileSync('config/policy.yaml', 'utf8'))),
    clock,
    origin: { cloud: 'gcp', project: 'payments-prod', region: 'us-east4' },
    halves: transports,
    secrets,
    tokens: {
      success: async (token, output) => void resumed.push({ token, output }),
      failure: async (token, error, cause) => void resumed.push({ token, error, cause }),
    },
    ownKeyId:
      'projects/payments-prod/locations/us-east4/keyRings/crosslink/cryptoKeys/activation/cryptoKeyVersions/1',
    unwrap: async () => {
      throw new Error('not used');
    },
    settings: {
      escalateAfterMs: 86_400_000,
      expireAfterMs: 3 * 86_400_000,
      pollEveryMs: 3_600_000,
      peerKey: {
        publicKeyPem: peer.publicKey.export({ type: 'spki', format: 'pem' }) as string,
        keyId: 'arn:aws:kms:us-east-1:000000000000:key/1',
      },
      tags: { 'cost-centre': 'network' },
      drainWaitMs: 6 * 3_600_000,
      drainSoakMs: 600_000,
    },
  };
});

const post = (path: string, body: unknown) =>
  runStep(deps, { method: 'POST', path, body }, (e) => logs.push(e));

describe('routing', () => {
  it('runs POST /<step> with the body as input and answers its output; the own half is Google', async () => {
    // Prepare
    await store.create(
      approvedLink([
        { kind: 'startProvisioning' },
        { kind: 'halfObserved', side: 'gcp', sequence: 1, nativeState: 'PENDING_KEY', resourceId: TRANSPORT },
      ]),
    );
    // Act
    const out = await post('/report', { linkId: LINK });
    // Assess
    expect(out).toEqual({
      status: 200,
      body: { linkId: LINK, state: 'PROVISIONING', connectionId: TRANSPORT },
    });
    expect(logs).toEqual([
      { severity: 'INFO', message: 'report done', step: 'report', linkId: LINK, status: 200 },
    ]);
  });

  it('refuses what is not a step call: another method, an unknown step, a body that is not an object, a bad link id', async () => {
    expect(await runStep(deps, { method: 'GET', path: '/report', body: { linkId: LINK } })).toMatchObject({
      status: 405,
      body: { error: { name: 'MethodNotAllowed' } },
    });
    expect(await post('/verifyPrefixes', { linkId: LINK })).toMatchObject({
      status: 404,
      body: { error: { name: 'UnknownStep', message: 'no step named "verifyPrefixes"' } },
    });
    expect(await post('/toString', { linkId: LINK })).toMatchObject({ status: 404 });
    expect(await post('/report', [LINK])).toMatchObject({
      status: 400,
      body: { error: { name: 'ValidationError' } },
    });
    expect(await post('/park', { linkId: LINK, phase: 'soon', token: '' })).toMatchObject({
      status: 400,
      body: { error: { message: expect.stringMatching(/phase.*token|token.*phase/s) } },
    });
    expect(await post('/report', { linkId: 'lk-nope' })).toEqual({
      status: 400,
      body: {
        error: {
          name: 'ValidationError',
          message: 'input of step report is invalid: linkId: is not a link id (lk- and a lowercase ULID)',
        },
      },
    });
  });

  it('takes the step from the last path segment (a prefix, a trailing slash, or only a URL)', async () => {
    await store.create(approvedLink());
    expect((await post('/steps/report/', { linkId: LINK })).status).toBe(200);
    expect((await runStep(deps, { method: 'POST', url: '/report?x=1', body: { linkId: LINK } })).status).toBe(
      200,
    );
  });

  it('the functions-framework handler writes status and JSON, building the dependencies per request when given a function', async () => {
    // Prepare
    await store.create(approvedLink());
    const written: { status?: number; body?: unknown } = {};
    const res = {
      status(code: number) {
        written.status = code;
        return res;
      },
      json(body: unknown) {
        written.body = body;
      },
    };
    // Act
    await stepsHandler(
      () => deps,
      () => {},
    )({ method: 'POST', path: '/report', body: { linkId: LINK } }, res);
    // Assess
    expect(written).toEqual({ status: 200, body: { linkId: LINK, state: 'APPROVED', connectionId: null } });
    await stepsHandler(
      () => {
        throw new Error('CROSSLINK_TOPIC is not set');
      },
      (e) => logs.push(e),
    )({ method: 'POST', path: '/report', body: { linkId: LINK } }, res);
    expect(written).toEqual({
      status: 500,
      body: { error: { name: 'InternalError', message: 'internal error (see the steps function log)' } },
    });
    expect(logs.at(-1)?.error).toEqual({ name: 'Error', message: 'CROSSLINK_TOPIC is not set' });
  });
});

describe('error mapping', () => {
  it('names every error as the workflow matches it, with a status that says whether to retry', () => {
    const cases: [unknown, number, string][] = [
      [new ValidationError([{ path: 'bandwidth', reason: 'bad' }], 'input'), 400, 'ValidationError'],
      [new PermissionDeniedError('no'), 403, 'PermissionDeniedError'],
      [new NotFoundError('no link'), 404, 'NotFoundError'],
      [new IllegalTransitionError('ACTIVE', 'approve', 'too late'), 409, 'IllegalTransitionError'],
      [new CapacityUnavailableError('closed'), 422, 'CapacityUnavailableError'],
      [new HalfFailedError('gone'), 422, 'HalfFailedError'],
      [new TimedOutError('no key'), 422, 'TimedOutError'],
      [new ConflictError('raced'), 503, 'ConflictError'],
      [new ResourceExhausted('RESOURCE_EXHAUSTED', 'quota', 429), 429, 'ResourceExhausted'],
      [new Unavailable('UNAVAILABLE', 'down', 503), 503, 'Unavailable'],
      [new Internal('INTERNAL', 'backend error', 500), 500, 'Internal'],
      [new CallbackError('throttled', 429), 503, 'CallbackError'],
      [new CallbackError('forbidden', 403), 500, 'CallbackError'],
      [new SecretStoreError('access x: UNAVAILABLE', 14), 503, 'SecretStoreError'],
      [new SecretStoreError('access x: PERMISSION_DENIED', 7), 500, 'SecretStoreError'],
      [Object.assign(new Error('x'), { name: 'EventsNotPutError' }), 503, 'EventsNotPutError'],
    ];
    for (const [error, status, name] of cases) {
      const a = stepErrorAnswer(error);
      expect([a.status, (a.body as { error: { name: string } }).error.name], name).toEqual([status, name]);
    }
  });

  it('an unexpected error answers 500 without its message; the log keeps the name and message for the operator', async () => {
    // Prepare
    await store.create(approvedLink());
    deps.halves.capacity = async () => {
      throw new TypeError(`cannot read ${KEY}`);
    };
    // Act
    const out = await post('/request', { linkId: LINK, mode: 'initiate', request: REQUEST });
    // Assess
    expect(out).toEqual({
      status: 500,
      body: { error: { name: 'InternalError', message: 'internal error (see the steps function log)' } },
    });
    expect(logs.at(-1)).toMatchObject({ status: 500, error: { name: 'TypeError' } });
  });
});

describe('Google-side steps through the handler', () => {
  it('activateInitiate: the key goes to the secret store, the answer, logs and events carry its reference and a sealed copy only', async () => {
    // Prepare
    await store.create(approvedLink());
    // Act
    const out = await post('/activateInitiate', {
      linkId: LINK,
      mode: 'initiate',
      request: REQUEST,
      check: {},
    });
    // Assess
    expect(out).toEqual({
      status: 200,
      body: { connectionId: TRANSPORT, keyRef: `crosslink/${LINK}/activation-key` },
    });
    expect(await secrets.getActivationKey(`crosslink/${LINK}/activation-key`)).toBe(KEY);
    expect(events.names()).toContain('LinkKeyIssued');
    const issued = events.events.find((e) => e.type === 'crosslink.LinkKeyIssued.v1')!;
    expect(issued.data).toMatchObject({ issuer: 'gcp', issuerResource: TRANSPORT });
    const side = events.events.find((e) => e.type === 'crosslink.LinkSideStateChanged.v1')!;
    expect(side.data).toMatchObject({ side: 'gcp', nativeState: 'PENDING_KEY', adminEnabled: true });
    for (const text of [JSON.stringify(out), JSON.stringify(logs), JSON.stringify(events.events)])
      expect(text).not.toContain(KEY);
  });

  it('drainCheck disables the own transport (adminEnabled false, recorded and emitted), then soaks', async () => {
    // Prepare: an ACTIVE link whose decommission was approved
    await store.create(
      approvedLink([
        { kind: 'startProvisioning' },
        { kind: 'halfObserved', side: 'aws', sequence: 1, nativeState: 'available' },
        {
          kind: 'halfObserved',
          side: 'gcp',
          sequence: 1,
          nativeState: 'ACTIVE',
          resourceId: TRANSPORT,
          adminEnabled: true,
        },
        { kind: 'proposeDecommission', by: 'carol@example.com', via: 'gcp', reason: 'migrated' },
        {
          kind: 'decideDecommission',
          side: 'aws',
          by: 'arn:aws:iam::000000000000:user/bob',
          decision: 'approve',
        },
      ]),
    );
    transports.halves.set(TRANSPORT, {
      connectionId: TRANSPORT,
      state: 'ACTIVE',
      adminEnabled: true,
      linkId: LINK,
    });
    // Act
    const out = await post('/drainCheck', { linkId: LINK });
    // Assess
    expect(out).toMatchObject({ status: 200, body: { next: 'drained', soakSeconds: 600 } });
    expect(transports.disabled).toEqual([`${TRANSPORT}#1`]);
    const link = (await store.get(LINK))!.link;
    expect(link.halves.gcp).toMatchObject({ adminEnabled: false, condition: 'DOWN', sequence: 2 });
    expect(events.events.at(-1)?.data).toMatchObject({ side: 'gcp', adminEnabled: false, condition: 'DOWN' });
  });
});

describe('under functions-framework (its Express parsing, a real HTTP request)', () => {
  it('answers a JSON POST with the step output and a GET with 405, as JSON', async () => {
    // Prepare
    await store.create(approvedLink());
    http(
      'steps-under-test',
      stepsHandler(
        () => deps,
        (e) => logs.push(e),
      ),
    );
    const server = getTestServer('steps-under-test');
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      // Act
      const ok = await fetch(`${base}/report`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ linkId: LINK }),
      });
      const wrong = await fetch(`${base}/report`);
      // Assess
      expect([ok.status, await ok.json()]).toEqual([
        200,
        { linkId: LINK, state: 'APPROVED', connectionId: null },
      ]);
      expect(wrong.status).toBe(405);
      expect(await wrong.json()).toMatchObject({ error: { name: 'MethodNotAllowed' } });
    } finally {
      await new Promise<void>((r) => server.close(() => r()));
    }
  });
});
