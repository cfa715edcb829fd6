/**
 * The `EventSink` port on Pub/Sub: one message per event, data the whole CloudEvent, attributes
 * `ce-id`, `ce-type`, `crosslinkorigin`, `traceparent` (docs/architecture.md, "Event envelope"; `toPubSubMessage`, ./envelope.ts). The client
 * batches and retries on its own; a message it still cannot publish fails the put with an error
 * naming each event (`EventsNotPutError`, the name the orchestrators retry on), so the caller's
 * retry publishes it later. Events carry their own ids: consumers drop a redelivered one.
 */
import type { PubSub, Topic } from '@google-cloud/pubsub';
import type { CloudEvent } from '#core/envelope.ts';
import type { EventSink } from '#core/link/ports.ts';
import { toPubSubMessage } from './envelope.ts';

/** Some events could not be published after the client's own retries. */
export class EventsNotPutError extends Error {
  readonly failures: { eventId: string; message: string }[];
  constructor(failures: { eventId: string; message: string }[]) {
    super(
      `${failures.length} event(s) not published: ${failures.map((f) => `${f.eventId}: ${f.message}`).join('; ')}`,
    );
    this.name = 'EventsNotPutError';
    this.failures = failures;
  }
}

export class PubSubSink implements EventSink {
  readonly #topic: Topic;
  /** `topic`: the topic id or its full name (`projects/p/topics/t`). */
  constructor(pubsub: PubSub, topic: string) {
    this.#topic = pubsub.topic(topic);
  }

  async put(events: CloudEvent[]): Promise<void> {
    const results = await Promise.allSettled(
      events.map((e) => this.#topic.publishMessage(toPubSubMessage(e))),
    );
    const failures = results.flatMap((r, i) =>
      r.status === 'rejected'
        ? [
            {
              eventId: (events[i] as CloudEvent).id,
              message: String((r.reason as Error)?.message ?? r.reason),
            },
          ]
        : [],
    );
    if (failures.length) throw new EventsNotPutError(failures);
  }
}
