/**
 * `crosslink doctor` against the local cloud with both halves deployed (the root serverless.yml and
 * gcp.yml, the real emulators): healthy, every line `ok` and exit 0; then each breakage, injected
 * through the clouds' own APIs or the local cloud's admin API and undone after, gives exactly one
 * FAIL line, with its fix, and exit 1.
 */
import { DisableRuleCommand, EnableRuleCommand, EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { DisableKeyCommand, EnableKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { GetFunctionCommand, LambdaClient } from '@aws-sdk/client-lambda';
import {
  DeleteMessageCommand,
  GetQueueUrlCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InterconnectClient } from '#aws/interconnect-client.ts';
import { InterconnectEnvironments } from '#aws/offerings.ts';
import { type BothHalves, startBothHalves } from '../support/both-halves.ts';
import { ADMIN_CREDENTIALS, admin } from '../support/local-cloud.ts';

let b: BothHalves;
const clientConfig = () => ({
  region: b.cloud.aws.region,
  endpoint: b.cloud.aws.endpoint,
  credentials: ADMIN_CREDENTIALS,
});

beforeAll(async () => {
  b = await startBothHalves();
}, 120_000);
afterAll(async () => {
  await b?.stop();
});

/** `crosslink doctor` as the CLI runs it: its lines, and the failing ones. */
async function doctor() {
  const r = await b.cli('doctor');
  const lines = r.out.split('\n').filter(Boolean);
  return { code: r.code, lines, failing: lines.filter((l) => l.startsWith('FAIL')), err: r.err };
}

/** A Google REST call on the local edge as the admin identity. */
async function google(method: string, path: string, body?: unknown) {
  const account = b.cloud.gcp.auth.accountByName('admin');
  const { token } = b.cloud.gcp.auth.issueAccessToken({
    email: account?.email as string,
    kind: 'service-account',
  });
  const res = await fetch(`${b.cloud.gcp.endpoint}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const json = await res.json();
  expect(res.status, JSON.stringify(json)).toBe(200);
  return json as Record<string, unknown>;
}

/** Breaks, runs doctor, repairs: the one FAIL line it gave (exit 1), and doctor healthy again. */
async function oneFailure(brk: () => Promise<unknown>, repair: () => Promise<unknown>) {
  await brk();
  let broken: Awaited<ReturnType<typeof doctor>>;
  try {
    broken = await doctor();
  } finally {
    await repair();
  }
  expect(broken.code, broken.lines.join('\n')).toBe(1);
  expect(broken.failing, broken.lines.join('\n')).toHaveLength(1);
  const healed = await doctor();
  expect(healed.failing, healed.lines.join('\n')).toEqual([]);
  return broken.failing[0] as string;
}

describe('crosslink doctor on the local cloud', () => {
  it('healthy: every check ok, one line each, exit 0', async () => {
    const r = await doctor();
    expect(r.err).toBe('');
    expect(
      r.lines.map((l) => l.split(':')[0]),
      r.lines.join('\n'),
    ).toEqual([
      'ok    aws intake',
      'ok    aws peer values',
      'ok    aws sealing key',
      'ok    aws dead letters',
      'ok    relay lag',
      'ok    aws watcher schedule',
      'ok    aws relay self-test',
      'ok    aws interconnect environments',
      'ok    gcp apis',
      'ok    gcp sealing key',
      'ok    gcp remote profiles',
      'ok    gcp watcher schedule',
      'ok    gcp intake',
      'ok    local emulators',
    ]);
    expect(r.code).toBe(0);
    const json = JSON.parse((await b.cli('doctor', '--json')).out);
    expect(json.ok).toBe(true);
    expect(json.checks).toHaveLength(14);
  }, 60_000);

  it('a message in a dead-letter queue', async () => {
    const sqs = new SQSClient(clientConfig());
    const { QueueUrl } = await sqs.send(new GetQueueUrlCommand({ QueueName: 'crosslink-relay-dlq-dev' }));
    const line = await oneFailure(
      () => sqs.send(new SendMessageCommand({ QueueUrl, MessageBody: '{"poison":true}' })),
      async () => {
        const got = await sqs.send(new ReceiveMessageCommand({ QueueUrl, MaxNumberOfMessages: 10 }));
        for (const m of got.Messages ?? [])
          await sqs.send(new DeleteMessageCommand({ QueueUrl, ReceiptHandle: m.ReceiptHandle }));
      },
    );
    expect(line).toMatch(
      /^FAIL {2}aws dead letters: crosslink-relay-dlq-dev holds 1; fix: read each \(aws sqs receive-message/,
    );
    sqs.destroy();
  }, 60_000);

  it('the relay to Google stopped while events pile up: its oldest event ages past the threshold', async () => {
    const sqs = new SQSClient(clientConfig());
    const { QueueUrl } = await sqs.send(new GetQueueUrlCommand({ QueueName: 'crosslink-relay-dev' }));
    const consumer = (enabled: boolean) =>
      admin(b.cloud, 'POST', '/aws/lambda/set-mappings', {
        function: 'crosslink-dev-relayToGoogle',
        enabled,
      });
    const line = await oneFailure(
      async () => {
        const stopped = (await consumer(false)) as { mappings: { source: string; enabled: boolean }[] };
        expect(stopped.mappings).toEqual([
          {
            uuid: expect.any(String),
            source: expect.stringMatching(/:crosslink-relay-dev$/),
            enabled: false,
          },
        ]);
        for (let i = 0; i < 3; i++)
          await sqs.send(new SendMessageCommand({ QueueUrl, MessageBody: `{"waiting":${i}}` }));
        // Seven minutes on: the one-minute samples of the queue's oldest message pass 300 s.
        await b.cloud.clock.advance(7 * 60_000);
      },
      async () => {
        for (;;) {
          const got = await sqs.send(new ReceiveMessageCommand({ QueueUrl, MaxNumberOfMessages: 10 }));
          if (!got.Messages?.length) break;
          for (const m of got.Messages)
            await sqs.send(new DeleteMessageCommand({ QueueUrl, ReceiptHandle: m.ReceiptHandle }));
        }
        await consumer(true);
        // A minute on: the latest sample sees the queue empty.
        await b.cloud.clock.advance(60_000);
      },
    );
    expect(line).toMatch(
      /^FAIL {2}relay lag: crosslink-relay-dev: oldest event \d+ s old \(over 300 s\), 3 waiting, 0 in flight; fix: the relay is not keeping up: .*aws lambda list-event-source-mappings --function-name crosslink-dev-relayToGoogle/,
    );
    // Sent before the seven minutes: the latest sample is at least six minutes old.
    expect(Number(/oldest event (\d+) s/.exec(line)?.[1])).toBeGreaterThanOrEqual(360);
    sqs.destroy();
  }, 60_000);

  it("the relay's publish grant on the peer topic gone: the relay's own self-test finds it", async () => {
    const iam = b.cloud.gcp.iam;
    const fromGcpYml = iam.bindings().filter((x) => x.source === 'gcp.yml');
    const peerTopic = `projects/${b.cloud.gcp.project}/topics/crosslink-peer-events`;
    const strip = (x: (typeof fromGcpYml)[number]) => {
      const { source: _, ...binding } = x;
      return binding;
    };
    const line = await oneFailure(
      async () =>
        iam.setBindings(
          'gcp.yml',
          fromGcpYml
            .filter(
              (x) => !(x.resource === peerTopic && x.members.some((m) => m.startsWith('principalSet://'))),
            )
            .map(strip),
        ),
      async () => iam.setBindings('gcp.yml', fromGcpYml.map(strip)),
    );
    expect(line).toMatch(
      /^FAIL {2}aws relay self-test: publish permission: lacks pubsub\.topics\.publish on crosslink-peer-events .*; fix: deploy-gcp grants the relay's principal set roles\/pubsub\.publisher/,
    );
  }, 60_000);

  it('the AWS watcher schedule disabled', async () => {
    const events = new EventBridgeClient(clientConfig());
    const Name = 'crosslink-watcher-schedule-dev';
    const line = await oneFailure(
      () => events.send(new DisableRuleCommand({ Name })),
      () => events.send(new EnableRuleCommand({ Name })),
    );
    expect(line).toBe(
      `FAIL  aws watcher schedule: ${Name} is DISABLED: the AWS watcher does not run; fix: aws events enable-rule --name ${Name} --region us-east-1`,
    );
    events.destroy();
  }, 60_000);

  it('the AWS sealing key disabled', async () => {
    const lambda = new LambdaClient(clientConfig());
    const fn = await lambda.send(new GetFunctionCommand({ FunctionName: 'crosslink-dev-intake' }));
    const KeyId = fn.Configuration?.Environment?.Variables?.CROSSLINK_KMS_KEY_ID as string;
    const kms = new KMSClient(clientConfig());
    const line = await oneFailure(
      () => kms.send(new DisableKeyCommand({ KeyId })),
      () => kms.send(new EnableKeyCommand({ KeyId })),
    );
    expect(line).toBe(
      `FAIL  aws sealing key: ${KeyId} is Disabled: Google's sealed activation keys cannot be opened; fix: aws kms enable-key --key-id ${KeyId} --region us-east-1`,
    );
    kms.destroy();
    lambda.destroy();
  }, 60_000);

  it('no AWS Interconnect capacity in a policy region pair', async () => {
    // The us-east-1 -> us-east4 environment, as ListEnvironments names it.
    const env = await new InterconnectEnvironments({
      clientFor: (r) => new InterconnectClient({ ...clientConfig(), region: r }),
    }).find('us-east-1', 'us-east4');
    const line = await oneFailure(
      () =>
        admin(b.cloud, 'POST', '/aws/interconnect/set-environment', {
          environmentId: env.environmentId,
          state: 'unavailable',
        }),
      () =>
        admin(b.cloud, 'POST', '/aws/interconnect/set-environment', {
          environmentId: env.environmentId,
          state: 'available',
        }),
    );
    expect(line).toBe(
      `FAIL  aws interconnect environments: us-east-1 -> us-east4: ${env.environmentId} is unavailable; fix: links in that pair wait for capacity: request in another pair of config/policy.yaml, or take the pair out of it`,
    );
  }, 60_000);

  it('a Google API disabled', async () => {
    const base = `/serviceusage.googleapis.com/v1/projects/${b.cloud.gcp.project}/services/pubsub.googleapis.com`;
    const line = await oneFailure(
      () => google('POST', `${base}:disable`),
      () => google('POST', `${base}:enable`),
    );
    expect(line).toBe(
      `FAIL  gcp apis: not enabled: pubsub.googleapis.com; fix: gcloud services enable pubsub.googleapis.com --project=${b.cloud.gcp.project}`,
    );
  }, 60_000);

  it('a Google API disabled in a project with more enabled than one page holds: every page is read', async () => {
    const base = `/serviceusage.googleapis.com/v1/projects/${b.cloud.gcp.project}/services`;
    // Sixty more APIs, named to sort first: crosslink's fall on the second page of 50.
    const more = Array.from(
      { length: 60 },
      (_, i) => `aa-extra-${String(i).padStart(2, '0')}.googleapis.com`,
    );
    const line = await oneFailure(
      async () => {
        for (const api of more) await google('POST', `${base}/${api}:enable`);
        const first = (await google('GET', `${base}?filter=state:ENABLED`)) as {
          services: { config: { name: string } }[];
          nextPageToken?: string;
        };
        expect(first.services.map((x) => x.config.name)).not.toContain('pubsub.googleapis.com');
        expect(first.nextPageToken).toBeTruthy();
        await google('POST', `${base}/pubsub.googleapis.com:disable`);
      },
      async () => {
        await google('POST', `${base}/pubsub.googleapis.com:enable`);
        for (const api of more) await google('POST', `${base}/${api}:disable`);
      },
    );
    expect(line).toBe(
      `FAIL  gcp apis: not enabled: pubsub.googleapis.com; fix: gcloud services enable pubsub.googleapis.com --project=${b.cloud.gcp.project}`,
    );
  }, 60_000);

  it('the Google sealing key disabled', async () => {
    const version = `/cloudkms.googleapis.com/v1/projects/${b.cloud.gcp.project}/locations/${b.cloud.gcp.region}/keyRings/crosslink/cryptoKeys/activation/cryptoKeyVersions/1?updateMask=state`;
    const line = await oneFailure(
      () => google('PATCH', version, { state: 'DISABLED' }),
      () => google('PATCH', version, { state: 'ENABLED' }),
    );
    expect(line).toBe(
      `FAIL  gcp sealing key: crosslink/activation version 1 is DISABLED: AWS's sealed activation keys cannot be opened; fix: gcloud kms keys versions enable 1 --key=activation --keyring=crosslink --location=${b.cloud.gcp.region} --project=${b.cloud.gcp.project}`,
    );
  }, 60_000);

  it('a Google remote profile closed to new orders', async () => {
    const profile = { location: 'us-west1', profile: 'aws-us-west-2' };
    const line = await oneFailure(
      () =>
        admin(b.cloud, 'POST', '/gcp/networkconnectivity/set-profile', { ...profile, orderState: 'CLOSED' }),
      () =>
        admin(b.cloud, 'POST', '/gcp/networkconnectivity/set-profile', { ...profile, orderState: 'OPEN' }),
    );
    expect(line).toMatch(
      /^FAIL {2}gcp remote profiles: us-west1 -> us-west-2: \S+ is CLOSED to new orders; fix: links in that pair wait for capacity/,
    );
  }, 60_000);

  it('the Google watcher job paused', async () => {
    const jobs = `/cloudscheduler.googleapis.com/v1/projects/${b.cloud.gcp.project}/locations/${b.cloud.gcp.region}/jobs`;
    const list = (await google('GET', jobs)) as { jobs: { name: string }[] };
    const job = list.jobs
      .map((j) => j.name.split('/').pop() as string)
      .find((n) => n.includes('watcher')) as string;
    const line = await oneFailure(
      () => google('POST', `${jobs}/${job}:pause`),
      () => google('POST', `${jobs}/${job}:resume`),
    );
    expect(line).toBe(
      `FAIL  gcp watcher schedule: ${job} is PAUSED: the Google watcher does not run; fix: gcloud scheduler jobs resume ${job} --location=${b.cloud.gcp.region} --project=${b.cloud.gcp.project}`,
    );
  }, 60_000);
});
