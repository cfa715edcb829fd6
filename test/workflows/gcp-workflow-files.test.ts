/**
 * The Google workflows' control flow, run by the local engine against a scripted `steps` function
 * (a small HTTP server answering each step as the test says): which steps run in which order, with
 * which JSON, how failures are retried (a 500 is retried: every step is idempotent), how waits end
 * (callback answered, failed, timed out), and where compensation leads. The real steps are covered
 * by test/workflows/gcp-link-provisioning.test.ts.
 */
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { VirtualClock } from '#local/clock.ts';
import { startWorkflowsApi, type WorkflowsApiServer } from '#local/gcp/workflows-api.ts';
import { lintWorkflow } from '#local/workflows/lint.ts';
import { defaultIsInternalUrl, fetchHttp } from '#local/workflows/ports.ts';
import { manualClock, until } from '../support/timers.ts';

const repo = resolve(import.meta.dirname, '..', '..');
const file = (name: string) => readFileSync(join(repo, 'workflows/gcp', name), 'utf8');
const PROVISIONING = 'link-provisioning.workflows.yaml';
const DECOMMISSIONING = 'link-decommissioning.workflows.yaml';
const SHARED = '# ---- shared by both workflows';

type Answer = { status: number; body: unknown };
type Script = Record<string, (body: Record<string, unknown>, n: number) => Answer>;

describe('workflows/gcp files', () => {
  it('both lint clean and carry the same shared subworkflows', () => {
    for (const f of [PROVISIONING, DECOMMISSIONING]) expect(lintWorkflow(file(f)).problems).toEqual([]);
    const shared = (t: string) => t.slice(t.indexOf(SHARED));
    expect(shared(file(PROVISIONING)).length).toBeGreaterThan(1000);
    expect(shared(file(DECOMMISSIONING))).toBe(shared(file(PROVISIONING)));
  });
});

describe('the Google workflows against a scripted steps function', () => {
  let api: WorkflowsApiServer;
  let server: Server;
  let clock: VirtualClock;
  let calls: { step: string; body: Record<string, unknown>; auth: string }[];
  let parked: Record<string, string>;
  let stepsUrl: string;

  afterEach(async () => {
    await api.close();
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
  });

  async function start(workflow: string, script: Script): Promise<void> {
    calls = [];
    parked = {};
    const counts = new Map<string, number>();
    server = createServer(async (req, res) => {
      const chunks: Buffer[] = [];
      for await (const c of req) chunks.push(c as Buffer);
      const body = JSON.parse(Buffer.concat(chunks).toString() || '{}') as Record<string, unknown>;
      const step = (req.url ?? '').replace(/^\/steps\//, '');
      calls.push({ step, body, auth: String(req.headers.authorization) });
      const n = (counts.get(step) ?? 0) + 1;
      counts.set(step, n);
      if (step === 'park') parked[body.phase as string] = body.token as string;
      const handler = script[step] ?? (() => ({ status: 200, body: { parked: true } }));
      const a = handler(body, n);
      res.writeHead(a.status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(a.body));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/steps`;
    stepsUrl = url;
    clock = manualClock();
    api = await startWorkflowsApi({
      clock,
      ports: {
        http: fetchHttp,
        tokens: {
          accessToken: async () => 'access',
          idToken: async (audience) => `id-for-${audience}`,
        },
        isInternalUrl: (u) => defaultIsInternalUrl(u) || u.startsWith(url),
      },
    });
    api.service.deploy('demo', 'us-east4', 'wf', file(workflow), { CROSSLINK_STEPS_URL: url });
  }

  const request = { initiator: 'gcp', bandwidth: 'BPS_1G' };
  const create = (argument: unknown) =>
    api.service.create('demo', 'us-east4', 'wf', { argument: JSON.stringify(argument) }).name;
  const steps = () => calls.map((c) => c.step);
  const answer = (phase: string, body: unknown) =>
    fetch(parked[phase] as string, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
  const waitingOn = (name: string, phase: string) =>
    until(() => parked[phase] !== undefined && api.service.callbacks.waiting(name) === 1);

  const ok = (body: unknown): Answer => ({ status: 200, body });
  const fail = (status: number, name: string, message = name): Answer => ({
    status,
    body: { error: { name, message } },
  });
  const check = {
    environmentId: 'env-1',
    escalateAt: 'e',
    expiresAt: 'x',
    waitSeconds: 60,
    escalated: false,
  };

  it('initiate: approved by callback; a 500 then a 503 on activateInitiate are retried with the same input; up by callback -> report', async () => {
    await start(PROVISIONING, {
      request: () => ok(check),
      activateInitiate: (_b, n) =>
        n === 1
          ? fail(500, 'Internal')
          : n === 2
            ? fail(503, 'Unavailable')
            : ok({ connectionId: 't-1', keyRef: 'sec' }),
      report: () => ok({ linkId: 'lk-1', state: 'ACTIVE', connectionId: 't-1' }),
    });
    const name = create({ linkId: 'lk-1', mode: 'initiate', request });
    await waitingOn(name, 'approval');
    expect(api.service.callbacks.waiting(name)).toBe(1);
    expect((await answer('approval', { output: { state: 'APPROVED' } })).status).toBe(200);
    await until(() => steps().filter((s) => s === 'activateInitiate').length === 1 && clock.pending === 1);
    expect(clock.waits).toEqual([2_000]);
    await clock.advance(2_000);
    await until(() => steps().filter((s) => s === 'activateInitiate').length === 2 && clock.pending === 1);
    expect(clock.waits).toEqual([4_000]);
    await clock.advance(4_000);
    await waitingOn(name, 'up');
    await answer('up', { output: { state: 'ACTIVE' } });
    const out = await api.service.wait(name);
    expect(out.state).toBe('SUCCEEDED');
    expect(out.result).toEqual({ linkId: 'lk-1', state: 'ACTIVE', connectionId: 't-1' });
    expect(steps()).toEqual([
      'request',
      'park',
      'activateInitiate',
      'activateInitiate',
      'activateInitiate',
      'park',
      'report',
    ]);
    const creates = calls.filter((c) => c.step === 'activateInitiate').map((c) => JSON.stringify(c.body));
    expect(new Set(creates).size).toBe(1);
    expect(JSON.parse(creates[0] as string)).toMatchObject({
      linkId: 'lk-1',
      mode: 'initiate',
      check,
      approved: { state: 'APPROVED' },
    });
    // The state the ASL builds: every result under its ResultPath key.
    expect(calls.at(-1)?.body).toMatchObject({
      activate: { connectionId: 't-1', keyRef: 'sec' },
      up: { state: 'ACTIVE' },
    });
    // An ID token whose audience is the steps function's URL (OIDC), on every call.
    expect(new Set(calls.map((c) => c.auth))).toEqual(new Set([`Bearer id-for-${stepsUrl}`]));
    // Two callback waits, billed external as Google bills them; the steps function is internal.
    expect(out.steps.filter((s) => s.billing === 'external').map((s) => s.step)).toEqual(['wait', 'wait']);
  });

  it('rejection: the failed callback goes to compensation with {Error, Cause}; REJECTED ends SUCCEEDED', async () => {
    await start(PROVISIONING, {
      request: () => ok(check),
      compensate: () => ok({ outcome: 'REJECTED', deleted: [] }),
    });
    const name = create({ linkId: 'lk-2', mode: 'initiate', request });
    await waitingOn(name, 'approval');
    await answer('approval', { error: 'LinkRejected', cause: 'rejected by carol: no' });
    const out = await api.service.wait(name);
    expect(out.state).toBe('SUCCEEDED');
    expect(out.result).toMatchObject({ linkId: 'lk-2', outcome: 'REJECTED' });
    expect(steps()).toEqual(['request', 'park', 'compensate']);
    expect(calls[2]?.body.error).toEqual({ Error: 'LinkRejected', Cause: 'rejected by carol: no' });
  });

  it('no answer: the wait times out, the fallback poll waits again, then expires -> EXPIRED', async () => {
    await start(PROVISIONING, {
      request: () => ok(check),
      approvalDeadline: (_b, n) => ok({ ...check, next: n === 1 ? 'wait' : 'LinkExpired', waitSeconds: 30 }),
      compensate: () => ok({ outcome: 'EXPIRED', deleted: [] }),
    });
    const name = create({ linkId: 'lk-3', mode: 'initiate', request });
    await waitingOn(name, 'approval');
    expect(clock.waits).toEqual([60_000]);
    await clock.advance(60_000);
    await until(() => steps().filter((s) => s === 'park').length === 2 && clock.pending === 1);
    expect(clock.waits).toEqual([30_000]);
    await clock.advance(30_000);
    const out = await api.service.wait(name);
    expect(out.result).toMatchObject({ outcome: 'EXPIRED' });
    expect(steps()).toEqual([
      'request',
      'park',
      'approvalDeadline',
      'park',
      'approvalDeadline',
      'compensate',
    ]);
    expect(calls.at(-1)?.body.error).toEqual({
      Error: 'LinkExpired',
      Cause: 'the approval ended without approval (LinkExpired)',
    });
  });

  it('a step error that is not transient is not retried: compensation, then FAILED with LinkFailed', async () => {
    await start(PROVISIONING, {
      request: () => fail(409, 'CapacityUnavailableError', 'environment env-1 is unavailable'),
      compensate: () => ok({ outcome: 'FAILED', deleted: [] }),
    });
    const name = create({ linkId: 'lk-4', mode: 'initiate', request });
    const out = await api.service.wait(name);
    expect(out.state).toBe('FAILED');
    expect(steps()).toEqual(['request', 'compensate']);
    expect(JSON.parse(out.error?.payload ?? '{}')).toMatchObject({
      Error: 'LinkFailed',
      error: { Error: 'CapacityUnavailableError', Cause: 'environment env-1 is unavailable' },
    });
  });

  it('a decommission during provisioning: the wait says so and the run ends quietly, nothing compensated', async () => {
    await start(PROVISIONING, { request: () => ok(check) });
    const name = create({ linkId: 'lk-6', mode: 'initiate', request });
    await waitingOn(name, 'approval');
    await answer('approval', { output: { state: 'DECOMMISSIONING', decommissioning: true } });
    const out = await api.service.wait(name);
    expect(out.state).toBe('SUCCEEDED');
    expect(out.result).toEqual({ linkId: 'lk-6', outcome: 'DECOMMISSIONED' });
    expect(steps()).toEqual(['request', 'park']);
  });

  it('a report that fails after ACTIVE fails LinkKept without compensating (nothing deleted)', async () => {
    await start(PROVISIONING, {
      request: () => ok(check),
      activateInitiate: () => ok({ connectionId: 't-7', keyRef: 'sec' }),
      report: () => fail(422, 'IllegalTransitionError', 'report: the link is FAILED'),
    });
    const name = create({ linkId: 'lk-7', mode: 'initiate', request });
    await waitingOn(name, 'approval');
    await answer('approval', { output: { state: 'APPROVED' } });
    await waitingOn(name, 'up');
    await answer('up', { output: { state: 'ACTIVE' } });
    const out = await api.service.wait(name);
    expect(out.state).toBe('FAILED');
    expect(JSON.parse(out.error?.payload ?? '{}')).toMatchObject({ Error: 'LinkKept', linkId: 'lk-7' });
    expect(steps()).not.toContain('compensate');
  });

  it("compensation's outcomes: KEPT fails LinkKept, DECOMMISSIONING ends quietly", async () => {
    for (const [outcome, state, expected] of [
      ['KEPT', 'FAILED', { Error: 'LinkKept' }],
      ['DECOMMISSIONING', 'SUCCEEDED', { outcome: 'DECOMMISSIONED' }],
    ] as const) {
      await start(PROVISIONING, {
        request: () => fail(409, 'CapacityUnavailableError', 'environment env-1 is unavailable'),
        compensate: () => ok({ outcome, deleted: [] }),
      });
      const name = create({ linkId: 'lk-8', mode: 'initiate', request });
      const out = await api.service.wait(name);
      expect(out.state, outcome).toBe(state);
      const got = state === 'FAILED' ? JSON.parse(out.error?.payload ?? '{}') : out.result;
      expect(got, outcome).toMatchObject(expected);
      await api.close();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    }
    // afterEach closes what the last start opened: start once more so it has something to close.
    await start(PROVISIONING, {});
  });

  it('accept: waits for the key (fallback poll), activates with the sealed key, polls the half until ACTIVE', async () => {
    await start(PROVISIONING, {
      request: () => ok(check),
      keyDeadline: () => ok({ next: 'ready' }),
      activateAccept: () => ok({ connectionId: 't-5' }),
      pollHalf: (_b, n) => ok({ state: n === 1 ? 'PROVISIONING' : 'ACTIVE', waitSeconds: 3600 }),
      report: () => ok({ linkId: 'lk-5', state: 'ACTIVE' }),
    });
    const name = create({ linkId: 'lk-5', mode: 'accept', request: { ...request, initiator: 'aws' } });
    await waitingOn(name, 'approval');
    await answer('approval', { output: { state: 'APPROVED' } });
    await waitingOn(name, 'key');
    // The provider waits fall back to a poll after 6 hours without an answer.
    await clock.advance(FALLBACK_MS);
    await waitingOn(name, 'up');
    await clock.advance(FALLBACK_MS);
    await until(() => steps().filter((s) => s === 'pollHalf').length === 1 && clock.pending === 1);
    await clock.advance(FALLBACK_MS);
    const out = await api.service.wait(name);
    expect(out.result).toEqual({ linkId: 'lk-5', state: 'ACTIVE' });
    expect(steps()).toEqual([
      'request',
      'park',
      'park',
      'keyDeadline',
      'activateAccept',
      'park',
      'pollHalf',
      'park',
      'pollHalf',
      'report',
    ]);
  });

  const FALLBACK_MS = 6 * 3_600_000;
  const dcheck = { escalateAt: 'e', expiresAt: 'x', escalated: false, waitSeconds: 60 };

  it('decommissioning: approved, drained after one wait, soak, delete, gone, confirmed, report', async () => {
    await start(DECOMMISSIONING, {
      decommissionRequest: () => ok(dcheck),
      drainCheck: (_b, n) =>
        ok({ next: n === 1 ? 'wait' : 'drained', deadline: 'd', soakSeconds: 600, waitSeconds: 120 }),
      deleteOwnHalf: () => ok({ connectionIds: ['t-6'], waitSeconds: 3600 }),
      confirmDeleted: () => ok({ gone: true, waitSeconds: 3600 }),
      report: () => ok({ linkId: 'lk-6', state: 'DECOMMISSIONED' }),
    });
    const name = create({ linkId: 'lk-6' });
    await waitingOn(name, 'decommissionApproval');
    await answer('decommissionApproval', { output: { state: 'DECOMMISSIONING' } });
    await waitingOn(name, 'drained');
    await answer('drained', { output: { state: 'DECOMMISSIONING' } });
    await until(() => clock.pending === 1 && steps().filter((s) => s === 'drainCheck').length === 2);
    expect(clock.waits).toEqual([600_000]);
    await clock.advance(600_000);
    await waitingOn(name, 'gone');
    await answer('gone', { output: { state: 'DECOMMISSIONED' } });
    const out = await api.service.wait(name);
    expect(out.result).toEqual({ linkId: 'lk-6', state: 'DECOMMISSIONED' });
    expect(steps()).toEqual([
      'decommissionRequest',
      'park',
      'drainCheck',
      'park',
      'drainCheck',
      'deleteOwnHalf',
      'park',
      'confirmDeleted',
      'report',
    ]);
  });

  it("decommissioning: a delete the link's region answers Unavailable past the step's retries is tried again until it goes", async () => {
    await start(DECOMMISSIONING, {
      decommissionRequest: () => ok(dcheck),
      drainCheck: () => ok({ next: 'drained', deadline: 'd', soakSeconds: 600, waitSeconds: 1 }),
      // The region is out for the first eight calls: more than the step's own six attempts.
      deleteOwnHalf: (_b, n) =>
        n <= 8
          ? fail(503, 'Unavailable', 'us-west1 unreachable')
          : ok({ connectionIds: ['t-9'], waitSeconds: 3600 }),
      confirmDeleted: () => ok({ gone: true, waitSeconds: 3600 }),
      report: () => ok({ linkId: 'lk-9', state: 'DECOMMISSIONED' }),
    });
    const name = create({ linkId: 'lk-9' });
    await waitingOn(name, 'decommissionApproval');
    await answer('decommissionApproval', { output: { state: 'DECOMMISSIONING' } });
    await until(() => clock.pending === 1 && steps().includes('drainCheck'));
    await clock.advance(600_000);
    const deletes = () => steps().filter((s) => s === 'deleteOwnHalf').length;
    for (let n = 1; n <= 8; n++) {
      await until(() => (deletes() === n && clock.pending === 1) || api.service.get(name).state !== 'ACTIVE');
      if (api.service.get(name).state !== 'ACTIVE') break;
      await clock.advance(clock.waits[0] as number);
    }
    // Still running, not failed DecommissionFailed once the step's own retries ran out.
    expect(api.service.get(name).state, JSON.stringify(api.service.get(name).error)).toBe('ACTIVE');
    await waitingOn(name, 'gone');
    await answer('gone', { output: { state: 'DECOMMISSIONED' } });
    const out = await api.service.wait(name);
    expect(out.state, out.error?.payload).toBe('SUCCEEDED');
    expect(deletes()).toBe(9);
  });

  it('decommissioning: a rejection ends NotApproved (nothing deleted); a stalled drain fails DrainNotConfirmed', async () => {
    await start(DECOMMISSIONING, {
      decommissionRequest: () => ok(dcheck),
      drainCheck: () =>
        ok({ next: 'stalled', deadline: 'd', soakSeconds: 600, waitSeconds: 1, reason: 'no drain' }),
    });
    const rejected = create({ linkId: 'lk-7' });
    await waitingOn(rejected, 'decommissionApproval');
    await answer('decommissionApproval', { error: 'LinkDecommissionRejected', cause: 'rejected by carol' });
    expect((await api.service.wait(rejected)).result).toEqual({
      linkId: 'lk-7',
      outcome: 'NotApproved',
      reason: 'LinkDecommissionRejected: rejected by carol',
    });
    expect(steps()).not.toContain('deleteOwnHalf');
    delete parked.decommissionApproval;
    const stalled = create({ linkId: 'lk-8' });
    await waitingOn(stalled, 'decommissionApproval');
    await answer('decommissionApproval', { output: { state: 'DECOMMISSIONING' } });
    const out = await api.service.wait(stalled);
    expect(out.state).toBe('FAILED');
    expect(JSON.parse(out.error?.payload ?? '{}')).toEqual({ Error: 'DrainNotConfirmed', Cause: 'no drain' });
    expect(steps()).not.toContain('deleteOwnHalf');
  });
  it('vpn-half: at the approval deadline, an approval recorded during the wait (its callback never sent) is applied; with none, the execution fails VpnDeleteApprovalExpired', async () => {
    for (const [expired, state] of [
      [{ approved: true }, 'SUCCEEDED'],
      [
        { outcome: 'expired', reason: 'no approval of the delete came within 72 h: nothing deleted' },
        'FAILED',
      ],
    ] as const) {
      let applies = 0;
      await start(PROVISIONING, {
        vpnHalf: (body) => {
          if (body.vpnApproval === 'park') return ok({ parked: true, approved: false });
          if (body.vpnApproval === 'expired') return ok(expired);
          applies += 1;
          return applies === 1
            ? fail(409, 'VpnDeleteNotApprovedError', 'the delete waits for an approval')
            : ok({ outcome: 'changed', changed: ['t-1'] });
        },
      });
      api.service.deploy('demo', 'us-east4', 'vpn', file('vpn-half.workflows.yaml'), {
        CROSSLINK_VPN_HALF_URL: `${stepsUrl}/vpnHalf`,
      });
      const name = api.service.create('demo', 'us-east4', 'vpn', {
        argument: JSON.stringify({ event: { type: 'crosslink.VpnDeleteRequested.v1' } }),
      }).name;
      await until(() => api.service.callbacks.waiting(name) === 1);
      await clock.advance(259_200_000);
      const out = await api.service.wait(name);
      const kinds = calls.map((c) => String(c.body.vpnApproval ?? 'apply'));
      expect(out.state, JSON.stringify(expired)).toBe(state);
      if (state === 'SUCCEEDED') {
        expect(out.result).toMatchObject({ outcome: 'changed', changed: ['t-1'] });
        expect(kinds).toEqual(['apply', 'park', 'expired', 'apply']);
      } else {
        expect(JSON.parse(out.error?.payload ?? '{}')).toMatchObject({ Error: 'VpnDeleteApprovalExpired' });
        expect(kinds).toEqual(['apply', 'park', 'expired']);
      }
    }
  });
});
