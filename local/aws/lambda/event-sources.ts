/**
 * SQS event source mappings of one local Lambda runtime: each polls its queue, invokes the
 * function with batches of up to its batch size, deletes what succeeded (honouring
 * \`batchItemFailures\`), and applies the queue's delivery faults per record (\`drop\`, \`duplicate\`,
 * \`reorder\`; see runtime.ts's header). Kept apart from the runtime, which runs the functions.
 */
import { randomUUID } from 'node:crypto';
import type { LambdaResponse } from '../sfn/execution.ts';
import type { Message, Queue } from '../sqs/queues.ts';
import { type LambdaFunction, LambdaServiceError } from './functions.ts';
import type { LambdaRuntimeOptions } from './runtime.ts';

export interface EventSourceMapping {
  uuid: string;
  eventSourceArn: string;
  functionArn: string;
  batchSize: number;
  functionResponseTypes: string[];
  enabled: boolean;
}

/** What the mappings need of the runtime: its functions and a RequestResponse invoke. */
export interface MappedFunctions {
  get(nameOrArn: string): LambdaFunction;
  invoke(nameOrArn: string, payload: unknown): Promise<LambdaResponse>;
}

export class EventSourceMappings {
  readonly mappings = new Map<string, EventSourceMapping>();
  /** Each mapping's poll of its queue (a resumed mapping polls at once). */
  #pollers = new Map<string, () => Promise<void>>();
  readonly #unsubscribe = new Map<string, () => void>();
  /** Records held by a \`reorder\` fault, per mapping: cancelled when the mapping goes. */
  readonly #held = new Map<string, Set<{ cancel(): void }>>();
  readonly #options: Pick<LambdaRuntimeOptions, 'clock' | 'region' | 'queue' | 'faults' | 'authorizeSource'>;
  readonly #functions: MappedFunctions;

  constructor(
    options: Pick<LambdaRuntimeOptions, 'clock' | 'region' | 'queue' | 'faults' | 'authorizeSource'>,
    functions: MappedFunctions,
  ) {
    this.#options = options;
    this.#functions = functions;
  }

  /** Maps an SQS queue to a function: batches of up to `batchSize`, partial failures when reported. */
  add(input: {
    eventSourceArn: string;
    functionName: string;
    batchSize?: number;
    functionResponseTypes?: string[];
    enabled?: boolean;
  }): EventSourceMapping {
    const fn = this.#functions.get(input.functionName);
    try {
      this.#options.authorizeSource?.(fn, input.eventSourceArn);
    } catch (err) {
      throw new LambdaServiceError(
        'InvalidParameterValueException',
        `The function execution role does not have permissions to read the queue: ${(err as Error).message}`,
      );
    }
    const mapping: EventSourceMapping = {
      uuid: randomUUID(),
      eventSourceArn: input.eventSourceArn,
      functionArn: fn.arn,
      batchSize: input.batchSize ?? 10,
      functionResponseTypes: input.functionResponseTypes ?? [],
      enabled: input.enabled ?? true,
    };
    this.mappings.set(mapping.uuid, mapping);
    const queue = this.#options.queue?.(mapping.eventSourceArn);
    if (!queue)
      throw new LambdaServiceError('InvalidParameterValueException', `no queue ${mapping.eventSourceArn}`);
    let polling = false;
    const poll = async () => {
      if (polling || !mapping.enabled || !this.mappings.has(mapping.uuid)) return;
      polling = true;
      try {
        for (;;) {
          const batch = queue.receive(mapping.batchSize, undefined, (arn) => this.#options.queue?.(arn));
          if (batch.length === 0) break;
          await this.#deliverWithFaults(mapping, queue, batch);
        }
      } finally {
        polling = false;
      }
    };
    this.#unsubscribe.set(
      mapping.uuid,
      queue.onAvailable(() => void poll()),
    );
    this.#pollers.set(mapping.uuid, poll);
    queueMicrotask(() => void poll());
    return mapping;
  }

  /**
   * Stops or resumes a mapping, as UpdateEventSourceMapping's `Enabled` does: stopped, the queue
   * keeps its messages; resumed, it polls at once.
   */
  setEnabled(uuid: string, enabled: boolean): EventSourceMapping {
    const mapping = this.mappings.get(uuid);
    if (!mapping)
      throw new LambdaServiceError(
        'ResourceNotFoundException',
        `The resource you requested does not exist. (Service: Lambda, event source mapping ${uuid})`,
      );
    mapping.enabled = enabled;
    if (enabled) queueMicrotask(() => void this.#pollers.get(uuid)?.());
    return mapping;
  }

  remove(uuid: string): void {
    this.#pollers.delete(uuid);
    this.#unsubscribe.get(uuid)?.();
    this.#unsubscribe.delete(uuid);
    for (const timer of this.#held.get(uuid) ?? []) timer.cancel();
    this.#held.delete(uuid);
    this.mappings.delete(uuid);
  }

  /** Applies the delivery faults of the queue to a received batch, then invokes (see the header). */
  async #deliverWithFaults(mapping: EventSourceMapping, queue: Queue, batch: Message[]): Promise<void> {
    const faults = this.#options.faults;
    if (!faults) return this.#deliverBatch(mapping, queue, batch);
    const capMs = Math.floor((queue.attributes.VisibilityTimeout * 1000) / 2);
    const now: Message[] = [];
    const extra: Message[][] = [];
    for (const m of batch) {
      const plan = faults.delivery('aws', 'sqs', queue.name);
      plan.delaysMs.forEach((delay, copy) => {
        const held = Math.min(delay, capMs);
        if (held > 0) this.#hold(mapping, queue, m, held);
        else if (copy === 0) now.push(m);
        else {
          let invocation = extra[copy - 1];
          if (!invocation) {
            invocation = [];
            extra[copy - 1] = invocation;
          }
          invocation.push(m);
        }
      });
    }
    for (const records of [now, ...extra])
      if (records.length) await this.#deliverBatch(mapping, queue, records);
  }

  #hold(mapping: EventSourceMapping, queue: Queue, m: Message, ms: number): void {
    let timers = this.#held.get(mapping.uuid);
    if (!timers) {
      timers = new Set();
      this.#held.set(mapping.uuid, timers);
    }
    const held = timers;
    const timer = this.#options.clock.at(this.#options.clock.now() + ms, () => {
      held.delete(timer);
      if (!this.mappings.has(mapping.uuid) || !mapping.enabled) return;
      void this.#deliverBatch(mapping, queue, [m]);
    });
    held.add(timer);
  }

  async #deliverBatch(mapping: EventSourceMapping, queue: Queue, batch: Message[]): Promise<void> {
    const event = {
      Records: batch.map((m) => ({
        messageId: m.messageId,
        receiptHandle: m.receiptHandle,
        body: m.body,
        attributes: {
          ApproximateReceiveCount: String(m.receiveCount),
          SentTimestamp: String(m.sentAt),
          SenderId: m.senderId,
          ApproximateFirstReceiveTimestamp: String(m.firstReceivedAt ?? m.sentAt),
        },
        messageAttributes: Object.fromEntries(
          Object.entries(m.attributes).map(([k, v]) => [
            k,
            {
              stringValue: v.StringValue,
              binaryValue: v.BinaryValue,
              stringListValues: [],
              binaryListValues: [],
              dataType: v.DataType,
            },
          ]),
        ),
        md5OfBody: m.md5OfBody,
        eventSource: 'aws:sqs',
        eventSourceARN: queue.arn,
        awsRegion: this.#options.region,
      })),
    };
    // The handler runs in wall time, the queue's visibility on the virtual clock: at x60 a 180 s
    // visibility is 3 wall seconds, which a cold sandbox on a loaded machine outlasts, so the batch
    // would come back (and count a receive) while it still runs. In AWS an invocation takes a small
    // part of the visibility timeout; here the records stay invisible while it runs, and a failure
    // comes back a whole visibility timeout after it ended.
    const visibility = queue.attributes.VisibilityTimeout;
    const hold = () => {
      for (const m of batch) {
        try {
          if (m.receiptHandle) queue.changeVisibility(m.receiptHandle, visibility);
        } catch {
          // deleted, or already visible again: nothing to hold
        }
      }
    };
    const heartbeat = setInterval(hold, 100);
    const res = await this.#functions
      .invoke(mapping.functionArn, event)
      .catch(() => undefined)
      .finally(() => clearInterval(heartbeat));
    hold();
    if (!res || res.functionError) return; // the whole batch becomes visible again after the timeout
    let failed = new Set<string>();
    if (mapping.functionResponseTypes.includes('ReportBatchItemFailures')) {
      const items = (res.payload as { batchItemFailures?: { itemIdentifier?: string }[] } | null)
        ?.batchItemFailures;
      if (Array.isArray(items)) {
        failed = new Set(items.map((i) => String(i?.itemIdentifier)));
        // An identifier that is not in the batch fails the whole batch, as Lambda does.
        if ([...failed].some((id) => !batch.some((m) => m.messageId === id))) return;
      }
    }
    for (const m of batch) if (!failed.has(m.messageId) && m.receiptHandle) queue.delete(m.receiptHandle);
  }

  /** Stops every poll and held record. */
  close(): void {
    for (const u of this.#unsubscribe.values()) u();
    this.#unsubscribe.clear();
    for (const timers of this.#held.values()) for (const timer of timers) timer.cancel();
    this.#held.clear();
  }
}
