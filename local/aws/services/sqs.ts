/**
 * Amazon SQS on the edge, in the JSON 1.0 protocol the current `@aws-sdk/client-sqs` speaks
 * (`AmazonSQS.<Op>`): standard queues, send / receive / delete (single and batch), visibility
 * timeouts, delays, redrive to a DLQ, attributes and tags. Queue URLs are
 * `http://<edge>/<account>/<name>`; the engine is local/aws/sqs/queues.ts.
 */
import { AwsError, errorClass } from '../errors.ts';
import { parsePolicy } from '../iam/policy.ts';
import { defineService, type World } from '../service.ts';
import { type MessageAttributeValue, Queue, type QueueAttributes, QueueError } from '../sqs/queues.ts';

export interface SqsState {
  queues: Map<string, Queue>;
  accountId: string;
  region: string;
}

const QueueDoesNotExist = errorClass('QueueDoesNotExist', 400);
const QueueNameExists = errorClass('QueueNameExists', 400);
const InvalidAttributeName = errorClass('InvalidAttributeName', 400);
const InvalidAttributeValue = errorClass('InvalidAttributeValue', 400);
const EmptyBatch = errorClass('EmptyBatchRequest', 400);
const TooManyEntries = errorClass('TooManyEntriesInBatchRequest', 400);
const BatchIdsNotDistinct = errorClass('BatchEntryIdsNotDistinct', 400);
const InvalidParameterValue = errorClass('InvalidParameterValueException', 400);

const NUMERIC = [
  'VisibilityTimeout',
  'DelaySeconds',
  'MessageRetentionPeriod',
  'ReceiveMessageWaitTimeSeconds',
  'MaximumMessageSize',
];
const SETTABLE = [
  ...NUMERIC,
  'RedrivePolicy',
  'Policy',
  'KmsMasterKeyId',
  'KmsDataKeyReusePeriodSeconds',
  'SqsManagedSseEnabled',
  'RedriveAllowPolicy',
];

/** The queue with this ARN, in whichever (account, region) holds it. */
export function queuesOf(world: World, arn: string): Queue | undefined {
  const [, , , region, accountId, name] = arn.split(':');
  if (!region || !accountId || !name) return undefined;
  return world.stateOf<SqsState>('sqs', accountId, region).queues.get(name);
}

/** Deletes a queue and its messages (DeleteQueue; a stack's deletion); false when there is none. */
export function deleteQueue(world: World, accountId: string, region: string, name: string): boolean {
  const state = world.stateOf<SqsState>('sqs', accountId, region);
  const q = state.queues.get(name);
  if (!q) return false;
  q.close();
  state.queues.delete(name);
  return true;
}

/** Creates (or returns) a queue from code: the CloudFormation wiring uses it. */
export function ensureQueue(
  world: World,
  accountId: string,
  region: string,
  name: string,
  attributes: Record<string, unknown> = {},
): Queue {
  const state = world.stateOf<SqsState>('sqs', accountId, region);
  const existing = state.queues.get(name);
  if (existing) return existing;
  const q = new Queue(
    name,
    `arn:aws:sqs:${region}:${accountId}:${name}`,
    world.clock,
    parseAttributes(attributes),
  );
  state.queues.set(name, q);
  return q;
}

function parseAttributes(raw: Record<string, unknown>): Partial<QueueAttributes> {
  const out: Partial<QueueAttributes> = {};
  for (const [k, v] of Object.entries(raw ?? {})) {
    if (k === 'FifoQueue' || k === 'ContentBasedDeduplication') {
      if (String(v) === 'true')
        throw InvalidAttributeValue('FIFO queues are not supported by the local cloud');
      continue;
    }
    if (!SETTABLE.includes(k)) throw InvalidAttributeName(`Unknown Attribute ${k}.`);
    if (NUMERIC.includes(k)) {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 0) throw InvalidAttributeValue(`Invalid value for the parameter ${k}.`);
      out[k] = n;
    } else if (k === 'RedrivePolicy') {
      const p = typeof v === 'string' ? JSON.parse(v) : v;
      const max = Number(p?.maxReceiveCount);
      if (typeof p?.deadLetterTargetArn !== 'string' || !(max >= 1)) {
        throw InvalidAttributeValue(
          'Value for parameter RedrivePolicy is invalid: deadLetterTargetArn and maxReceiveCount are required.',
        );
      }
      out.RedrivePolicy = { deadLetterTargetArn: p.deadLetterTargetArn, maxReceiveCount: max };
    } else if (k === 'Policy') {
      try {
        parsePolicy(JSON.parse(String(v)), 'queue policy', 'resource');
      } catch (err) {
        throw InvalidAttributeValue(
          `Invalid value for the parameter Policy. Reason: ${(err as Error).message}`,
        );
      }
      out.Policy = String(v);
    } else out[k] = v;
  }
  return out;
}

function nameFromUrl(url: unknown): string {
  if (typeof url !== 'string' || url.length === 0)
    throw QueueDoesNotExist('The specified queue does not exist.');
  const parts = url.split('/');
  return parts[parts.length - 1] as string;
}

function queueFor(state: SqsState, url: unknown): Queue {
  const q = state.queues.get(nameFromUrl(url));
  if (!q) throw QueueDoesNotExist('The specified queue does not exist.');
  return q;
}

function urlOf(host: unknown, accountId: string, name: string): string {
  return `http://${typeof host === 'string' ? host : '127.0.0.1'}/${accountId}/${name}`;
}

function attributesOut(q: Queue, names: string[] | undefined): Record<string, string> {
  const counts = q.counts();
  const all: Record<string, string> = {
    QueueArn: q.arn,
    ApproximateNumberOfMessages: String(counts.visible),
    ApproximateNumberOfMessagesNotVisible: String(counts.inFlight),
    ApproximateNumberOfMessagesDelayed: String(counts.delayed),
    CreatedTimestamp: String(Math.floor(q.createdAt / 1000)),
    LastModifiedTimestamp: String(Math.floor(q.createdAt / 1000)),
    VisibilityTimeout: String(q.attributes.VisibilityTimeout),
    DelaySeconds: String(q.attributes.DelaySeconds),
    MessageRetentionPeriod: String(q.attributes.MessageRetentionPeriod),
    ReceiveMessageWaitTimeSeconds: String(q.attributes.ReceiveMessageWaitTimeSeconds),
    MaximumMessageSize: String(q.attributes.MaximumMessageSize),
    SqsManagedSseEnabled: 'true',
  };
  if (q.attributes.RedrivePolicy) all.RedrivePolicy = JSON.stringify(q.attributes.RedrivePolicy);
  if (q.attributes.Policy) all.Policy = q.attributes.Policy;
  if (!names || names.includes('All')) return all;
  return Object.fromEntries(Object.entries(all).filter(([k]) => names.includes(k)));
}

function wrap<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof QueueError) throw new AwsError(err.code, err.message, { status: 400 });
    throw err;
  }
}

function checkBatch(entries: unknown): { Id: string }[] {
  if (!Array.isArray(entries) || entries.length === 0)
    throw EmptyBatch('There should be at least one entry in the request.');
  if (entries.length > 10) throw TooManyEntries('Maximum number of entries per request are 10.');
  const ids = new Set(entries.map((e) => e?.Id));
  if (ids.size !== entries.length)
    throw BatchIdsNotDistinct('Two or more batch entries in the request have the same Id.');
  return entries;
}

export default defineService<SqsState>({
  name: 'sqs',
  deliver(world, { arn }, payload) {
    const q = queuesOf(world, arn);
    if (!q) throw new Error(`no queue ${arn}`);
    q.send(typeof payload === 'string' ? payload : JSON.stringify(payload));
  },
  signingName: 'sqs',
  protocol: 'json1.0',
  targetPrefix: 'AmazonSQS',
  errors: {
    throttling: { code: 'RequestThrottled', status: 400 },
    server: { code: 'InternalError', status: 500 },
  },
  createState: ({ accountId, region }) => ({ queues: new Map(), accountId, region }),
  status: (state) => Object.fromEntries([...state.queues.values()].map((q) => [q.name, q.counts()])),
  operations: {
    CreateQueue(input, ctx) {
      const name = String(input.QueueName ?? '');
      if (!/^[A-Za-z0-9_-]{1,80}$/.test(name)) {
        throw InvalidParameterValue(
          'Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length',
        );
      }
      const attrs = parseAttributes(input.Attributes ?? {});
      const existing = ctx.state.queues.get(name);
      if (existing) {
        const differs = Object.entries(attrs).some(
          ([k, v]) => JSON.stringify(existing.attributes[k]) !== JSON.stringify(v),
        );
        if (differs)
          throw QueueNameExists(
            `A queue already exists with the same name and a different value for attribute(s)`,
          );
      } else {
        const q = new Queue(name, `arn:aws:sqs:${ctx.region}:${ctx.accountId}:${name}`, ctx.clock, attrs);
        q.tags = { ...(input.tags ?? {}) };
        ctx.state.queues.set(name, q);
      }
      return { QueueUrl: urlOf(ctx.headers.host, ctx.accountId, name) };
    },
    GetQueueUrl(input, ctx) {
      const q = queueFor(ctx.state, input.QueueName);
      return { QueueUrl: urlOf(ctx.headers.host, ctx.accountId, q.name) };
    },
    ListQueues(input, ctx) {
      const prefix = String(input.QueueNamePrefix ?? '');
      return {
        QueueUrls: [...ctx.state.queues.keys()]
          .filter((n) => n.startsWith(prefix))
          .map((n) => urlOf(ctx.headers.host, ctx.accountId, n)),
      };
    },
    DeleteQueue(input, ctx) {
      deleteQueue(ctx.world, ctx.accountId, ctx.region, queueFor(ctx.state, input.QueueUrl).name);
      return {};
    },
    PurgeQueue(input, ctx) {
      queueFor(ctx.state, input.QueueUrl).purge();
      return {};
    },
    GetQueueAttributes(input, ctx) {
      return { Attributes: attributesOut(queueFor(ctx.state, input.QueueUrl), input.AttributeNames) };
    },
    SetQueueAttributes(input, ctx) {
      const q = queueFor(ctx.state, input.QueueUrl);
      Object.assign(q.attributes, parseAttributes(input.Attributes ?? {}));
      return {};
    },
    TagQueue(input, ctx) {
      Object.assign(queueFor(ctx.state, input.QueueUrl).tags, input.Tags ?? {});
      return {};
    },
    ListQueueTags(input, ctx) {
      return { Tags: queueFor(ctx.state, input.QueueUrl).tags };
    },
    SendMessage(input, ctx) {
      const q = queueFor(ctx.state, input.QueueUrl);
      if (typeof input.MessageBody !== 'string' || input.MessageBody.length === 0) {
        throw InvalidParameterValue('The request must contain the parameter MessageBody.');
      }
      const m = wrap(() =>
        q.send(input.MessageBody, {
          delaySeconds: input.DelaySeconds,
          attributes: input.MessageAttributes as Record<string, MessageAttributeValue> | undefined,
          senderId: ctx.principal.accessKeyId,
        }),
      );
      return {
        MessageId: m.messageId,
        MD5OfMessageBody: m.md5OfBody,
        MD5OfMessageAttributes: m.md5OfAttributes,
      };
    },
    SendMessageBatch(input, ctx) {
      const q = queueFor(ctx.state, input.QueueUrl);
      const Successful: unknown[] = [];
      const Failed: unknown[] = [];
      for (const e of checkBatch(input.Entries) as {
        Id: string;
        MessageBody: string;
        DelaySeconds?: number;
        MessageAttributes?: Record<string, MessageAttributeValue>;
      }[]) {
        try {
          const m = q.send(e.MessageBody, {
            delaySeconds: e.DelaySeconds,
            attributes: e.MessageAttributes,
            senderId: ctx.principal.accessKeyId,
          });
          Successful.push({
            Id: e.Id,
            MessageId: m.messageId,
            MD5OfMessageBody: m.md5OfBody,
            MD5OfMessageAttributes: m.md5OfAttributes,
          });
        } catch (err) {
          Failed.push({
            Id: e.Id,
            SenderFault: true,
            Code: (err as QueueError).code ?? 'InvalidParameterValue',
            Message: (err as Error).message,
          });
        }
      }
      return { Successful, Failed };
    },
    ReceiveMessage(input, ctx) {
      const q = queueFor(ctx.state, input.QueueUrl);
      const max = input.MaxNumberOfMessages ?? 1;
      if (!(Number.isInteger(max) && max >= 1 && max <= 10)) {
        throw InvalidParameterValue(
          'Value for parameter MaxNumberOfMessages is invalid. Reason: Must be between 1 and 10.',
        );
      }
      const messages = q.receive(max, input.VisibilityTimeout, (arn) => queuesOf(ctx.world, arn));
      const wantAll = (input.MessageSystemAttributeNames ?? input.AttributeNames ?? []) as string[];
      return {
        Messages: messages.map((m) => {
          const attrs: Record<string, string> = {
            ApproximateReceiveCount: String(m.receiveCount),
            SentTimestamp: String(m.sentAt),
            SenderId: m.senderId,
            ApproximateFirstReceiveTimestamp: String(m.firstReceivedAt ?? m.sentAt),
          };
          const names = input.MessageAttributeNames as string[] | undefined;
          const msgAttrs = names?.length
            ? Object.fromEntries(
                Object.entries(m.attributes).filter(
                  ([k]) => names.includes('All') || names.includes('.*') || names.includes(k),
                ),
              )
            : undefined;
          return {
            MessageId: m.messageId,
            ReceiptHandle: m.receiptHandle,
            MD5OfBody: m.md5OfBody,
            Body: m.body,
            Attributes: wantAll.length
              ? Object.fromEntries(
                  Object.entries(attrs).filter(([k]) => wantAll.includes('All') || wantAll.includes(k)),
                )
              : undefined,
            MessageAttributes: msgAttrs && Object.keys(msgAttrs).length ? msgAttrs : undefined,
            MD5OfMessageAttributes: msgAttrs && Object.keys(msgAttrs).length ? m.md5OfAttributes : undefined,
          };
        }),
      };
    },
    DeleteMessage(input, ctx) {
      const q = queueFor(ctx.state, input.QueueUrl);
      wrap(() => q.delete(input.ReceiptHandle));
      return {};
    },
    DeleteMessageBatch(input, ctx) {
      const q = queueFor(ctx.state, input.QueueUrl);
      const Successful: unknown[] = [];
      const Failed: unknown[] = [];
      for (const e of checkBatch(input.Entries) as { Id: string; ReceiptHandle: string }[]) {
        try {
          q.delete(e.ReceiptHandle);
          Successful.push({ Id: e.Id });
        } catch (err) {
          Failed.push({
            Id: e.Id,
            SenderFault: true,
            Code: (err as QueueError).code,
            Message: (err as Error).message,
          });
        }
      }
      return { Successful, Failed };
    },
    ChangeMessageVisibility(input, ctx) {
      const q = queueFor(ctx.state, input.QueueUrl);
      wrap(() => q.changeVisibility(input.ReceiptHandle, input.VisibilityTimeout));
      return {};
    },
  },
});
