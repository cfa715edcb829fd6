/**
 * The AWS half: (1) Step Functions state transitions of one provisioning (initiate, both approvals
 * in) at provider delays of 5, 30 and 120 simulated minutes, with the watcher every 5 minutes, beside
 * a baseline that polls every 30 s as the official waiter does (Wait -> Get -> Choice: 3 transitions
 * per poll, computed). The Lambda packages' sizes and init times: bench/lambda-packages.ts.
 */
import { GetExecutionHistoryCommand, type HistoryEvent, ListExecutionsCommand } from '@aws-sdk/client-sfn';
import { toEventBridgeEntry } from '#aws/envelope.ts';
import { intake } from '#aws/intake.ts';
import { watch } from '#aws/watcher.ts';
import { buildEvent } from '#core/envelope.ts';
import { startLocalCloud } from '#local/index.ts';
import { ACCOUNT, startAwsHalf } from '../test/support/aws-half.ts';

const MIN = 60_000;

async function transitionsAt(delayMinutes: number): Promise<number> {
  const cloud = await startLocalCloud({
    ports: 0,
    clock: { mode: 'manual', start: '2026-06-01T00:00:00Z' },
    seed: 1,
    log: () => {},
    settings: { interconnect: { delays: { provisioning: `${delayMinutes}m` } } },
  });
  const half = await startAwsHalf(cloud);
  try {
    const request = JSON.parse(
      JSON.stringify({
        name: 'bench',
        initiator: 'aws',
        bandwidth: '1Gbps',
        environment: 'prod',
        residency: 'US',
        aws: {
          accountId: ACCOUNT,
          region: 'us-east-1',
          directConnectGateway: half.gateway,
          routes: ['10.10.0.0/16'],
        },
        gcp: { project: 'payments-prod', region: 'us-east4', network: 'vpc', routes: ['10.20.0.0/16'] },
      }),
    );
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
    const { peerEvent } = await import('#aws/intake.ts');
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
    for (let t = 0; t < delayMinutes + 15; t += 5) {
      await cloud.clock.advance(5 * MIN);
      await watch(half.deps); // the scheduled watcher, every 5 minutes
      await settle();
    }
    const [exec] =
      (
        await half.sfn.send(
          new ListExecutionsCommand({ stateMachineArn: half.deps.stateMachines.provisioning }),
        )
      ).executions ?? [];
    const events: HistoryEvent[] = [];
    let nextToken: string | undefined;
    do {
      const out = await half.sfn.send(
        new GetExecutionHistoryCommand({ executionArn: exec?.executionArn, nextToken, maxResults: 1000 }),
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

const settle = () => new Promise((r) => setTimeout(r, 100));

export async function run(): Promise<void> {
  console.log('state transitions of one provisioning (initiate, approvals in, watcher every 5 min)');
  console.log('provider delay   crosslink   30 s polling baseline (3 per poll)');
  for (const d of [5, 30, 120]) {
    const ours = await transitionsAt(d);
    console.log(
      `${String(d).padStart(7)} min   ${String(ours).padStart(9)}   ${String(d * 2 * 3).padStart(10)}`,
    );
  }
}
