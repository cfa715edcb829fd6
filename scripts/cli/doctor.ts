/**
 * `crosslink doctor` (docs/deploy.md "Doctor"): read-only checks of an installation on both clouds,
 * each one line, `ok` or `FAIL` with what is wrong and the fix. The same checks run against the
 * local cloud and the real clouds; only where they read differs (endpoints and credentials, the
 * `DoctorTarget` below). Nothing here changes either cloud.
 */
import { CloudWatchClient, GetMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import { DescribeRuleCommand, EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { DescribeKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { GetFunctionCommand, InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { GetQueueAttributesCommand, GetQueueUrlCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from '@smithy/types';
import { InterconnectClient } from '#aws/interconnect-client.ts';
import { InterconnectEnvironments } from '#aws/offerings.ts';
import type { Policy } from '#core/policy/policy.ts';
import { RemoteProfiles } from '#gcp/offerings.ts';
import { TransportClient } from '#gcp/transport-client.ts';

/** Where the checks read, and as whom. */
export interface DoctorTarget {
  kind: 'local' | 'cloud';
  policy: Policy;
  aws: {
    region: string;
    stage: string;
    /** The AWS edge (local); undefined for the real endpoints. */
    endpoint?: string;
    credentials: AwsCredentialIdentity | AwsCredentialIdentityProvider;
    intake: string | undefined;
  };
  gcp: {
    project: string;
    region: string;
    /** The Google edge (local): every API on one origin; undefined for `https://<api host>`. */
    endpoint?: string;
    accessToken(): Promise<string>;
    intake: string | undefined;
    /** gcp.yml's `bootstrap.apis`: what must be enabled. */
    apis: readonly string[];
    /** The sealing key (gcp.yml `CROSSLINK_KMS_KEY`, `<ring>/<key>`). */
    kmsKey: string;
    /** The push subscriptions that carry Google's events to AWS (gcp.yml: a push to an `endpoint`). */
    relaySubscriptions: readonly string[];
  };
  /** Where the checks' time stands: the local cloud's virtual clock, or the system's. */
  now(): Promise<number>;
  /** The relay's backlog allowed, both directions: its oldest waiting event's age (gcp.yml `doctor`). */
  relayMaxLagSeconds: number;
  /** The emulators' `host:port` (local only). */
  emulators?: { pubsub: string | null; firestore: string | null };
}

export interface CheckResult {
  name: string;
  ok: boolean;
  /** What is wrong (a failure) or what was seen (ok). */
  detail: string;
  /** What to do about a failure. */
  fix?: string;
}

type Outcome = Omit<CheckResult, 'name'>;
const ok = (detail: string): Outcome => ({ ok: true, detail });
const fail = (detail: string, fix: string): Outcome => ({ ok: false, detail, fix });

/** What to do when a step of the relay's self-test fails (functions/aws/relay-self-test.ts). */
const SELF_TEST_FIXES: Record<string, string> = {
  configuration: "deploy AWS again with Google's values (docs/deploy.md, phase 2)",
  'token exchange':
    "the pool's AWS provider must trust this account with a condition naming the relay role's sessions (deploy-gcp with gcp.yml's bootstrap), and CROSSLINK_GCP_EXTERNAL_ACCOUNT must be that provider's credential configuration",
  'publish permission':
    "deploy-gcp grants the relay's principal set roles/pubsub.publisher on the peer topic (gcp.yml topics[].awsPublishers): run it again",
};

const DLQS = ['peer-events', 'watcher', 'forward', 'relay', 'starter'] as const;

/** One line: `ok   name: detail` or `FAIL name: detail; fix: ...`. */
export function checkLine(r: CheckResult): string {
  return r.ok ? `ok    ${r.name}: ${r.detail}` : `FAIL  ${r.name}: ${r.detail}; fix: ${r.fix}`;
}

/** Runs every check (in parallel; each one's error is its failure) and returns them in order. */
export async function runDoctor(t: DoctorTarget): Promise<CheckResult[]> {
  const checks = doctorChecks(t);
  return Promise.all(
    checks.map(async ([name, run, fixOnError]) => {
      try {
        return { name, ...(await run()) };
      } catch (e) {
        return { name, ...fail(`cannot check: ${firstLine(e)}`, fixOnError) };
      }
    }),
  );
}

function firstLine(e: unknown): string {
  const err = e as { name?: string; message?: string };
  return `${err.name && err.name !== 'Error' ? `${err.name}: ` : ''}${(err.message ?? String(e)).split('\n')[0]}`;
}

/** The checks: name, the read, and the fix when the read itself fails. */
export function doctorChecks(t: DoctorTarget): [string, () => Promise<Outcome>, string][] {
  const { aws, gcp } = t;
  const awsConfig = (region = aws.region) => ({
    region,
    credentials: aws.credentials,
    maxAttempts: 2,
    ...(aws.endpoint ? { endpoint: aws.endpoint } : {}),
  });
  const fn = (name: string) => `crosslink-${aws.stage}-${name}`;
  const gcpUrl = (host: string, path: string) => `${gcp.endpoint ?? `https://${host}`}${path}`;
  const google = async <T>(host: string, path: string): Promise<T> => {
    const res = await fetch(gcpUrl(host, path), {
      headers: { authorization: `Bearer ${await gcp.accessToken()}` },
    });
    const body = (await res.json().catch(() => ({}))) as T & {
      error?: { status?: string; message?: string };
    };
    if (!res.ok)
      throw new Error(
        `${host} ${path}: ${res.status} ${body.error?.status ?? ''} ${body.error?.message ?? ''}`.trim(),
      );
    return body;
  };
  const answers = async (url: string | undefined, side: string): Promise<Outcome> => {
    if (!url) return fail(`no ${side} intake URL known`, `pass --${side}-intake <url> (the stack's output)`);
    const res = await fetch(`${url.replace(/\/+$/, '')}/links`, { signal: AbortSignal.timeout(10_000) });
    await res.arrayBuffer();
    return res.status < 500
      ? ok(`${url} answers (HTTP ${res.status} to an unsigned GET /links)`)
      : fail(`${url} answers HTTP ${res.status}`, `read the ${side} intake's logs; redeploy it`);
  };
  const intakeVariables = async () => {
    const lambda = new LambdaClient(awsConfig());
    try {
      const out = await lambda.send(new GetFunctionCommand({ FunctionName: fn('intake') }));
      return out.Configuration?.Environment?.Variables ?? {};
    } finally {
      lambda.destroy();
    }
  };
  const [ring, key] = gcp.kmsKey.split('/') as [string, string];

  return [
    [
      'aws intake',
      () => answers(aws.intake, 'aws'),
      'check the HTTP API of the stack exists (osls info) and its URL',
    ],
    [
      'aws peer values',
      async () => {
        const v = await intakeVariables();
        const missing = ['CROSSLINK_PEER_PUBLIC_KEY_PEM', 'CROSSLINK_PEER_KEY_ID'].filter((k) => !v[k]);
        return missing.length === 0
          ? ok(`Google's sealing key is set (${v.CROSSLINK_PEER_KEY_ID})`)
          : fail(
              `${missing.join(', ')} empty on ${fn('intake')}: links are refused (the first phase of the deploy)`,
              "deploy AWS again with Google's values, without CROSSLINK_DEPLOY_PHASE=aws-first (docs/deploy.md, phase 2)",
            );
      },
      `the function ${fn('intake')} must exist: deploy the AWS half (osls deploy --stage ${aws.stage})`,
    ],
    [
      'aws sealing key',
      async () => {
        const arn = (await intakeVariables()).CROSSLINK_KMS_KEY_ID;
        if (!arn) return fail(`${fn('intake')} has no CROSSLINK_KMS_KEY_ID`, 'redeploy the AWS half');
        const kms = new KMSClient(awsConfig());
        try {
          const k = (await kms.send(new DescribeKeyCommand({ KeyId: arn }))).KeyMetadata;
          return k?.KeyState === 'Enabled'
            ? ok(`${arn} is Enabled`)
            : fail(
                `${arn} is ${k?.KeyState}: Google's sealed activation keys cannot be opened`,
                `aws kms enable-key --key-id ${arn} --region ${aws.region}`,
              );
        } finally {
          kms.destroy();
        }
      },
      'the stack must hold ActivationKeyKms: redeploy the AWS half',
    ],
    [
      'aws dead letters',
      async () => {
        const sqs = new SQSClient(awsConfig());
        try {
          const full: string[] = [];
          for (const q of DLQS) {
            const name = `crosslink-${q}-dlq-${aws.stage}`;
            const { waiting, inFlight } = await queueCounts(sqs, name);
            const n = waiting + inFlight;
            if (n > 0) full.push(`${name} holds ${n}`);
          }
          return full.length === 0
            ? ok(`${DLQS.length} dead-letter queues empty`)
            : fail(
                full.join(', '),
                'read each (aws sqs receive-message --queue-url <url> --attribute-names All --message-attribute-names All): the ERROR_MESSAGE attribute says why; fix the cause, then redrive (aws sqs start-message-move-task) or delete',
              );
        } finally {
          sqs.destroy();
        }
      },
      'the stack must hold its queues: redeploy the AWS half',
    ],
    [
      'relay lag',
      () => relayLag(t, awsConfig(), google),
      'the caller needs sqs:GetQueueUrl, sqs:GetQueueAttributes and cloudwatch:GetMetricData on the relay queue, monitoring.timeSeries.list on the project',
    ],
    [
      'aws watcher schedule',
      async () => {
        const events = new EventBridgeClient(awsConfig());
        const rule = `crosslink-watcher-schedule-${aws.stage}`;
        try {
          const r = await events.send(new DescribeRuleCommand({ Name: rule }));
          return r.State === 'ENABLED'
            ? ok(`${rule} ENABLED (${r.ScheduleExpression})`)
            : fail(
                `${rule} is ${r.State}: the AWS watcher does not run`,
                `aws events enable-rule --name ${rule} --region ${aws.region}`,
              );
        } finally {
          events.destroy();
        }
      },
      'the stack must hold the watcher schedule: redeploy the AWS half',
    ],
    [
      'aws relay self-test',
      async () => {
        const lambda = new LambdaClient(awsConfig());
        try {
          const out = await lambda.send(
            new InvokeCommand({
              FunctionName: fn('relayToGoogle'),
              Payload: new TextEncoder().encode(JSON.stringify({ crosslinkSelfTest: true })),
            }),
          );
          const text = new TextDecoder().decode(out.Payload);
          if (out.FunctionError)
            return fail(`the relay's self-test failed: ${text.slice(0, 300)}`, 'read its log');
          const report = JSON.parse(text) as {
            ok: boolean;
            steps: { step: string; ok: boolean; detail: string }[];
          };
          const bad = report.steps.find((st) => !st.ok);
          if (!bad) return ok(report.steps.map((st) => `${st.step} ok`).join(', '));
          return fail(
            `${bad.step}: ${bad.detail}`,
            SELF_TEST_FIXES[bad.step] ?? 'read the relay function log',
          );
        } finally {
          lambda.destroy();
        }
      },
      `the function ${fn('relayToGoogle')} must exist and the caller hold lambda:InvokeFunction on it`,
    ],
    [
      'aws interconnect environments',
      async () => {
        const envs = new InterconnectEnvironments({ clientFor: (r) => new InterconnectClient(awsConfig(r)) });
        const bad: string[] = [];
        for (const p of t.policy.document.regionPairs) {
          const e = await envs.find(p.aws, p.gcp).catch((err: Error) => err);
          if (e instanceof Error) bad.push(`${p.aws} -> ${p.gcp}: ${e.message}`);
          else if (e.state !== 'available')
            bad.push(`${p.aws} -> ${p.gcp}: ${e.environmentId} is ${e.state}`);
        }
        return bad.length === 0
          ? ok(
              `an available environment in each of the policy's ${t.policy.document.regionPairs.length} region pairs`,
            )
          : fail(
              bad.join('; '),
              'links in that pair wait for capacity: request in another pair of config/policy.yaml, or take the pair out of it',
            );
      },
      'the caller needs interconnect:ListEnvironments in the policy regions',
    ],
    [
      'gcp apis',
      async () => {
        // Every page: Service Usage answers 50 a page unless asked, and a project holds more.
        const on = new Set<string | undefined>();
        let pageToken = '';
        do {
          const list = await google<{ services?: { config?: { name?: string } }[]; nextPageToken?: string }>(
            'serviceusage.googleapis.com',
            `/v1/projects/${gcp.project}/services?filter=state:ENABLED${pageToken ? `&pageToken=${encodeURIComponent(pageToken)}` : ''}`,
          );
          for (const s of list.services ?? []) on.add(s.config?.name);
          pageToken = list.nextPageToken ?? '';
        } while (pageToken);
        const off = gcp.apis.filter((a) => !on.has(a));
        return off.length === 0
          ? ok(`the ${gcp.apis.length} APIs of gcp.yml's bootstrap are enabled`)
          : fail(
              `not enabled: ${off.join(', ')}`,
              `gcloud services enable ${off.join(' ')} --project=${gcp.project}`,
            );
      },
      'the caller needs serviceusage.services.list on the project',
    ],
    [
      'gcp sealing key',
      async () => {
        const name = `projects/${gcp.project}/locations/${gcp.region}/keyRings/${ring}/cryptoKeys/${key}/cryptoKeyVersions/1`;
        const v = await google<{ state?: string | number }>('cloudkms.googleapis.com', `/v1/${name}`);
        return v.state === 'ENABLED'
          ? ok(`${ring}/${key} version 1 is ENABLED`)
          : fail(
              `${ring}/${key} version 1 is ${v.state}: AWS's sealed activation keys cannot be opened`,
              `gcloud kms keys versions enable 1 --key=${key} --keyring=${ring} --location=${gcp.region} --project=${gcp.project}`,
            );
      },
      `create the key: deploy-gcp with gcp.yml's bootstrap creates ${ring}/${key}`,
    ],
    [
      'gcp remote profiles',
      async () => {
        const profiles = new RemoteProfiles({
          clientFor: (location) =>
            new TransportClient({
              project: gcp.project,
              location,
              maxRetries: 1,
              ...(gcp.endpoint ? { endpoint: gcp.endpoint } : {}),
              auth: { getAccessToken: async () => ({ token: await gcp.accessToken() }) },
            }),
        });
        const bad: string[] = [];
        for (const p of t.policy.document.regionPairs) {
          const found = await profiles.find(p.gcp, p.aws).catch((err: Error) => err);
          if (found instanceof Error) bad.push(`${p.gcp} -> ${p.aws}: ${found.message}`);
          else if (found.orderState === 'CLOSED')
            bad.push(`${p.gcp} -> ${p.aws}: ${found.name.split('/').pop()} is CLOSED to new orders`);
        }
        return bad.length === 0
          ? ok(
              `an open remote profile in each of the policy's ${t.policy.document.regionPairs.length} region pairs`,
            )
          : fail(
              bad.join('; '),
              'links in that pair wait for capacity: request in another pair of config/policy.yaml, or take the pair out of it',
            );
      },
      'the caller needs networkconnectivity.remoteTransportProfiles.list in the policy regions',
    ],
    [
      'gcp watcher schedule',
      async () => {
        const list = await google<{
          jobs?: { name: string; state?: string; status?: { code?: number; message?: string } }[];
        }>('cloudscheduler.googleapis.com', `/v1/projects/${gcp.project}/locations/${gcp.region}/jobs`);
        const jobs = (list.jobs ?? []).filter((j) => /watcher/.test(j.name.split('/').pop() ?? ''));
        if (jobs.length === 0)
          return fail(
            'no watcher job in Cloud Scheduler',
            `deploy-gcp --project ${gcp.project} (gcp.yml schedulerJobs)`,
          );
        const bad = jobs.filter((j) => j.state !== 'ENABLED' || (j.status?.code ?? 0) !== 0);
        if (bad.length === 0) return ok(jobs.map((j) => `${j.name.split('/').pop()} ENABLED`).join(', '));
        const j = bad[0] as (typeof bad)[number];
        const id = j.name.split('/').pop();
        return j.state !== 'ENABLED'
          ? fail(
              `${id} is ${j.state}: the Google watcher does not run`,
              `gcloud scheduler jobs resume ${id} --location=${gcp.region} --project=${gcp.project}`,
            )
          : fail(`${id}'s last run failed: ${j.status?.message}`, "read the watcher function's logs");
      },
      'the caller needs cloudscheduler.jobs.list',
    ],
    [
      'gcp intake',
      () => answers(gcp.intake, 'gcp'),
      'check the intake function is deployed (gcloud functions describe intake)',
    ],
    ...(t.emulators
      ? ([
          [
            'local emulators',
            async () => {
              const down: string[] = [];
              for (const [what, host] of Object.entries(t.emulators ?? {})) {
                if (!host) {
                  down.push(`${what}: not running`);
                  continue;
                }
                const res = await fetch(`http://${host}/`, { signal: AbortSignal.timeout(5_000) }).catch(
                  (e: Error) => e,
                );
                if (res instanceof Error) down.push(`${what} (${host}): ${res.message}`);
                else if (!res.ok) down.push(`${what} (${host}): HTTP ${res.status}`);
              }
              return down.length === 0
                ? ok(`Pub/Sub ${t.emulators?.pubsub} and Firestore ${t.emulators?.firestore} answer`)
                : fail(
                    down.join('; '),
                    'restart the local cloud (npm start); it says which emulator is missing',
                  );
            },
            'restart the local cloud (npm start)',
          ],
        ] as [string, () => Promise<Outcome>, string][])
      : []),
  ];
}

/** A queue's messages waiting (visible) and in flight (received, not yet deleted). */
async function queueCounts(sqs: SQSClient, name: string): Promise<{ waiting: number; inFlight: number }> {
  const { QueueUrl } = await sqs.send(new GetQueueUrlCommand({ QueueName: name }));
  const a = (
    await sqs.send(
      new GetQueueAttributesCommand({
        QueueUrl,
        AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
      }),
    )
  ).Attributes;
  return {
    waiting: Number(a?.ApproximateNumberOfMessages ?? 0),
    inFlight: Number(a?.ApproximateNumberOfMessagesNotVisible ?? 0),
  };
}

/** How far back the relay's age metrics are read: a few of their one-minute samples. */
const LAG_WINDOW_MS = 5 * 60_000;

/**
 * The relay's backlog in both directions. AWS -> Google: the relay queue's waiting messages
 * (GetQueueAttributes) and the age of its oldest one (CloudWatch `AWS/SQS`
 * `ApproximateAgeOfOldestMessage`, the latest one-minute sample). Google -> AWS: the push
 * subscriptions' `pubsub.googleapis.com/subscription/oldest_unacked_message_age` (Cloud Monitoring).
 * Locally the Google side is not measured: the Pub/Sub emulator keeps no backlog metric and the
 * local Monitoring serves no Pub/Sub series, which the line says.
 */
async function relayLag(
  t: DoctorTarget,
  config: { region: string; credentials: DoctorTarget['aws']['credentials']; endpoint?: string },
  google: <T>(host: string, path: string) => Promise<T>,
): Promise<Outcome> {
  const max = t.relayMaxLagSeconds;
  const queue = `crosslink-relay-${t.aws.stage}`;
  const now = await t.now();
  const sqs = new SQSClient(config);
  const cloudwatch = new CloudWatchClient(config);
  const lagging: string[] = [];
  const seen: string[] = [];
  try {
    const { waiting, inFlight } = await queueCounts(sqs, queue);
    const data = await cloudwatch.send(
      new GetMetricDataCommand({
        StartTime: new Date(now - LAG_WINDOW_MS),
        EndTime: new Date(now + 1),
        ScanBy: 'TimestampDescending',
        MetricDataQueries: [
          {
            Id: 'age',
            MetricStat: {
              Metric: {
                Namespace: 'AWS/SQS',
                MetricName: 'ApproximateAgeOfOldestMessage',
                Dimensions: [{ Name: 'QueueName', Value: queue }],
              },
              Period: 60,
              Stat: 'Maximum',
            },
          },
        ],
      }),
    );
    const age = data.MetricDataResults?.[0]?.Values?.[0];
    const backlog = `${waiting} waiting, ${inFlight} in flight`;
    if (age === undefined) seen.push(`${queue}: ${backlog}, no age sample in the last 5 minutes`);
    else if (age > max) lagging.push(`${queue}: oldest event ${age} s old (over ${max} s), ${backlog}`);
    else seen.push(`${queue}: oldest ${age} s, ${backlog}`);
  } finally {
    sqs.destroy();
    cloudwatch.destroy();
  }
  if (t.kind === 'local') seen.push('Google -> AWS not measured locally (no Pub/Sub backlog metric)');
  else {
    for (const sub of t.gcp.relaySubscriptions) {
      const filter = `metric.type = "pubsub.googleapis.com/subscription/oldest_unacked_message_age" AND resource.labels.subscription_id = "${sub}"`;
      const q = new URLSearchParams({
        filter,
        'interval.startTime': new Date(now - LAG_WINDOW_MS).toISOString(),
        'interval.endTime': new Date(now).toISOString(),
      });
      const series = await google<{ timeSeries?: { points?: { value?: { int64Value?: string } }[] }[] }>(
        'monitoring.googleapis.com',
        `/v3/projects/${t.gcp.project}/timeSeries?${q}`,
      );
      const value = series.timeSeries?.[0]?.points?.[0]?.value?.int64Value;
      if (value === undefined) seen.push(`${sub}: no age sample in the last 5 minutes`);
      else if (Number(value) > max)
        lagging.push(`${sub}: oldest unacked event ${value} s old (over ${max} s)`);
      else seen.push(`${sub}: oldest unacked ${value} s`);
    }
  }
  return lagging.length === 0
    ? ok(seen.join('; '))
    : fail(
        lagging.join('; '),
        `the relay is not keeping up: read its function's log (relayToGoogle for the queue, the AWS route /relay/google for a subscription), check its event source mapping is enabled (aws lambda list-event-source-mappings --function-name crosslink-${t.aws.stage}-relayToGoogle), and the dead letters it may be sending`,
      );
}
