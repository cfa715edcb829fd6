/**
 * Pushes to the Google -> AWS relay route (`POST /relay/google`) as Pub/Sub would send them, with ID
 * tokens the local Google edge signs (or forges of our own), and an observer of the crosslink bus: a
 * rule (source crosslink) -> an SQS queue, drained into the list of what arrived.
 */
import { generateKeyPairSync, sign } from 'node:crypto';
import { EventBridgeClient, PutRuleCommand, PutTargetsCommand } from '@aws-sdk/client-eventbridge';
import {
  CreateQueueCommand,
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import type { AwsHalfDeployment } from '#local/aws-half.ts';
import type { LocalCloud } from '#local/index.ts';
import { ADMIN_CREDENTIALS, letServiceCall } from './local-cloud.ts';

/** The audience gcp.yml's push subscription asks for and the route's authorizer expects. */
export const RELAY_AUDIENCE = 'crosslink-aws-relay';

/** The body of a push of `event` on the relay subscription (data = the structured CloudEvent). */
export function pushBody(cloud: LocalCloud, event: unknown): string {
  return JSON.stringify({
    message: {
      data: Buffer.from(JSON.stringify(event)).toString('base64'),
      attributes: {},
      messageId: '1',
      publishTime: new Date().toISOString(),
    },
    subscription: `projects/${cloud.gcp.project}/subscriptions/crosslink-events-relay`,
  });
}

export async function push(
  url: string,
  body: string,
  token?: string,
): Promise<{ status: number; body: string }> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body,
  });
  return { status: res.status, body: await res.text() };
}

/** The relay's service account in the local project. */
export const relayAccountOf = (cloud: LocalCloud) =>
  `crosslink-relay@${cloud.gcp.project}.iam.gserviceaccount.com`;

/** An ID token the local Google edge signs (by default the relay account's, for the relay audience). */
export const relayToken = (cloud: LocalCloud, o: { email?: string; audience?: string; now?: number } = {}) =>
  cloud.gcp.auth.mintIdToken({
    email: o.email ?? relayAccountOf(cloud),
    audience: o.audience ?? RELAY_AUDIENCE,
    ...(o.now !== undefined ? { now: o.now } : {}),
  });

/**
 * A token with the valid token's header (its `kid` names the edge's key) and claims, signed with an
 * RSA key of our own that the local Google edge does not hold: only the signature is wrong.
 */
export function forgedToken(valid: string): string {
  const [head, claims] = valid.split('.') as [string, string];
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const sig = sign('RSA-SHA256', Buffer.from(`${head}.${claims}`), privateKey).toString('base64url');
  return `${head}.${claims}.${sig}`;
}

export interface BusArrival {
  id: string;
  detailType: string;
  source: string;
  /** The whole EventBridge event as delivered to the observer queue. */
  body: string;
}

export interface BusObserver {
  /** Everything that arrived so far (drain first). */
  arrived: BusArrival[];
  /** Moves what the queue holds into `arrived`. */
  drain(): Promise<BusArrival[]>;
  stop(): void;
}

/**
 * A rule on the deployed crosslink bus (the cloud's AWS half, or `deployed`) sending every
 * `crosslink` event to a queue of its own.
 */
export async function observeBus(
  cloud: LocalCloud,
  name: string,
  deployed: AwsHalfDeployment | null = cloud.awsHalf,
): Promise<BusObserver> {
  const half = deployed;
  if (!half) throw new Error('no AWS half');
  const config = { region: cloud.aws.region, endpoint: cloud.aws.endpoint, credentials: ADMIN_CREDENTIALS };
  const sqs = new SQSClient(config);
  const eb = new EventBridgeClient(config);
  const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: name }));
  const attrs = await sqs.send(new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['QueueArn'] }));
  const bus = half.deployment.stack.physicalIds.CrosslinkBus as string;
  await eb.send(
    new PutRuleCommand({
      Name: name,
      EventBusName: bus,
      EventPattern: JSON.stringify({ source: ['crosslink'] }),
    }),
  );
  await eb.send(
    new PutTargetsCommand({
      Rule: name,
      EventBusName: bus,
      Targets: [{ Id: 'queue', Arn: attrs.Attributes?.QueueArn as string }],
    }),
  );
  eb.destroy();
  await letServiceCall(cloud, attrs.Attributes?.QueueArn as string);
  const arrived: BusArrival[] = [];
  return {
    arrived,
    async drain() {
      for (;;) {
        const out = await sqs.send(new ReceiveMessageCommand({ QueueUrl, MaxNumberOfMessages: 10 }));
        if (!out.Messages?.length) return arrived;
        for (const m of out.Messages) {
          const e = JSON.parse(m.Body as string);
          arrived.push({
            id: e.detail.id,
            detailType: e['detail-type'],
            source: e.source,
            body: m.Body as string,
          });
          await sqs.send(new DeleteMessageCommand({ QueueUrl, ReceiptHandle: m.ReceiptHandle }));
        }
      }
    },
    stop: () => sqs.destroy(),
  };
}
