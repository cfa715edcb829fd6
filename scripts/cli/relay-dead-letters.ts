/**
 * The relay's dead letters (docs/relay.md, "Dead letters and redrive"), one place per direction:
 *
 * - AWS -> Google: the SQS queue `crosslink-relay-dlq-<stage>`, where the relay puts what it could
 *   not publish (its `reason` message attribute says why) and EventBridge what it could not deliver
 *   to the relay queue. A redrive receives each, sends its body to the relay queue
 *   `crosslink-relay-<stage>` and then deletes it: the relay publishes it again, and Google's
 *   consumers drop an event id they applied before.
 * - Google -> AWS: the subscription `crosslink-relay-dead-sub` of the topic `crosslink-relay-dead`,
 *   where Pub/Sub forwards what the push to the AWS relay route failed 5 times. A redrive pulls
 *   each, publishes its data and attributes (without Pub/Sub's `CloudPubSubDeadLetterSource*`) to
 *   `crosslink-events`, and acknowledges it once the publish succeeded: the relay subscription
 *   pushes it again, and the AWS relay route answers an event id it relayed before `duplicate`.
 *   `crosslink-events` has other subscribers (the starter), which get it again too; they too are
 *   idempotent by event id.
 *
 * Both stop after `max` messages. The SQS redrive also stops after as many as the queue held when it
 * began, so a message that comes straight back (a poison, refused again at once) is not moved twice
 * in one run; on Pub/Sub one that fails again comes back as a new message, after its 5 attempts.
 */
import {
  ChangeMessageVisibilityCommand,
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  type Message,
  ReceiveMessageCommand,
  SendMessageCommand,
  SQSClient,
  type SQSClientConfig,
} from '@aws-sdk/client-sqs';

/** One dead letter as `relay dead-letters ls` shows it. */
export interface DeadLetter {
  side: 'aws' | 'gcp';
  /** The SQS message id, or the Pub/Sub message id. */
  messageId: string;
  /** The CloudEvent's id and type, when the message carries a readable one. */
  eventId: string | null;
  type: string | null;
  /** Why it is there: the relay's `reason`, EventBridge's `ERROR_CODE`, or Pub/Sub's source subscription. */
  reason: string | null;
  /** Receives (SQS) or delivery attempts (Pub/Sub) so far, when known. */
  attempts: number | null;
  /** When it was first sent or published (ISO 8601). */
  sentAt: string | null;
}

export interface RedriveResult {
  side: 'aws' | 'gcp';
  from: string;
  to: string;
  moved: number;
  /** The messages the place held after the redrive (approximate on SQS). */
  left: number;
}

/** The CloudEvent inside an EventBridge event (`detail`) or a Pub/Sub message's data. */
function cloudEventOf(json: string): { id: string | null; type: string | null } {
  try {
    const v = JSON.parse(json) as { detail?: { id?: unknown; type?: unknown }; id?: unknown; type?: unknown };
    const ce = v.detail && typeof v.detail === 'object' ? v.detail : v;
    return {
      id: typeof ce.id === 'string' ? ce.id : null,
      type: typeof ce.type === 'string' ? ce.type : null,
    };
  } catch {
    return { id: null, type: null };
  }
}

/** The SQS side: the relay's dead-letter queue and the relay queue of one stage. */
export class SqsRelayDeadLetters {
  readonly #sqs: SQSClient;
  readonly dlq: string;
  readonly queue: string;

  constructor(config: SQSClientConfig, stage: string) {
    this.#sqs = new SQSClient(config);
    this.dlq = `crosslink-relay-dlq-${stage}`;
    this.queue = `crosslink-relay-${stage}`;
  }

  close(): void {
    this.#sqs.destroy();
  }

  async #url(name: string): Promise<string> {
    const { QueueUrl } = await this.#sqs.send(new GetQueueUrlCommand({ QueueName: name }));
    if (!QueueUrl) throw new Error(`GetQueueUrl ${name}: no QueueUrl in the answer`);
    return QueueUrl;
  }

  async #depth(url: string): Promise<number> {
    const { Attributes } = await this.#sqs.send(
      new GetQueueAttributesCommand({
        QueueUrl: url,
        AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
      }),
    );
    return (
      Number(Attributes?.ApproximateNumberOfMessages ?? 0) +
      Number(Attributes?.ApproximateNumberOfMessagesNotVisible ?? 0)
    );
  }

  async #receive(url: string, max: number, visibility: number): Promise<Message[]> {
    const { Messages } = await this.#sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: url,
        MaxNumberOfMessages: Math.min(10, max),
        VisibilityTimeout: visibility,
        MessageAttributeNames: ['All'],
        MessageSystemAttributeNames: ['ApproximateReceiveCount', 'SentTimestamp'],
      }),
    );
    return Messages ?? [];
  }

  /**
   * Up to `max` dead letters, read without taking them: each is received with a visibility timeout
   * of a minute (so one listing sees each once), then made visible again at once.
   */
  async list(max: number): Promise<DeadLetter[]> {
    const url = await this.#url(this.dlq);
    const seen = new Map<string, DeadLetter>();
    const handles: string[] = [];
    try {
      for (let round = 0; seen.size < max && round < Math.ceil(max / 10) + 2; round++) {
        const got = await this.#receive(url, max - seen.size, 60);
        if (got.length === 0) break;
        for (const m of got) {
          if (m.ReceiptHandle) handles.push(m.ReceiptHandle);
          const ce = cloudEventOf(m.Body ?? '');
          const attr = (k: string) => m.MessageAttributes?.[k]?.StringValue ?? null;
          const count = m.Attributes?.ApproximateReceiveCount;
          const sent = m.Attributes?.SentTimestamp;
          seen.set(m.MessageId as string, {
            side: 'aws',
            messageId: m.MessageId as string,
            eventId: ce.id,
            type: ce.type,
            reason: attr('reason') ?? attr('ERROR_CODE'),
            attempts: count ? Number(count) : null,
            sentAt: sent ? new Date(Number(sent)).toISOString() : null,
          });
        }
      }
    } finally {
      for (const ReceiptHandle of handles)
        await this.#sqs.send(
          new ChangeMessageVisibilityCommand({ QueueUrl: url, ReceiptHandle, VisibilityTimeout: 0 }),
        );
    }
    return [...seen.values()];
  }

  /** Moves up to `max` dead letters back to the relay queue: send first, then delete. */
  async redrive(max: number): Promise<RedriveResult> {
    const [dlq, queue] = await Promise.all([this.#url(this.dlq), this.#url(this.queue)]);
    const budget = Math.min(max, await this.#depth(dlq));
    let moved = 0;
    while (moved < budget) {
      // Long enough to send and delete each; a failure leaves the rest to reappear in the DLQ.
      const got = await this.#receive(dlq, budget - moved, 30);
      if (got.length === 0) break;
      for (const m of got) {
        await this.#sqs.send(new SendMessageCommand({ QueueUrl: queue, MessageBody: m.Body ?? '' }));
        await this.#sqs.send(new DeleteMessageCommand({ QueueUrl: dlq, ReceiptHandle: m.ReceiptHandle }));
        moved++;
      }
    }
    return { side: 'aws', from: this.dlq, to: this.queue, moved, left: await this.#depth(dlq) };
  }
}

/** How the Pub/Sub REST API is reached: the emulator (no auth) or Google with a bearer token. */
export interface PubsubAccess {
  /** `http://localhost:8085` or `https://pubsub.googleapis.com`. */
  endpoint: string;
  project: string;
  /** An OAuth access token for each call, or none (the emulator). */
  token?: () => Promise<string>;
}

interface PulledMessage {
  ackId: string;
  deliveryAttempt?: number;
  message: { messageId: string; data?: string; attributes?: Record<string, string>; publishTime?: string };
}

export const GCP_DEAD_SUBSCRIPTION = 'crosslink-relay-dead-sub';
export const GCP_RELAY_TOPIC = 'crosslink-events';

/** The Pub/Sub side: `crosslink-relay-dead-sub` and the topic the relay subscription reads. */
export class PubsubRelayDeadLetters {
  readonly #access: PubsubAccess;

  constructor(access: PubsubAccess) {
    this.#access = access;
  }

  /** Nothing to release: each call is its own request. */
  close(): void {}

  async #call<T>(path: string, body: unknown): Promise<T> {
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (this.#access.token) headers.authorization = `Bearer ${await this.#access.token()}`;
    const url = `${this.#access.endpoint}/v1/projects/${this.#access.project}/${path}`;
    const res = await fetch(url, { method: 'POST', headers, body: JSON.stringify(body) });
    const text = await res.text();
    if (!res.ok) throw new Error(`Pub/Sub ${path}: HTTP ${res.status} ${text.slice(0, 300)}`);
    return (text ? JSON.parse(text) : {}) as T;
  }

  async #pull(max: number): Promise<PulledMessage[]> {
    const out = await this.#call<{ receivedMessages?: PulledMessage[] }>(
      `subscriptions/${GCP_DEAD_SUBSCRIPTION}:pull`,
      { maxMessages: Math.min(100, max), returnImmediately: true },
    );
    return out.receivedMessages ?? [];
  }

  /** Up to `max` dead letters, read without taking them: each is nacked (ack deadline 0) after. */
  async list(max: number): Promise<DeadLetter[]> {
    const seen = new Map<string, DeadLetter>();
    const ackIds: string[] = [];
    try {
      for (let round = 0; seen.size < max && round < Math.ceil(max / 100) + 2; round++) {
        const got = await this.#pull(max - seen.size);
        if (got.length === 0) break;
        for (const r of got) {
          ackIds.push(r.ackId);
          const m = r.message;
          const data = Buffer.from(m.data ?? '', 'base64').toString('utf8');
          const ce = cloudEventOf(data);
          const attrs = m.attributes ?? {};
          const attempts = Number(attrs.CloudPubSubDeadLetterSourceDeliveryCount);
          seen.set(m.messageId, {
            side: 'gcp',
            messageId: m.messageId,
            eventId: ce.id ?? attrs['ce-id'] ?? null,
            type: ce.type ?? attrs['ce-type'] ?? null,
            reason: attrs.CloudPubSubDeadLetterSourceSubscription
              ? `undelivered from ${attrs.CloudPubSubDeadLetterSourceSubscription.split('/').pop()}`
              : null,
            attempts: Number.isFinite(attempts) ? attempts : null,
            sentAt: m.publishTime ?? null,
          });
        }
      }
    } finally {
      if (ackIds.length > 0)
        await this.#call(`subscriptions/${GCP_DEAD_SUBSCRIPTION}:modifyAckDeadline`, {
          ackIds,
          ackDeadlineSeconds: 0,
        });
    }
    return [...seen.values()];
  }

  /** Republishes up to `max` dead letters to `crosslink-events`, acknowledging each after its publish. */
  async redrive(max: number): Promise<RedriveResult> {
    let moved = 0;
    const ids = new Set<string>();
    while (moved < max) {
      const got = (await this.#pull(max - moved)).filter((r) => {
        // Seen in this run already: its ack was lost or it came back; leave it for the next run.
        const again = ids.has(r.message.messageId);
        ids.add(r.message.messageId);
        return !again;
      });
      if (got.length === 0) break;
      for (const r of got) {
        const attributes = Object.fromEntries(
          Object.entries(r.message.attributes ?? {}).filter(
            ([k]) => !k.startsWith('CloudPubSubDeadLetterSource'),
          ),
        );
        await this.#call(`topics/${GCP_RELAY_TOPIC}:publish`, {
          messages: [
            { data: r.message.data ?? '', ...(Object.keys(attributes).length ? { attributes } : {}) },
          ],
        });
        await this.#call(`subscriptions/${GCP_DEAD_SUBSCRIPTION}:acknowledge`, { ackIds: [r.ackId] });
        moved++;
      }
    }
    const left = (await this.list(1000)).length;
    return { side: 'gcp', from: GCP_DEAD_SUBSCRIPTION, to: GCP_RELAY_TOPIC, moved, left };
  }
}
