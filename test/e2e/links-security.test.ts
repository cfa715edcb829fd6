/**
 * The security checks of the relay and the intakes inside a full flow, in one local cloud running both halves as
 * `npm start` does (test/support/both-halves.ts):
 *
 * 1. While an AWS-first link is provisioning through the CLI, hostile pushes carrying crosslink events
 *    for THAT link (a Google-side approval, a decommission request, the Google half gone ...) reach the
 *    relay route with a forged signature, the wrong audience, an expired token, no token, or a valid
 *    token of another service account: each is refused (401 / 403), the 403s are counted, none of
 *    them reaches the bus or either side's records, and the link reaches ACTIVE as if they were never
 *    sent.
 * 2. The link's activation key (read from the Interconnect simulator, not through crosslink) never
 *    appears in a Lambda log or Google function output, an event on either bus or topic, a Step
 *    Functions or Workflows execution, a dead letter, or the DynamoDB / Firestore records: once the
 *    link is ACTIVE and again once it is DECOMMISSIONED. The scanner is shown to find the key where it
 *    belongs (the Secrets Manager secret), so it cannot pass by seeing nothing.
 */
import { CloudWatchClient, GetMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import { DynamoDBClient, ListTablesCommand, ScanCommand } from '@aws-sdk/client-dynamodb';
import {
  GetSecretValueCommand,
  ListSecretsCommand,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import {
  GetExecutionHistoryCommand,
  ListExecutionsCommand,
  ListStateMachinesCommand,
  SFNClient,
} from '@aws-sdk/client-sfn';
import { ListQueuesCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildEvent, type CloudEvent } from '#core/envelope.ts';
import type { EventName } from '#core/events/catalog.ts';
import { eventDataIssues } from '#core/events/schemas.ts';
import { LOG_LINES } from '#local/aws/lambda/runtime.ts';
import { lambdaRuntime } from '#local/aws/services/lambda.ts';
import type { LocalCloud } from '#local/index.ts';
import {
  AWS_FIRST,
  type BothHalves,
  decommissionThroughCli,
  startBothHalves,
  untilOk,
  waitFor,
} from '../support/both-halves.ts';
import { ADMIN_CREDENTIALS } from '../support/local-cloud.ts';
import {
  type BusObserver,
  forgedToken,
  observeBus,
  push,
  pushBody,
  relayToken,
} from '../support/relay-push.ts';

interface LinkView {
  id: string;
  state: string;
  approvals: { side: string; by: string }[];
  halves: { aws: { state: string }; gcp: { state: string } };
}

let both: BothHalves;
let cloud: LocalCloud;
let observer: BusObserver;
let aws: {
  sqs: SQSClient;
  sfn: SFNClient;
  ddb: DynamoDBClient;
  secrets: SecretsManagerClient;
  cw: CloudWatchClient;
};
/** Every message pulled from the Google topics (our own pull subscriptions) and dead-letter subscriptions. */
const pulled: { place: string; text: string; data: string }[] = [];
/** Every message received from an AWS dead-letter queue. */
const awsDeadLetters: { place: string; text: string }[] = [];

const TAPS = ['crosslink-events', 'crosslink-peer-events'];
const tapOf = (topic: string) => `security-tap-${topic}`;

/** The Pub/Sub emulator's REST API. */
async function pubsubRest(method: string, path: string, body?: unknown) {
  const res = await fetch(`http://${cloud.emulators?.pubsubHost}/v1/projects/${cloud.gcp.project}/${path}`, {
    method,
    headers: { 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`pubsub ${method} ${path}: ${res.status} ${text}`);
  return JSON.parse(text || '{}');
}

/** Pulls (and acknowledges) everything `sub` holds into `pulled`; returns what it pulled now. */
async function pullAll(sub: string): Promise<string[]> {
  const now: string[] = [];
  for (;;) {
    const out = (await pubsubRest('POST', `subscriptions/${sub}:pull`, {
      maxMessages: 100,
      returnImmediately: true,
    })) as { receivedMessages?: { ackId: string; message: { data?: string; attributes?: unknown } }[] };
    const got = out.receivedMessages ?? [];
    if (got.length === 0) return now;
    for (const m of got) {
      const data = Buffer.from(m.message.data ?? '', 'base64').toString('utf8');
      const text = `${data} ${JSON.stringify(m.message.attributes ?? {})}`;
      pulled.push({ place: `pubsub ${sub}`, text, data });
      now.push(text);
    }
    await pubsubRest('POST', `subscriptions/${sub}:acknowledge`, { ackIds: got.map((m) => m.ackId) });
  }
}

beforeAll(async () => {
  both = await startBothHalves();
  cloud = both.cloud;
  observer = await observeBus(cloud, 'security-observer');
  // Taps on both Google topics before the flow starts: every event that crosses is kept.
  for (const topic of TAPS)
    await pubsubRest('PUT', `subscriptions/${tapOf(topic)}`, {
      topic: `projects/${cloud.gcp.project}/topics/${topic}`,
    });
  const config = { region: cloud.aws.region, endpoint: cloud.aws.endpoint, credentials: ADMIN_CREDENTIALS };
  aws = {
    sqs: new SQSClient(config),
    sfn: new SFNClient(config),
    ddb: new DynamoDBClient(config),
    secrets: new SecretsManagerClient(config),
    cw: new CloudWatchClient(config),
  };
}, 120_000);

afterAll(async () => {
  observer?.stop();
  for (const c of Object.values(aws ?? {})) c.destroy();
  await both?.stop();
});

const view = (id: string, side: 'aws' | 'gcp') =>
  both.json<LinkView>('link', 'show', id, '--side', side, '--as', side === 'aws' ? 'bob' : 'carol');

// ---------- hostile pushes ----------

type Attack = 'forged' | 'wrongAudience' | 'expired' | 'unsigned' | 'otherAccount';
const ATTACKS: Attack[] = ['forged', 'wrongAudience', 'expired', 'unsigned', 'otherAccount'];

/** The token each attack presents (undefined: none). */
function tokenFor(attack: Attack): string | undefined {
  const valid = relayToken(cloud);
  switch (attack) {
    case 'forged':
      return forgedToken(valid);
    case 'wrongAudience':
      return relayToken(cloud, { audience: cloud.awsHalf?.relayUrl as string });
    case 'expired':
      return relayToken(cloud, { now: cloud.clock.now() - 2 * 3_600_000 });
    case 'unsigned':
      return undefined;
    case 'otherAccount':
      return relayToken(cloud, { email: `crosslink-pusher@${cloud.gcp.project}.iam.gserviceaccount.com` });
  }
}

/**
 * Google-origin events for link `id` that would change it if a half applied them: an approval (of the
 * link or of its decommissioning), a decommission request, the Google half gone. Each is valid against
 * the event catalog, so only the relay's authentication stands between it and the bus.
 */
function hostileEvents(id: string, policyHash: string): CloudEvent[] {
  const origin = { cloud: 'gcp' as const, project: cloud.gcp.project, region: cloud.gcp.region };
  const at = new Date(cloud.clock.now()).toISOString();
  const base = { linkId: id, policyHash };
  const approval = { ...base, side: 'gcp', approver: 'mallory@example.com', approvedAt: at, auto: false };
  const make = (name: EventName, data: Record<string, unknown>) => {
    expect(eventDataIssues(name, data), name).toEqual([]);
    return buildEvent({ name, origin, subject: id, data, clock: cloud.clock });
  };
  return [
    make('LinkApproved', approval),
    make('LinkDecommissionRequested', {
      ...base,
      requestedBy: 'mallory@example.com',
      requestedVia: 'gcp',
      requestedAt: at,
    }),
    make('LinkSideStateChanged', {
      ...base,
      side: 'gcp',
      sequence: 1_000_000,
      nativeState: null,
      previousNativeState: null,
      condition: 'GONE',
      observedAt: at,
    }),
    make('LinkApproved', { ...approval, stage: 'decommissioning' }),
    make('LinkRejected', {
      ...base,
      side: 'gcp',
      approver: 'mallory@example.com',
      rejectedAt: at,
      reason: 'hostile',
    }),
  ];
}

/** The `4xx` answers of the AWS half's HTTP API so far (AWS/ApiGateway, real SDK): the authorizer's count. */
async function api4xx(): Promise<number> {
  const now = cloud.clock.now();
  const out = await aws.cw.send(
    new GetMetricDataCommand({
      StartTime: new Date(now - 24 * 3_600_000),
      EndTime: new Date(now + 3_600_000),
      MetricDataQueries: [
        {
          Id: 'refused',
          MetricStat: {
            Metric: {
              Namespace: 'AWS/ApiGateway',
              MetricName: '4xx',
              Dimensions: [
                { Name: 'ApiId', Value: cloud.awsHalf?.deployment.stack.physicalIds.HttpApi as string },
              ],
            },
            Period: 3600,
            Stat: 'Sum',
          },
        },
      ],
    }),
  );
  return (out.MetricDataResults?.[0]?.Values ?? []).reduce((a, b) => a + b, 0);
}

/**
 * One push per attack, each with its own event; returns the answers, the event ids sent and how
 * many 4xx the API counted meanwhile (nothing else calls the AWS API while a wave goes).
 */
async function attack(id: string, policyHash: string) {
  const before = await api4xx();
  const events = hostileEvents(id, policyHash);
  const url = cloud.awsHalf?.relayUrl as string;
  const answers: Record<string, number> = {};
  const ids: string[] = [];
  for (const [i, kind] of ATTACKS.entries()) {
    const e = events[i] as CloudEvent;
    ids.push(e.id);
    answers[kind] = (await push(url, pushBody(cloud, e), tokenFor(kind))).status;
  }
  return { answers, ids, counted: (await api4xx()) - before };
}

const REFUSED = { forged: 401, wrongAudience: 401, expired: 401, unsigned: 401, otherAccount: 403 };

// ---------- where the key must never be ----------

/** Lambda logs and Google function output, one place per function. */
function functionOutput(): { place: string; text: string }[] {
  const lambda = lambdaRuntime(cloud.aws.edge.world, cloud.aws.accountId, cloud.aws.region).logs;
  // The runtime keeps the last LOG_LINES lines: fewer means none was dropped before the scan.
  expect(lambda.length).toBeLessThan(LOG_LINES);
  const byFn = new Map<string, string[]>();
  for (const l of lambda)
    byFn.set(`lambda ${l.functionName}`, [...(byFn.get(`lambda ${l.functionName}`) ?? []), l.line]);
  const google = (cloud.plumbing?.functions.list() ?? []).map((f) => ({
    place: `function ${f.spec.name}`,
    text: f.output.join('\n'),
  }));
  return [...[...byFn].map(([place, lines]) => ({ place, text: lines.join('\n') })), ...google];
}

/** Every Step Functions execution's history, through the real SDK. */
async function stepFunctionsHistories() {
  const out: { place: string; text: string }[] = [];
  const machines = await aws.sfn.send(new ListStateMachinesCommand({}));
  for (const m of machines.stateMachines ?? []) {
    const execs = await aws.sfn.send(new ListExecutionsCommand({ stateMachineArn: m.stateMachineArn }));
    for (const e of execs.executions ?? []) {
      let token: string | undefined;
      const events: unknown[] = [];
      do {
        const h = await aws.sfn.send(
          new GetExecutionHistoryCommand({
            executionArn: e.executionArn,
            nextToken: token,
            includeExecutionData: true,
          }),
        );
        events.push(...(h.events ?? []));
        token = h.nextToken;
      } while (token);
      out.push({ place: `sfn ${e.executionArn}`, text: JSON.stringify(events) });
    }
  }
  return out;
}

/** Every Workflows execution (argument, result, error, steps taken, `sys.log` entries). */
function workflowExecutions() {
  const out: { place: string; text: string }[] = [];
  for (const w of ['link-provisioning', 'link-decommissioning']) {
    const service = cloud.plumbing?.workflow(w);
    if (!service) continue;
    const name = `projects/${cloud.gcp.project}/locations/${cloud.gcp.region}/workflows/${w}`;
    for (const e of service.list(name)) {
      const text = JSON.stringify({
        execution: service.get(e.name),
        logs: service.logs(e.name),
        steps: service.outcome(e.name)?.steps,
      });
      out.push({ place: `workflow ${e.name}`, text });
    }
  }
  return out;
}

/** What the AWS dead-letter queues hold (received into `awsDeadLetters`, kept across scans). */
async function awsDlqs() {
  const queues = await aws.sqs.send(new ListQueuesCommand({}));
  const dlqs = (queues.QueueUrls ?? []).filter((u) => /dlq|dead/i.test(u));
  expect(
    dlqs.some((u) => u.includes('crosslink-relay-dlq-')),
    dlqs.join(' '),
  ).toBe(true);
  for (const url of dlqs)
    for (;;) {
      const r = await aws.sqs.send(
        new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 10, MessageAttributeNames: ['All'] }),
      );
      if (!r.Messages?.length) break;
      for (const m of r.Messages) awsDeadLetters.push({ place: `sqs ${url}`, text: JSON.stringify(m) });
    }
  return dlqs;
}

/** Every DynamoDB table's items, through the real SDK. */
async function dynamoDump() {
  const out: { place: string; text: string }[] = [];
  const tables = (await aws.ddb.send(new ListTablesCommand({}))).TableNames ?? [];
  for (const t of tables) {
    const items: unknown[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const s = await aws.ddb.send(new ScanCommand({ TableName: t, ExclusiveStartKey: start as never }));
      items.push(...(s.Items ?? []));
      start = s.LastEvaluatedKey;
    } while (start);
    out.push({ place: `dynamodb ${t}`, text: JSON.stringify(items) });
  }
  return out;
}

/** Every Firestore document of the project, through the emulator's REST API. */
async function firestoreDump() {
  const base = `http://${cloud.emulators?.firestoreHost}/v1/projects/${cloud.gcp.project}/databases/(default)/documents`;
  const headers = { authorization: 'Bearer owner', 'content-type': 'application/json' };
  const out: { place: string; text: string }[] = [];
  const walk = async (parent: string) => {
    const ids = (await (
      await fetch(`${base}${parent}:listCollectionIds`, { method: 'POST', headers, body: '{}' })
    ).json()) as { collectionIds?: string[] };
    for (const c of ids.collectionIds ?? []) {
      let pageToken = '';
      do {
        const page = (await (
          await fetch(`${base}${parent}/${c}?pageSize=300${pageToken ? `&pageToken=${pageToken}` : ''}`, {
            headers,
          })
        ).json()) as { documents?: { name: string }[]; nextPageToken?: string };
        for (const d of page.documents ?? []) {
          out.push({ place: `firestore ${d.name}`, text: JSON.stringify(d) });
          await walk(d.name.slice(d.name.indexOf('/documents') + '/documents'.length));
        }
        pageToken = page.nextPageToken ?? '';
      } while (pageToken);
    }
  };
  await walk('');
  return out;
}

/** Everything the key must never be in, gathered now. */
async function everywhere() {
  await observer.drain();
  for (const topic of TAPS) await pullAll(tapOf(topic));
  const subs =
    ((await pubsubRest('GET', 'subscriptions')) as { subscriptions?: { name: string }[] }).subscriptions ??
    [];
  const deadSubs = subs.map((s) => s.name.split('/').pop() as string).filter((s) => /dead/.test(s));
  expect(deadSubs).toContain('crosslink-relay-dead-sub');
  for (const s of deadSubs) await pullAll(s);
  await awsDlqs();
  const places = {
    output: functionOutput(),
    bus: observer.arrived.map((a) => ({ place: `bus ${a.detailType} ${a.id}`, text: a.body })),
    topics: pulled,
    stepFunctions: await stepFunctionsHistories(),
    workflows: workflowExecutions(),
    deadLetters: awsDeadLetters,
    dynamodb: await dynamoDump(),
    firestore: await firestoreDump(),
  };
  return places;
}

/** The key's forms searched for: as issued (base64 JSON), and base64 / base64url of that text. */
const formsOf = (key: string) => [
  key,
  Buffer.from(key).toString('base64'),
  Buffer.from(key).toString('base64url'),
];

/** The places (of those given) where any form of `key` appears. */
function leaks(key: string, places: { place: string; text: string }[]): string[] {
  const forms = formsOf(key);
  return places.filter((p) => forms.some((f) => p.text.includes(f))).map((p) => p.place);
}

/** The activation key(s) of link `id` as the Interconnect simulator holds them (not through crosslink). */
function activationKeysOf(id: string): string[] {
  const world = cloud.aws.edge.world;
  const keys: string[] = [];
  for (const { accountId, region } of world.scopes('interconnect')) {
    const state = world.stateOf<{
      connections: Map<string, { connection: { description: string; activationKey: string } }>;
    }>('interconnect', accountId, region);
    for (const r of state.connections.values())
      if (r.connection.description === `crosslink ${id}`) keys.push(r.connection.activationKey);
  }
  return keys;
}

async function expectNoLeak(id: string, key: string, when: string) {
  const places = await everywhere();
  // Each kind of place was actually read: a scanner that saw nothing would pass vacuously.
  // (A healthy flow dead-letters nothing: there the queues and subscriptions read are checked instead.)
  for (const [kind, list] of Object.entries(places))
    if (kind !== 'deadLetters') expect(list.length, `${when}: no ${kind} to scan`).toBeGreaterThan(0);
  expect(
    places.bus.some((a) => a.place.includes('LinkKeyIssued')),
    `${when}: LinkKeyIssued on the bus`,
  ).toBe(true);
  expect(
    places.topics.some((p) => p.text.includes('LinkKeyIssued') && p.text.includes(id)),
    `${when}: LinkKeyIssued crossed to Google`,
  ).toBe(true);
  expect(
    places.stepFunctions.some((p) => p.text.includes(id)),
    `${when}: an execution of ${id}`,
  ).toBe(true);
  const found = Object.fromEntries(Object.entries(places).map(([k, list]) => [k, leaks(key, list)]));
  expect(found, `${when}: the activation key of ${id} leaked`).toEqual({
    output: [],
    bus: [],
    topics: [],
    stepFunctions: [],
    workflows: [],
    deadLetters: [],
    dynamodb: [],
    firestore: [],
  });
}

describe('security of the relay and the activation key in a full AWS-first flow', () => {
  it('hostile pushes during provisioning are refused, counted and reach nothing; the key appears nowhere it must not', async () => {
    const requested = await both.json<LinkView>('link', 'request', AWS_FIRST, '--as', 'alice');
    const id = requested.id;
    const bob = await both.cli('link', 'approve', id, '--as', 'bob');
    expect(bob.code, bob.err).toBe(0);

    // The request crossed to Google: its policyHash makes the hostile events look like the real ones.
    const requestedEvent = (await waitFor('LinkRequested on crosslink-peer-events', async () => {
      await pullAll(tapOf('crosslink-peer-events'));
      return pulled
        .map((p) => JSON.parse(p.data) as CloudEvent<{ policyHash: string }>)
        .find((e) => e.subject === id && e.type.includes('LinkRequested'));
    })) as CloudEvent<{ policyHash: string }>;
    const policyHash = requestedEvent.data.policyHash;

    // Wave 1: the link awaits carol's approval (a forged Google approval would be the prize).
    const before = await view(id, 'aws');
    expect(before.state).toBe('AWAITING_APPROVAL');
    const wave1 = await attack(id, policyHash);
    expect(wave1.answers).toEqual(REFUSED);
    expect(wave1.counted).toBe(ATTACKS.length);

    // carol approves on Google (once the request has crossed, her intake answers 4 until then);
    // wave 2 goes while the link provisions.
    const carol = await untilOk(both.cli, ['link', 'approve', id, '--side', 'gcp', '--as', 'carol']);
    expect(carol.code, carol.err).toBe(0);
    const seenStates: string[] = [];
    const during = (await waitFor(
      'the link provisioning',
      async () => {
        const v = await view(id, 'aws');
        if (seenStates.at(-1) !== v.state) seenStates.push(v.state);
        if (v.state === 'ACTIVE') throw new Error(`ACTIVE before wave 2, states ${seenStates.join(' ')}`);
        return ['APPROVED', 'PROVISIONING'].includes(v.state) ? v : undefined;
      },
      90_000,
      250,
    ).catch((e) => {
      throw new Error(`${(e as Error).message}; states seen ${seenStates.join(' ')}`);
    })) as LinkView;
    const wave2 = await attack(id, policyHash);
    expect(during.state).not.toBe('ACTIVE');

    expect(wave2.answers).toEqual(REFUSED);
    expect(wave2.counted).toBe(ATTACKS.length);
    const hostile = [...wave1.ids, ...wave2.ids];

    // alice waits for ACTIVE: requesting the same file again is the same link (docs/cli-link.md).
    const done = await both.cli(
      'link',
      'request',
      AWS_FIRST,
      '--as',
      'alice',
      '--wait',
      '--timeout',
      '3h',
      '--json',
    );
    expect(done.code, done.err).toBe(0);
    expect((JSON.parse(done.out) as LinkView).id).toBe(id);

    // ACTIVE on both sides, approved by bob and carol only: nothing of the hostile events applied.
    // carol's --wait saw ACTIVE on Google; the AWS replica follows once the relay carried it.
    let last: LinkView[] = [];
    const [a, g] = (await waitFor('ACTIVE on both sides', async () => {
      last = await Promise.all([view(id, 'aws'), view(id, 'gcp')]);
      return last.every((v) => v.state === 'ACTIVE') ? last : undefined;
    }).catch((e) => {
      throw new Error(`${(e as Error).message}: ${JSON.stringify(last.map((v) => [v.state, v.halves]))}`);
    })) as LinkView[] as [LinkView, LinkView];
    for (const v of [a, g]) {
      expect(v.state).toBe('ACTIVE');
      expect(v.approvals.map((x) => [x.side, x.by]).sort()).toEqual([
        ['aws', 'arn:aws:iam::000000000000:user/bob'],
        ['gcp', 'carol@example.com'],
      ]);
      expect(v.halves).toMatchObject({ aws: { state: 'UP' }, gcp: { state: 'UP' } });
    }

    // Nothing of them reached the bus, either side's audit or records, or a Google topic.
    const places = await everywhere();
    expect(observer.arrived.length).toBeGreaterThan(0);
    const seen = (list: { text: string }[]) => hostile.filter((h) => list.some((p) => p.text.includes(h)));
    expect(observer.arrived.filter((x) => hostile.includes(x.id))).toEqual([]);
    expect(seen([{ text: JSON.stringify(a) }, { text: JSON.stringify(g) }])).toEqual([]);
    expect(seen([...places.dynamodb, ...places.firestore, ...places.topics, ...places.deadLetters])).toEqual(
      [],
    );
    // The real events of the flow did cross (so the observers were working).
    expect(observer.arrived.some((x) => x.detailType === 'LinkApproved')).toBe(true);

    // Counted: every refusal in the API's 4xx metric (above, per wave); the other account's pushes
    // also by the handler (EMF RelayRefusedAccount, one per push: the 401s never reach it), which
    // logged nothing of the hostile ids.
    const relayLines = lambdaRuntime(cloud.aws.edge.world, cloud.aws.accountId, cloud.aws.region)
      .logs.filter((l) => l.functionName.endsWith('-relayFromGoogle'))
      .map((l) => l.line);
    expect(relayLines.filter((l) => l.includes('"RelayRefusedAccount"'))).toHaveLength(2);
    expect(hostile.filter((h) => relayLines.some((l) => l.includes(h)))).toEqual([]);

    // The activation key: where it belongs (the scanner finds it), and nowhere else.
    const keys = activationKeysOf(id);
    expect(keys).toHaveLength(1);
    const key = keys[0] as string;
    expect(key.length).toBeGreaterThan(40);
    const secrets = await aws.secrets.send(new ListSecretsCommand({}));
    const secret = (secrets.SecretList ?? []).find((s) => s.Name?.includes(id));
    expect(secret?.Name).toBeDefined();
    const value = await aws.secrets.send(new GetSecretValueCommand({ SecretId: secret?.Name }));
    expect(leaks(key, [{ place: 'secretsmanager', text: JSON.stringify(value) }])).toEqual([
      'secretsmanager',
    ]);
    expect(leaks(key, [{ place: 'base64', text: `x${Buffer.from(key).toString('base64')}y` }])).toEqual([
      'base64',
    ]);
    await expectNoLeak(id, key, 'ACTIVE');

    // Decommission (alice asks on AWS, carol approves on Google), then scan again.
    await decommissionThroughCli(both, id, ['--as', 'alice'], ['--side', 'gcp', '--as', 'carol']);
    for (const v of await Promise.all([view(id, 'aws'), view(id, 'gcp')]))
      expect(v.state).toBe('DECOMMISSIONED');
    await expectNoLeak(id, key, 'DECOMMISSIONED');
  }, 120_000);
});
