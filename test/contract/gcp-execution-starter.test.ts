/**
 * The crash-safe start guard of Workflows executions (docs/architecture.md, "Execution names"), with the Firestore store on the
 * real emulator and our Executions client against the local cloud's Workflows Executions API.
 */
import type { Firestore } from '@google-cloud/firestore';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ManualClock } from '#core/clock.ts';
import { mintLinkId } from '#core/ids.ts';
import {
  DEFAULT_START_LEASE_MS,
  type StageExecutions,
  type StarterDeps,
  StartInProgressError,
  startStage,
} from '#gcp/execution-starter.ts';
import { FirestoreLinkStore } from '#gcp/link-store.ts';
import { WorkflowExecutionsClient } from '#gcp/workflow-executions.ts';
import { startWorkflowsApi, type WorkflowsApiServer } from '#local/gcp/workflows-api.ts';
import { startTestFirestore, type TestFirestore } from '../support/firestore.ts';
import { manualClock } from '../support/timers.ts';

const WF = 'projects/demo/locations/us-east4/workflows';
// Waits an hour on the workflow clock, which these tests never advance: executions stay ACTIVE.
const PARKED = `main:
  params: [input]
  steps:
    - park:
        call: sys.sleep
        args:
          seconds: 3600
    - done:
        return: \${input.linkId}
`;

let firestore: TestFirestore;
let api: WorkflowsApiServer;
const workflowClock = manualClock();

beforeAll(async () => {
  [firestore, api] = await Promise.all([
    startTestFirestore(),
    startWorkflowsApi({
      clock: workflowClock,
      // The edge checks tokens; here it is enough that the client sends its own.
      authorize: (req) => req.headers.authorization === 'Bearer starter-token',
    }),
  ]);
  api.service.deploy('demo', 'us-east4', 'link-provisioning', PARKED);
  api.service.deploy('demo', 'us-east4', 'link-decommissioning', PARKED);
});
afterAll(async () => {
  for (const e of api?.service.list(`${WF}/link-provisioning`) ?? [])
    if (e.state === 'ACTIVE') api.service.cancel(e.name);
  await api?.close();
  await firestore?.stop();
});

let clock: ManualClock;
let deps: StarterDeps;
let client: WorkflowExecutionsClient;
let db: Firestore;

beforeEach(() => {
  clock = new ManualClock(Date.parse('2026-06-01T00:00:00Z'));
  client = new WorkflowExecutionsClient({
    auth: { getAccessToken: async () => ({ token: 'starter-token' }) },
    endpoint: api.url,
  });
  db = firestore.db();
  deps = {
    starts: new FirestoreLinkStore(db, clock),
    executions: client,
    workflows: { provisioning: `${WF}/link-provisioning`, decommissioning: `${WF}/link-decommissioning` },
    clock,
    labels: { 'cost-center': 'net-42' },
  };
});

const labelled = (linkId: string, stage = 'provisioning', attempt = 1) =>
  api.service.list(`${WF}/link-${stage}`, `labels.crosslink-key="${linkId}-${stage}-${attempt}"`);

describe('startStage (Workflows)', () => {
  it('starts a labelled execution with the input as its argument', async () => {
    // Prepare
    const linkId = mintLinkId(clock);
    const input = { linkId, mode: 'initiate' as const, request: { name: 'east-west' } };

    // Act
    const out = await startStage(deps, 'provisioning', input);

    // Assess
    expect(out).toMatchObject({ executionName: `${linkId}-provisioning-1`, started: true });
    const [execution, ...more] = labelled(linkId);
    expect(more).toEqual([]);
    expect(execution?.name).toBe(out.execution);
    expect(execution?.state).toBe('ACTIVE');
    expect(JSON.parse(execution?.argument as string)).toEqual(input);
    expect(execution?.labels).toEqual({
      'crosslink-key': `${linkId}-provisioning-1`,
      'crosslink-link-id': linkId,
      'cost-center': 'net-42',
    });
  });

  it('starts nothing the second time, nor for concurrent starters of the same key', async () => {
    const linkId = mintLinkId(clock);
    const first = await startStage(deps, 'decommissioning', { linkId }, 2);
    const again = await startStage(deps, 'decommissioning', { linkId }, 2);
    expect(again).toEqual({ ...first, started: false });
    expect(labelled(linkId, 'decommissioning', 2)).toHaveLength(1);

    const other = mintLinkId(clock);
    const racing = await Promise.allSettled(
      Array.from({ length: 5 }, () => startStage(deps, 'provisioning', { linkId: other })),
    );
    const started = racing.filter((r) => r.status === 'fulfilled' && r.value.started);
    expect(started).toHaveLength(1);
    for (const r of racing)
      if (r.status === 'rejected') expect(r.reason).toBeInstanceOf(StartInProgressError);
    expect(labelled(other)).toHaveLength(1);
  });

  it('after a crash between the record and the create: waits out the lease, then the next starter creates', async () => {
    // Prepare: the first starter writes the record and dies before `executions.create`.
    const linkId = mintLinkId(clock);
    const dying: StarterDeps = {
      ...deps,
      executions: {
        ...deps.executions,
        create: async () => {
          throw new Error('process killed');
        },
      } as StageExecutions,
    };
    await expect(startStage(dying, 'provisioning', { linkId })).rejects.toThrow('process killed');
    expect(labelled(linkId)).toEqual([]);

    // Act + Assess: within the lease the first starter may still be creating it.
    clock.advance(DEFAULT_START_LEASE_MS - 1000);
    await expect(startStage(deps, 'provisioning', { linkId })).rejects.toBeInstanceOf(StartInProgressError);
    expect(labelled(linkId)).toEqual([]);
    clock.advance(1000);
    const out = await startStage(deps, 'provisioning', { linkId });
    expect(out.started).toBe(true);
    expect(labelled(linkId).map((e) => e.name)).toEqual([out.execution]);
    expect((await startStage(deps, 'provisioning', { linkId })).started).toBe(false);
  });

  it('after a crash between the create and storing its name: adopts the labelled execution', async () => {
    // Prepare: the create reaches the API, the starter dies before it stores the name.
    const linkId = mintLinkId(clock);
    const dying: StarterDeps = {
      ...deps,
      executions: {
        list: (w, f) => client.list(w, f),
        cancel: (n) => client.cancel(n),
        create: async (w, b) => {
          await client.create(w, b);
          throw new Error('process killed');
        },
      },
    };
    await expect(startStage(dying, 'provisioning', { linkId })).rejects.toThrow('process killed');
    const [orphan] = labelled(linkId);

    // Act: at once (no lease to wait out: the label finds it).
    const out = await startStage(deps, 'provisioning', { linkId });

    // Assess
    expect(out).toEqual({
      executionName: `${linkId}-provisioning-1`,
      started: false,
      execution: orphan?.name,
    });
    expect(labelled(linkId)).toHaveLength(1);
    expect((await startStage(deps, 'provisioning', { linkId })).execution).toBe(orphan?.name);
  });

  it('when a stalled starter creates after the lease ran out, the later store loses and cancels its own', async () => {
    // Prepare: starter A holds its create until B has started the stage.
    const linkId = mintLinkId(clock);
    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const slow: StarterDeps = {
      ...deps,
      executions: {
        list: (w, f) => client.list(w, f),
        cancel: (n) => client.cancel(n),
        create: async (w, b) => {
          await gate;
          return client.create(w, b);
        },
      },
    };
    const a = startStage(slow, 'provisioning', { linkId });
    const record = db.collection('starts').doc(`${linkId}-provisioning-1`);
    await expect.poll(async () => (await record.get()).exists, { timeout: 60_000 }).toBe(true);
    clock.advance(DEFAULT_START_LEASE_MS);
    const b = await startStage(deps, 'provisioning', { linkId });

    // Act
    release();
    const outA = await a;

    // Assess: one execution carries the stage; A's is cancelled.
    expect(b.started).toBe(true);
    expect(outA).toEqual({ ...b, started: false });
    const all = labelled(linkId);
    expect(all).toHaveLength(2);
    expect(all.find((e) => e.name === b.execution)?.state).toBe('ACTIVE');
    expect(all.find((e) => e.name !== b.execution)?.state).toBe('CANCELLED');
  });
});

type Listed = { executions: { labels?: unknown; argument?: unknown }[] };

describe('the local Executions API, as the starter uses it', () => {
  it('lists labels only in the FULL view and refuses labels the API refuses', async () => {
    const call = (path: string, init?: RequestInit) =>
      fetch(`${api.url}${path}`, {
        ...init,
        headers: { authorization: 'Bearer starter-token', 'content-type': 'application/json' },
      });
    const made = await call(`/v1/${WF}/link-provisioning/executions`, {
      method: 'POST',
      body: JSON.stringify({ argument: '{}', labels: { 'crosslink-key': 'lk-view-check' } }),
    });
    expect(made.status).toBe(200);
    const filter = encodeURIComponent('labels."crosslink-key"="lk-view-check"');
    const list = async (query: string) =>
      ((await (await call(`/v1/${WF}/link-provisioning/executions?${query}`)).json()) as Listed).executions;
    const basic = await list(`filter=${filter}`);
    expect(basic).toHaveLength(1);
    expect(basic[0]?.labels).toBeUndefined();
    expect(basic[0]?.argument).toBeUndefined();
    const full = await list(`filter=${filter}&view=FULL`);
    expect(full[0]?.labels).toEqual({ 'crosslink-key': 'lk-view-check' });
    expect((await call(`/v1/${WF}/link-provisioning/executions?view=ALL`)).status).toBe(400);

    for (const labels of [{ 'Crosslink-Key': 'x' }, { k: 'UPPER' }, { k: 'x'.repeat(64) }, { '1k': 'x' }]) {
      const res = await call(`/v1/${WF}/link-provisioning/executions`, {
        method: 'POST',
        body: JSON.stringify({ argument: '{}', labels }),
      });
      expect(res.status).toBe(400);
      expect(((await res.json()) as { error: { status: string } }).error.status).toBe('INVALID_ARGUMENT');
    }
    await call(`/v1/${((await made.json()) as { name: string }).name}:cancel`, { method: 'POST' });
  });
});
