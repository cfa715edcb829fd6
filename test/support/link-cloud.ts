/**
 * A local cloud with the AWS half wired and its intake served over real HTTP with IAM auth, for CLI
 * tests of `crosslink link ...`: the AWS half of test/support/aws-half.ts (the real ASL on the local
 * Step Functions), the intake (functions/aws/intake.ts) registered as a local Lambda behind
 * local/aws/http-api.ts `HttpApi` with `AWS_IAM` routes (as local/aws/wiring.ts does for the
 * template), the peer-event consumer on the bus, and a home folder whose `.crosslink/local.json`
 * names the intake in `intakes.aws` (`intakes.gcp` stays null: no Google half here) and whose
 * `.crosslink/keys/` holds the Google key files. The Google half is played by the test: peer events
 * put on the bus as the `crosslink` service identity, and the Interconnect simulator's admin calls.
 */
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import {
  EventBridgeClient,
  PutEventsCommand,
  PutRuleCommand,
  PutTargetsCommand,
} from '@aws-sdk/client-eventbridge';
import { toEventBridgeEntry } from '#aws/envelope.ts';
import { intake, peerEvent } from '#aws/intake.ts';
import { buildEvent, type CloudEvent } from '#core/envelope.ts';
import type { EventDataByName, LinkEventName } from '#core/events/catalog.ts';
import { HttpApi } from '#local/aws/http-api.ts';
import { eventsOf } from '#local/aws/services/events.ts';
import { lambdaRuntime } from '#local/aws/services/lambda.ts';
import type { LocalCloud } from '#local/index.ts';
import { main } from '#scripts/cli/main.ts';
import { ACCOUNT, type AwsHalf, REGION, startAwsHalf } from './aws-half.ts';
import type { CliRun } from './cli.ts';
import { ADMIN_CREDENTIALS, letServiceCall, startTestCloud } from './local-cloud.ts';

const CROSSLINK = { accessKeyId: 'AKIALOCALCROSSLINK01', secretAccessKey: 'crosslink-local-secret' };
const GCP_ORIGIN = { cloud: 'gcp' as const, project: 'payments-prod', region: 'us-east4' };
export const INTAKE_ROUTES = [
  'POST /links',
  'POST /links/{id}/approvals',
  'POST /links/{id}/decommission',
  'GET /links',
  'GET /links/{id}',
] as const;

export interface LinkCloud {
  cloud: LocalCloud;
  half: AwsHalf;
  home: string;
  /** The intake's base URL (what `intakes.aws` says). */
  intakeUrl: string;
  /** Runs the CLI in `home`, as the bin does; `env` is the CLI's environment. */
  cli(args: string[], env?: Record<string, string>): Promise<CliRun>;
  /** Puts a Google-origin event on the bus as the `crosslink` service identity. */
  putPeer<N extends LinkEventName>(
    name: N,
    data: Omit<EventDataByName[N], 'policyHash'> & { policyHash?: string },
  ): Promise<void>;
  /** The sealed key of `LinkKeyIssued` for the link, once the AWS half issued one. */
  keyIssued(linkId: string): EventDataByName['LinkKeyIssued'] | undefined;
  /** Advances virtual time in steps, letting the in-process Lambdas run between them. */
  advance(ms: number, step?: number): Promise<void>;
  now(): string;
  stop(): Promise<void>;
}

export async function startLinkCloud(
  options: { escalateAfterMs?: number; expireAfterMs?: number } = {},
): Promise<LinkCloud> {
  const repo = resolve(import.meta.dirname, '..', '..');
  const home = mkdtempSync(join(tmpdir(), 'crosslink-link-'));
  mkdirSync(join(home, 'config'));
  mkdirSync(join(home, '.crosslink'));
  cpSync(join(repo, 'config', 'local-identities.yaml'), join(home, 'config', 'local-identities.yaml'));
  const cloud = await startTestCloud({ gcp: { keysDir: join(home, '.crosslink', 'keys') } });
  const half = await startAwsHalf(cloud, options);
  const world = cloud.aws.edge.world;
  const runtime = lambdaRuntime(world, ACCOUNT, REGION);

  // The intake: a Lambda behind an HTTP API whose routes all use IAM auth.
  const intakeFn = runtime.register({
    name: 'linkIntake',
    timeout: 30,
    handler: async (event: unknown) => intake(half.deps, event as never),
  });
  await letServiceCall(cloud, intakeFn.arn, 'apigateway.amazonaws.com');
  const api = new HttpApi(world, { accountId: ACCOUNT, region: REGION });
  for (const routeKey of INTAKE_ROUTES)
    api.addRoute({ routeKey, functionName: 'linkIntake', auth: { type: 'AWS_IAM' } });
  await api.listen(0);

  // Peer events: a rule for Google-origin events on the crosslink bus -> the consumer Lambda.
  const fn = runtime.register({
    name: 'peerEvents',
    handler: async (e: unknown) => peerEvent(half.deps, e as never),
  });
  const config = { region: REGION, endpoint: cloud.aws.endpoint };
  const eb = new EventBridgeClient({ ...config, credentials: ADMIN_CREDENTIALS });
  await eb.send(
    new PutRuleCommand({
      Name: 'peer-events',
      EventBusName: 'crosslink',
      EventPattern: JSON.stringify({ source: ['crosslink'], detail: { crosslinkorigin: ['gcp'] } }),
    }),
  );
  await eb.send(
    new PutTargetsCommand({
      Rule: 'peer-events',
      EventBusName: 'crosslink',
      Targets: [{ Id: 'consumer', Arn: fn.arn, RetryPolicy: { MaximumRetryAttempts: 2 } }],
    }),
  );
  eb.destroy();
  await letServiceCall(cloud, fn.arn);
  const asCrosslink = new EventBridgeClient({ ...config, credentials: CROSSLINK });

  writeFileSync(
    join(home, '.crosslink', 'local.json'),
    JSON.stringify({ ...cloud.handshake(), intakes: { aws: api.endpoint, gcp: null } }),
  );

  const advance = async (ms: number, step = 5 * 60_000) => {
    for (let t = 0; t < ms; t += step) {
      await cloud.clock.advance(Math.min(step, ms - t));
      await new Promise((r) => setTimeout(r, 20));
    }
  };

  return {
    cloud,
    half,
    home,
    intakeUrl: api.endpoint,
    async cli(args, env = {}) {
      const out: string[] = [];
      const err: string[] = [];
      const code = await main(args, { out: (l) => out.push(l), err: (l) => err.push(l), cwd: home, env });
      return { code, out: out.join('\n'), err: err.join('\n') };
    },
    async putPeer(name, data) {
      const event = buildEvent({
        name,
        origin: GCP_ORIGIN,
        subject: data.linkId,
        clock: cloud.clock,
        data: { policyHash: half.deps.policy.hash, ...data },
      } as never) as CloudEvent;
      const out = await asCrosslink.send(
        new PutEventsCommand({ Entries: [toEventBridgeEntry(event, 'crosslink')] }),
      );
      if (out.FailedEntryCount) throw new Error(`PutEvents failed: ${JSON.stringify(out.Entries)}`);
    },
    keyIssued(linkId) {
      for (const r of eventsOf(world, ACCOUNT, REGION).recent as {
        detail?: unknown;
        'detail-type'?: string;
      }[]) {
        const detail = (typeof r.detail === 'string' ? JSON.parse(r.detail) : r.detail) as
          | CloudEvent
          | undefined;
        if (r['detail-type'] === 'LinkKeyIssued' && detail?.subject === linkId)
          return detail.data as EventDataByName['LinkKeyIssued'];
      }
      return undefined;
    },
    advance,
    now: () => new Date(cloud.clock.now()).toISOString(),
    async stop() {
      asCrosslink.destroy();
      await api.close();
      runtime.remove('linkIntake');
      runtime.remove('peerEvents');
      await half.stop();
      await runtime.close();
      await cloud.stop();
      rmSync(home, { recursive: true, force: true });
    },
  };
}
