/**
 * What one link's provisioning costs each orchestrator, counted as each cloud bills it: Step
 * Functions state transitions (AWS) and Workflows steps (Google), from the request to ACTIVE, with
 * both approvals in and the provider taking `delayMinutes` to bring the half up. The watcher runs
 * every `watcherEveryMinutes` and answers the `up` wait the first time it sees the half up. Shared by
 * bench/aws-half.ts, bench/gcp-half.ts and test/workflows/orchestration-cost.test.ts (counts, never
 * times: the same answers give the same counts on any machine).
 *
 * The goal (docs/aws-half.md, docs/gcp-half.md): at most 40, plus 3 per hour of provider delay.
 */
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { resolve } from 'node:path';
import { GetExecutionHistoryCommand, type HistoryEvent, ListExecutionsCommand } from '@aws-sdk/client-sfn';
import { toEventBridgeEntry } from '#aws/envelope.ts';
import { intake, peerEvent } from '#aws/intake.ts';
import { watch } from '#aws/watcher.ts';
import { buildEvent } from '#core/envelope.ts';
import { startWorkflowsApi } from '#local/gcp/workflows-api.ts';
import { startLocalCloud } from '#local/index.ts';
import { defaultIsInternalUrl, fetchHttp, viaLocalGoogleEdge } from '#local/workflows/ports.ts';
import { ACCOUNT, LINK_REQUEST, startAwsHalf } from './aws-half.ts';
import { manualClock } from './timers.ts';

const MIN = 60_000;
const root = resolve(import.meta.dirname, '..', '..');

/** The provider delays every figure is taken at, in minutes. */
export const PROVIDER_DELAYS = [5, 30, 120] as const;

/** The most transitions or steps one provisioning may take at a provider delay of `delayMinutes`. */
export function costGoal(delayMinutes: number): number {
  return Math.floor(40 + (3 * delayMinutes) / 60);
}

export type StepCounts = { internal: number; external: number; total: number };

/**
 * A workflow that polls the transport every 30 s (sleep -> GET -> switch), as one would without
 * callbacks: the baseline the Google figures stand beside.
 */
const POLLING_BASELINE = `
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

/**
 * Google: workflows/gcp/link-provisioning.workflows.yaml on the local Workflows engine (the
 * interpreter and billing count `npm start` runs), mode initiate, beside the 30 s polling baseline.
 * The steps function and the transport are a small HTTP server whose answers follow the delay: what
 * the workflow does depends only on them. The real steps run in test/workflows/gcp-link-provisioning.test.ts.
 */
export async function gcpProvisioningSteps(
  delayMinutes: number,
  watcherEveryMinutes: number,
): Promise<{ crosslink: StepCounts; baseline: StepCounts }> {
  const clock = manualClock();
  const start = clock.now();
  const activeAt = start + delayMinutes * MIN;
  const seenAt = start + Math.ceil(delayMinutes / watcherEveryMinutes) * watcherEveryMinutes * MIN;
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
      out = { state: clock.now() >= activeAt ? 'ACTIVE' : 'PROVISIONING', waitSeconds: 3600 };
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
    api.service.deploy('p', 'us-east4', 'poll', POLLING_BASELINE);
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
      if (!upSent && clock.now() >= seenAt && parked.has('up')) {
        await post('up', { state: 'ACTIVE' });
        upSent = true;
      }
      await clock.advance(15_000);
      await settle();
    }
    const [done, polled] = [await api.service.wait(ours), await api.service.wait(poll)];
    if (done.state !== 'SUCCEEDED' || polled.state !== 'SUCCEEDED')
      throw new Error(
        `the provisioning ended ${done.state}, the baseline ${polled.state}: no count to report`,
      );
    return { crosslink: done.stepCount, baseline: polled.stepCount };
  } finally {
    await api.close();
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
  }
}

/**
 * AWS: the real state machine on the local Step Functions, its steps as local Lambdas, the
 * Interconnect connection on the local cloud taking `delayMinutes` to come up, the watcher Lambda's
 * code every `watcherEveryMinutes`; Google's approval and half come as peer events. Counts the
 * execution history's `StateEntered` events: the transitions Step Functions bills.
 */
export async function awsProvisioningTransitions(
  delayMinutes: number,
  watcherEveryMinutes: number,
): Promise<number> {
  const cloud = await startLocalCloud({
    ports: 0,
    clock: { mode: 'manual', start: '2026-06-01T00:00:00Z' },
    seed: 1,
    log: () => {},
    settings: { interconnect: { delays: { provisioning: `${delayMinutes}m` } } },
  });
  const half = await startAwsHalf(cloud);
  const settle = () => new Promise((r) => setTimeout(r, 50));
  try {
    const request = { ...LINK_REQUEST, aws: { ...LINK_REQUEST.aws, directConnectGateway: half.gateway } };
    const as = (userArn: string) => ({ requestId: 'bench', authorizer: { iam: { userArn } } });
    const created = JSON.parse(
      (
        await intake(half.deps, {
          routeKey: 'POST /links',
          body: JSON.stringify(request),
          requestContext: as(`arn:aws:iam::${ACCOUNT}:user/alice`),
        })
      ).body,
    );
    const linkId = created.link.id as string;
    await settle();
    await intake(half.deps, {
      routeKey: 'POST /links/{id}/approvals',
      pathParameters: { id: linkId },
      body: '{"decision":"approve"}',
      requestContext: as(`arn:aws:iam::${ACCOUNT}:user/bob`),
    });
    // Carol's approval and Google's half as the peer would report them (applied directly: no relay here).
    const peer = (name: string, data: Record<string, unknown>) =>
      peerEvent(half.deps, {
        id: 'x',
        source: 'crosslink',
        'detail-type': name,
        detail: JSON.parse(
          toEventBridgeEntry(
            buildEvent({
              name,
              origin: { cloud: 'gcp', project: 'payments-prod', region: 'us-east4' },
              subject: linkId,
              clock: cloud.clock,
              data: { linkId, policyHash: half.deps.policy.hash, ...data },
            } as never),
            'crosslink',
          ).Detail,
        ),
      });
    await peer('LinkApproved', {
      side: 'gcp',
      approver: 'carol@example.com',
      approvedAt: new Date(cloud.clock.now()).toISOString(),
      auto: false,
    });
    await settle();
    const key = await half.secrets.getActivationKey(`crosslink/${linkId}/activation-key`);
    await fetch(`${cloud.admin}/aws/interconnect/redeem-key`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ activationKey: key }),
    });
    await peer('LinkSideStateChanged', {
      side: 'gcp',
      sequence: 1,
      nativeState: 'ACTIVE',
      previousNativeState: null,
      condition: 'UP',
      observedAt: new Date(cloud.clock.now()).toISOString(),
    });
    const list = async () =>
      (
        await half.sfn.send(
          new ListExecutionsCommand({ stateMachineArn: half.deps.stateMachines.provisioning }),
        )
      ).executions ?? [];
    // The scheduled watcher until the execution ends (a bound past the delay guards a hang).
    for (let t = 0; t < delayMinutes + 60; t += watcherEveryMinutes) {
      await cloud.clock.advance(watcherEveryMinutes * MIN);
      await watch(half.deps);
      await settle();
      if ((await list())[0]?.status !== 'RUNNING') break;
    }
    const [exec] = await list();
    if (exec?.status !== 'SUCCEEDED')
      throw new Error(`the provisioning execution is ${exec?.status}, not SUCCEEDED: no count to report`);
    const events: HistoryEvent[] = [];
    let nextToken: string | undefined;
    do {
      const out = await half.sfn.send(
        new GetExecutionHistoryCommand({ executionArn: exec.executionArn, nextToken, maxResults: 1000 }),
      );
      events.push(...(out.events ?? []));
      nextToken = out.nextToken;
    } while (nextToken);
    return events.filter((e) => e.type?.endsWith('StateEntered')).length;
  } finally {
    await half.stop();
    await cloud.stop();
  }
}
