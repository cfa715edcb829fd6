/**
 * SQS queues of one simulated (account, region): standard queues with visibility timeouts, delays,
 * retention and redrive to a dead-letter queue, all on the virtual clock. The service module
 * (services/sqs.ts) maps the JSON protocol onto this; Lambda event source mappings and EventBridge
 * targets use it directly.
 */
import { createHash, randomUUID } from 'node:crypto';
import type { TimerClock } from '../../clock.ts';

export interface MessageAttributeValue {
  DataType: string;
  StringValue?: string;
  BinaryValue?: Uint8Array | string;
}

export interface Message {
  messageId: string;
  body: string;
  md5OfBody: string;
  attributes: Record<string, MessageAttributeValue>;
  md5OfAttributes?: string;
  sentAt: number;
  senderId: string;
  visibleAt: number;
  receiveCount: number;
  firstReceivedAt?: number;
  /** The handle of the latest receive; older handles cannot delete (as with a re-received message). */
  receiptHandle?: string;
}

export interface QueueAttributes {
  VisibilityTimeout: number;
  DelaySeconds: number;
  MessageRetentionPeriod: number;
  ReceiveMessageWaitTimeSeconds: number;
  MaximumMessageSize: number;
  RedrivePolicy?: { deadLetterTargetArn: string; maxReceiveCount: number };
  /** The queue policy (JSON text), the queue's resource-based policy. */
  Policy?: string;
  [other: string]: unknown;
}

/** How long the queue remembers messages that left it (for `ageOfOldestAt`). */
const GONE_HISTORY_MS = 24 * 3_600_000;

export class QueueError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.name = 'QueueError';
    this.code = code;
  }
}

export class Queue {
  readonly name: string;
  readonly arn: string;
  readonly createdAt: number;
  attributes: QueueAttributes;
  tags: Record<string, string> = {};
  messages: Message[] = [];
  /** When each message that left the queue was sent and left (a day of them), for its age history. */
  #gone: { sentAt: number; goneAt: number }[] = [];
  #listeners = new Set<() => void>();
  #wakeTimers = new Map<number, { cancel(): void }>();
  readonly #clock: TimerClock;

  constructor(name: string, arn: string, clock: TimerClock, attributes: Partial<QueueAttributes>) {
    this.name = name;
    this.arn = arn;
    this.#clock = clock;
    this.createdAt = clock.now();
    this.attributes = {
      VisibilityTimeout: 30,
      DelaySeconds: 0,
      MessageRetentionPeriod: 345_600,
      ReceiveMessageWaitTimeSeconds: 0,
      MaximumMessageSize: 262_144,
      ...attributes,
    };
  }

  /** Called whenever a message may have become receivable (sent, or its visibility ran out). */
  onAvailable(fn: () => void): () => void {
    this.#listeners.add(fn);
    return () => this.#listeners.delete(fn);
  }

  #notifyAt(at: number): void {
    const now = this.#clock.now();
    if (at <= now) {
      queueMicrotask(() => {
        for (const fn of this.#listeners) fn();
      });
      return;
    }
    if (this.#wakeTimers.has(at)) return;
    const timer = this.#clock.at(at, () => {
      this.#wakeTimers.delete(at);
      for (const fn of this.#listeners) fn();
    });
    this.#wakeTimers.set(at, timer);
  }

  send(
    body: string,
    options: {
      delaySeconds?: number;
      attributes?: Record<string, MessageAttributeValue>;
      senderId?: string;
    } = {},
  ): Message {
    if (Buffer.byteLength(body) > this.attributes.MaximumMessageSize) {
      throw new QueueError(
        'InvalidParameterValue',
        `One or more parameters are invalid. Reason: Message must be shorter than ${this.attributes.MaximumMessageSize} bytes.`,
      );
    }
    const now = this.#clock.now();
    const delay = options.delaySeconds ?? this.attributes.DelaySeconds;
    const attributes = options.attributes ?? {};
    const m: Message = {
      messageId: randomUUID(),
      body,
      md5OfBody: md5(body),
      attributes,
      sentAt: now,
      senderId: options.senderId ?? 'AIDALOCAL',
      visibleAt: now + delay * 1000,
      receiveCount: 0,
    };
    if (Object.keys(attributes).length) m.md5OfAttributes = md5OfMessageAttributes(attributes);
    this.messages.push(m);
    this.#notifyAt(m.visibleAt);
    return m;
  }

  /**
   * Receives up to `max` visible messages and hides them for `visibilityTimeout` seconds. A message
   * already received `maxReceiveCount` times moves to the dead-letter queue instead.
   */
  receive(
    max: number,
    visibilityTimeout: number | undefined,
    deadLetter: (arn: string) => Queue | undefined,
  ): Message[] {
    const now = this.#clock.now();
    this.#expire(now);
    const out: Message[] = [];
    const vt = visibilityTimeout ?? this.attributes.VisibilityTimeout;
    for (const m of [...this.messages]) {
      if (out.length >= max) break;
      if (m.visibleAt > now) continue;
      const redrive = this.attributes.RedrivePolicy;
      if (redrive && m.receiveCount >= redrive.maxReceiveCount) {
        const dlq = deadLetter(redrive.deadLetterTargetArn);
        if (dlq) {
          this.#drop((x) => x === m, now);
          dlq.adopt(m);
          continue;
        }
      }
      m.receiveCount++;
      m.firstReceivedAt ??= now;
      m.visibleAt = now + vt * 1000;
      m.receiptHandle = `${m.messageId}#${randomUUID()}`;
      this.#notifyAt(m.visibleAt);
      out.push(m);
    }
    return out;
  }

  /** A message moved here by redrive keeps its id, body and receive count... as SQS does, minus the count. */
  adopt(m: Message): void {
    const now = this.#clock.now();
    const moved: Message = { ...m, visibleAt: now, receiveCount: 0 };
    delete moved.receiptHandle;
    delete moved.firstReceivedAt;
    this.messages.push(moved);
    this.#notifyAt(now);
  }

  delete(receiptHandle: string): void {
    const m = this.#byHandle(receiptHandle);
    if (m) this.#drop((x) => x === m, this.#clock.now());
  }

  changeVisibility(receiptHandle: string, seconds: number): void {
    const m = this.#byHandle(receiptHandle);
    if (!m || m.visibleAt <= this.#clock.now()) {
      throw new QueueError(
        'MessageNotInflight',
        'Value for parameter ReceiptHandle is invalid. Reason: Message does not exist or is not available for visibility timeout change.',
      );
    }
    m.visibleAt = this.#clock.now() + seconds * 1000;
    this.#notifyAt(m.visibleAt);
  }

  purge(): void {
    this.#drop(() => true, this.#clock.now());
  }

  /**
   * The age in seconds of the oldest message the queue held at `at` (0 when it held none): what
   * SQS publishes as the CloudWatch metric ApproximateAgeOfOldestMessage. Messages count from
   * their send until deleted, purged, moved to the dead-letter queue or expired; a message moved
   * here by redrive counts from its original send. History goes back one day.
   */
  ageOfOldestAt(at: number): number {
    this.#expire(this.#clock.now());
    let oldest = Number.POSITIVE_INFINITY;
    for (const m of this.messages) if (m.sentAt <= at && m.sentAt < oldest) oldest = m.sentAt;
    for (const g of this.#gone) if (g.sentAt <= at && g.goneAt > at && g.sentAt < oldest) oldest = g.sentAt;
    return oldest === Number.POSITIVE_INFINITY ? 0 : Math.floor((at - oldest) / 1000);
  }

  counts(): { visible: number; inFlight: number; delayed: number } {
    const now = this.#clock.now();
    this.#expire(now);
    let visible = 0;
    let inFlight = 0;
    let delayed = 0;
    for (const m of this.messages) {
      if (m.visibleAt <= now) visible++;
      else if (m.receiveCount > 0) inFlight++;
      else delayed++;
    }
    return { visible, inFlight, delayed };
  }

  close(): void {
    for (const t of this.#wakeTimers.values()) t.cancel();
    this.#wakeTimers.clear();
    this.#listeners.clear();
  }

  #byHandle(handle: string): Message | undefined {
    if (typeof handle !== 'string' || !handle.includes('#')) {
      throw new QueueError(
        'ReceiptHandleIsInvalid',
        `The input receipt handle "${String(handle)}" is not a valid receipt handle.`,
      );
    }
    return this.messages.find((m) => m.receiptHandle === handle);
  }

  #expire(now: number): void {
    const keep = now - this.attributes.MessageRetentionPeriod * 1000;
    this.#drop((m) => m.sentAt <= keep, now);
  }

  /** Removes the messages `leaving` selects, remembering when each was sent and left. */
  #drop(leaving: (m: Message) => boolean, now: number): void {
    const stay: Message[] = [];
    for (const m of this.messages) {
      // An expired message left when its retention ran out, whenever that was noticed.
      const expiry = m.sentAt + this.attributes.MessageRetentionPeriod * 1000;
      if (leaving(m)) this.#gone.push({ sentAt: m.sentAt, goneAt: Math.min(now, expiry) });
      else stay.push(m);
    }
    this.messages = stay;
    const since = now - GONE_HISTORY_MS;
    if (this.#gone.length > 0 && (this.#gone[0] as { goneAt: number }).goneAt <= since)
      this.#gone = this.#gone.filter((g) => g.goneAt > since);
  }
}

export function md5(text: string): string {
  return createHash('md5').update(text, 'utf8').digest('hex');
}

/** The MD5 of message attributes as SQS computes it (and the SDK verifies it). */
export function md5OfMessageAttributes(attrs: Record<string, MessageAttributeValue>): string {
  const parts: Buffer[] = [];
  const lenPrefixed = (b: Buffer) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(b.length);
    parts.push(len, b);
  };
  for (const name of Object.keys(attrs).sort()) {
    const a = attrs[name] as MessageAttributeValue;
    lenPrefixed(Buffer.from(name, 'utf8'));
    lenPrefixed(Buffer.from(a.DataType, 'utf8'));
    if (a.StringValue !== undefined) {
      parts.push(Buffer.from([1]));
      lenPrefixed(Buffer.from(a.StringValue, 'utf8'));
    } else if (a.BinaryValue !== undefined) {
      parts.push(Buffer.from([2]));
      lenPrefixed(
        typeof a.BinaryValue === 'string' ? Buffer.from(a.BinaryValue, 'base64') : Buffer.from(a.BinaryValue),
      );
    }
  }
  return createHash('md5').update(Buffer.concat(parts)).digest('hex');
}
