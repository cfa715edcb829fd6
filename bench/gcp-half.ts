/**
 * The Google half: Workflows steps of one provisioning (initiate, both approvals in before the first
 * wait) at provider delays of 5, 30 and 120 simulated minutes, internal and external as Google bills
 * them, beside a baseline workflow that polls the transport every 30 s (sleep -> GET -> switch).
 *
 * Both run on the local Workflows engine (the same interpreter and billing count as `npm start`),
 * with the steps function and the transport played by a small HTTP server: what the workflow does
 * depends only on the answers, which follow the delay. The `up` callback comes when the watcher
 * (every 5 min) first sees the transport ACTIVE: at the delay rounded up to 5 min. The real steps
 * are exercised by test/workflows/gcp-link-provisioning.test.ts.
 */
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { resolve } from 'node:path';
import { startWorkflowsApi } from '#local/gcp/workflows-api.ts';
import { defaultIsInternalUrl, fetchHttp, viaLocalGoogleEdge } from '#local/workflows/ports.ts';
import { manualClock } from '../test/support/timers.ts';

const MIN = 60_000;
const root = resolve(import.meta.dirname, '..');

const BASELINE = `
main:
  params: [input]
  steps:
    - poll:
        call: sys.sleep
        args:
          seconds: 30
    - get:
        call: http.get
        args:
          url: \${"https://networkconnectivity.googleapis.com/v1beta/projects/p/locations/us-east4/transports/" + input.linkId}
          auth:
            type: OAuth2
        result: t
    - active:
        switch:
          - condition: \${t.body.state == "ACTIVE"}
            return: \${t.body.state}
        next: poll
`;

type Counts = { internal: number; external: number; total: number };

async function measure(delayMin: number): Promise<{ ours: Counts; baseline: Counts }> {
  const clock = manualClock();
  const start = clock.now();
  const upAt = start + Math.ceil(delayMin / 5) * 5 * MIN;
  const activeAt = start + delayMin * MIN;
  const parked = new Map<string, string>();
  const server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = JSON.parse(Buffer.concat(chunks).toString() || '{}') as Record<string, unknown>;
    const path = req.url ?? '';
    let out: unknown = {};
    if (path.includes('/transports/')) out = { state: clock.now() >= activeAt ? 'ACTIVE' : 'PENDING_CONFIG' };
    else if (path.endsWith('/request'))
      out = { environmentId: 'e', escalateAt: 'x', expiresAt: 'x', waitSeconds: 3600, escalated: false };
    else if (path.endsWith('/park')) parked.set(body.phase as string, body.token as string);
    else if (path.endsWith('/activateInitiate')) out = { connectionId: 't', keyRef: 'k' };
    else if (path.endsWith('/pollHalf'))
      out = { state: clock.now() >= upAt ? 'ACTIVE' : 'PROVISIONING', waitSeconds: 3600 };
    else if (path.endsWith('/report')) out = { state: 'ACTIVE' };
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(out));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const api = await startWorkflowsApi({
    clock,
    ports: {
      // Google API calls (the baseline's GET) go to the same server; the steps URL is a cloudfunctions.net one.
      http: viaLocalGoogleEdge(origin, fetchHttp),
      tokens: { accessToken: async () => 'a', idToken: async () => 'i' },
      isInternalUrl: (u) => defaultIsInternalUrl(u) || u.startsWith(origin),
    },
  });
  try {
    api.service.deploy(
      'p',
      'us-east4',
      'prov',
      readFileSync(resolve(root, 'workflows/gcp/link-provisioning.workflows.yaml'), 'utf8'),
      { CROSSLINK_STEPS_URL: `${origin}/steps` },
    );
    api.service.deploy('p', 'us-east4', 'poll', BASELINE);
    const post = (phase: string, output: unknown) =>
      fetch(parked.get(phase) as string, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ output }),
      });
    const ours = api.service.create('p', 'us-east4', 'prov', {
      argument: JSON.stringify({ linkId: 'lk-bench', mode: 'initiate', request: {} }),
    }).name;
    const poll = api.service.create('p', 'us-east4', 'poll', { argument: '{"linkId": "lk-bench"}' }).name;
    // Approvals are in: the approval callback comes at once; `up` when the watcher sees ACTIVE.
    const settle = () => new Promise((r) => setTimeout(r, 5));
    for (let i = 0; i < 400 && !parked.has('approval'); i++) await settle();
    await post('approval', { state: 'APPROVED' });
    let upSent = false;
    while (api.service.get(ours).state === 'ACTIVE' || api.service.get(poll).state === 'ACTIVE') {
      if (!upSent && clock.now() >= upAt && parked.has('up')) {
        await post('up', { state: 'ACTIVE' });
        upSent = true;
      }
      await clock.advance(15_000);
      await settle();
    }
    return {
      ours: (await api.service.wait(ours)).stepCount,
      baseline: (await api.service.wait(poll)).stepCount,
    };
  } finally {
    await api.close();
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
  }
}

export async function run(): Promise<void> {
  console.log(
    'Workflows steps of one provisioning (initiate, approvals in; up by callback when the 5-min watcher sees it)',
  );
  console.log(
    'provider delay   crosslink: internal  external  total   30 s polling: internal  external  total',
  );
  for (const d of [5, 30, 120]) {
    const { ours, baseline } = await measure(d);
    console.log(
      `${String(d).padStart(7)} min   ${String(ours.internal).padStart(18)}  ${String(ours.external).padStart(8)}  ${String(ours.total).padStart(5)}   ${String(baseline.internal).padStart(21)}  ${String(baseline.external).padStart(8)}  ${String(baseline.total).padStart(5)}`,
    );
  }
}
