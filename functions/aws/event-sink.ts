/**
 * The `EventSink` port on EventBridge. `PutEvents` takes at most 10 entries and can fail entry by
 * entry with HTTP 200 (`FailedEntryCount`): the failed entries alone are put again, a bounded number
 * of times, and anything still failing is an error naming each entry's code, so the caller's
 * retry (a Lambda retry, a Step Functions Retry) puts them later. Events carry their own ids, so a
 * redelivery of an already-put entry is deduplicated by its consumers.
 */
import {
  type EventBridgeClient,
  PutEventsCommand,
  type PutEventsRequestEntry,
} from '@aws-sdk/client-eventbridge';
import { sleep } from '#core/clock.ts';
import type { CloudEvent } from '#core/envelope.ts';
import type { EventSink } from '#core/link/ports.ts';
import { toEventBridgeEntry } from './envelope.ts';

/** Some entries could not be put after the sink's own retries. */
export class EventsNotPutError extends Error {
  readonly failures: { eventId: string; code: string; message: string }[];
  constructor(failures: { eventId: string; code: string; message: string }[]) {
    super(
      `${failures.length} event(s) not put: ${failures.map((f) => `${f.eventId} ${f.code}: ${f.message}`).join('; ')}`,
    );
    this.name = 'EventsNotPutError';
    this.failures = failures;
  }
}

export interface EventBridgeSinkOptions {
  busName: string;
  /** Attempts for the failed entries of one batch, including the first (default 3). */
  maxAttempts?: number;
  sleep?: (ms: number) => Promise<void>;
}

export class EventBridgeSink implements EventSink {
  readonly #client: EventBridgeClient;
  readonly #options: Required<EventBridgeSinkOptions>;
  constructor(client: EventBridgeClient, options: EventBridgeSinkOptions) {
    this.#client = client;
    this.#options = {
      maxAttempts: 3,
      sleep,
      ...options,
    };
  }

  async put(events: CloudEvent[]): Promise<void> {
    const failures: EventsNotPutError['failures'] = [];
    for (let i = 0; i < events.length; i += 10) {
      failures.push(...(await this.#putBatch(events.slice(i, i + 10))));
    }
    if (failures.length) throw new EventsNotPutError(failures);
  }

  async #putBatch(batch: CloudEvent[]): Promise<EventsNotPutError['failures']> {
    let pending = batch;
    let last: EventsNotPutError['failures'] = [];
    for (let attempt = 1; attempt <= this.#options.maxAttempts && pending.length; attempt++) {
      if (attempt > 1) await this.#options.sleep(100 * 2 ** (attempt - 2));
      const entries: PutEventsRequestEntry[] = pending.map((e) =>
        toEventBridgeEntry(e, this.#options.busName),
      );
      const out = await this.#client.send(new PutEventsCommand({ Entries: entries }));
      if (!out.FailedEntryCount) return [];
      const failed: CloudEvent[] = [];
      last = [];
      (out.Entries ?? []).forEach((r, i) => {
        const ev = pending[i];
        if (r.ErrorCode && ev) {
          failed.push(ev);
          last.push({ eventId: ev.id, code: r.ErrorCode, message: r.ErrorMessage ?? '' });
        }
      });
      // Malformed entries will never be accepted: do not retry them.
      if (last.every((f) => f.code === 'InvalidArgument' || f.code === 'MalformedDetail')) return last;
      pending = failed;
    }
    return last;
  }
}
