import { readdirSync, readFileSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, relative, resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { VirtualClock } from '#local/clock.ts';
import { startWorkflowsApi, type WorkflowsApiServer } from '#local/gcp/workflows-api.ts';
import { formatProblem, lintWorkflow } from '#local/workflows/lint.ts';
import { defaultIsInternalUrl, fetchHttp, viaLocalGoogleEdge } from '#local/workflows/ports.ts';
import { manualClock, until } from '../support/timers.ts';

const repo = resolve(import.meta.dirname, '..', '..');

function workflowFiles(dir: string): string[] {
  let out: string[] = [];
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return out;
  }
  for (const n of names) {
    if (n === 'node_modules' || n.startsWith('.')) continue;
    const p = join(dir, n);
    if (statSync(p).isDirectory()) out = out.concat(workflowFiles(p));
    else if (n.endsWith('.workflows.yaml')) out.push(p);
  }
  return out;
}

describe('every workflow file of the repository lints clean', () => {
  const files = [...workflowFiles(join(repo, 'workflows')), ...workflowFiles(join(repo, 'examples'))];
  it('finds the workflow files', () => {
    expect(files.length).toBeGreaterThan(0);
  });
  it.each(files.map((f) => [relative(repo, f)]))('%s', (file) => {
    const { problems } = lintWorkflow(readFileSync(join(repo, file), 'utf8'));
    expect(problems.map((p) => formatProblem(file, p))).toEqual([]);
  });
});

describe('examples/workflows/approve-then-create', () => {
  const P = 'projects/demo/locations/us-east4/workflows/approve';
  let api: WorkflowsApiServer;
  let clock: VirtualClock;
  let fake: Server;
  let fakeUrl: string;
  const notifications: { level: string; callbackUrl: string }[] = [];
  const creates: string[] = [];
  let script: number[] = [];

  afterEach(async () => {
    await api.close();
    fake.closeAllConnections();
    await new Promise<void>((r) => fake.close(() => r()));
    notifications.length = 0;
    creates.length = 0;
  });

  async function start(): Promise<void> {
    fake = createServer(async (req, res) => {
      const chunks: Buffer[] = [];
      for await (const c of req) chunks.push(c as Buffer);
      const body = JSON.parse(Buffer.concat(chunks).toString() || 'null');
      if (req.url === '/notify') notifications.push(body);
      else {
        expect(req.headers['x-forwarded-host']).toBe('networkconnectivity.googleapis.com');
        expect(req.headers.authorization).toBe('Bearer token-for-cloud-platform');
        creates.push(req.url ?? '');
      }
      const status = req.url === '/notify' ? 200 : (script.shift() ?? 200);
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ name: 'operations/op-1' }));
    });
    await new Promise<void>((r) => fake.listen(0, '127.0.0.1', r));
    fakeUrl = `http://127.0.0.1:${(fake.address() as AddressInfo).port}`;
    clock = manualClock();
    api = await startWorkflowsApi({
      clock,
      ports: {
        http: viaLocalGoogleEdge(fakeUrl, fetchHttp),
        tokens: { accessToken: async () => 'token-for-cloud-platform', idToken: async () => 'id' },
        isInternalUrl: defaultIsInternalUrl,
      },
    });
    api.service.deploy(
      'demo',
      'us-east4',
      'approve',
      readFileSync(join(repo, 'examples/workflows/approve-then-create.workflows.yaml'), 'utf8'),
    );
  }

  const argument = () =>
    JSON.stringify({
      linkId: 'lk-1',
      bandwidth: 'BPS_1G',
      notifyUrl: `${fakeUrl}/notify`,
      approvalTimeout: 600,
    });

  it('approved by callback, then a 500 and a 503 on create are retried with one requestId', async () => {
    await start();
    script = [500, 503];
    const exec = api.service.create('demo', 'us-east4', 'approve', { argument: argument() });
    await until(() => api.service.callbacks.waiting(exec.name) === 1);
    expect(notifications).toEqual([
      { level: 'approver', callbackUrl: expect.stringContaining(`/v1/${P}/executions/`) },
    ]);
    const cb = await fetch(notifications[0]!.callbackUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ decision: 'APPROVED' }),
    });
    expect(cb.status).toBe(200);
    // Backoff 2 s then 4 s on the virtual clock.
    // Each retry waits on a backoff timer, set once the error response is back.
    await until(() => creates.length === 1 && clock.pending === 1);
    expect(clock.waits).toEqual([2_000]);
    await clock.advance(2_000);
    await until(() => creates.length === 2 && clock.pending === 1);
    expect(clock.waits).toEqual([4_000]);
    await clock.advance(4_000);
    const outcome = await api.service.wait(exec.name);
    expect(outcome.state).toBe('SUCCEEDED');
    expect(outcome.result).toEqual({ state: 'CREATED', operation: 'operations/op-1' });
    expect(new Set(creates)).toEqual(
      new Set(['/v1/projects/demo/locations/us-east4/transports?transportId=lk-1&requestId=lk-1-create-1']),
    );
    expect(creates).toHaveLength(3);
    // The notify call goes to 127.0.0.1 and the step waiting for the callback is billed external,
    // as Google bills it; the Google API calls are internal.
    expect(outcome.steps.filter((s) => s.billing === 'external').map((s) => s.step)).toEqual([
      'notify',
      'wait',
    ]);
  });

  it('no answer: escalates once, then ends EXPIRED after two timeouts', async () => {
    await start();
    const exec = api.service.create('demo', 'us-east4', 'approve', { argument: argument() });
    await until(() => api.service.callbacks.waiting(exec.name) === 1);
    await clock.advance(600_000);
    await until(() => notifications.length === 2 && api.service.callbacks.waiting(exec.name) === 1);
    expect(notifications.map((n) => n.level)).toEqual(['approver', 'escalation']);
    await clock.advance(600_000);
    const outcome = await api.service.wait(exec.name);
    expect(outcome.result).toEqual({ state: 'EXPIRED' });
    expect(creates).toEqual([]);
  });
});
