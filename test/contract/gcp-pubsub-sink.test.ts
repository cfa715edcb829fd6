/**
 * The Google half's EventSink on the real Pub/Sub emulator with the official client: one message
 * per event, data the CloudEvent, attributes `ce-id`, `ce-type`, `crosslinkorigin` (docs/architecture.md, "Event envelope"); a
 * publish that cannot succeed fails the put naming the event.
 */
import { PubSub } from '@google-cloud/pubsub';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '#core/clock.ts';
import { buildEvent, type CloudEvent } from '#core/envelope.ts';
import { fromPubSubMessage } from '#gcp/envelope.ts';
import { PubSubSink } from '#gcp/event-sink.ts';
import { leaseEmulators } from '../support/emulators.ts';

// No GCE metadata server here: google-auth-library would probe for one and warn.
process.env.METADATA_SERVER_DETECTION = 'none';

let pubsub: PubSub;

beforeAll(async () => {
  const { emulators, project } = await leaseEmulators();
  pubsub = new PubSub({
    projectId: project,
    apiEndpoint: emulators.pubsubHost as string,
    emulatorMode: true,
  });
});
afterAll(async () => {
  await pubsub?.close();
});

function event(n: number): CloudEvent {
  return buildEvent({
    name: 'LinkStateChanged',
    origin: { cloud: 'gcp', project: 'crosslink-local', region: 'us-east4' },
    subject: `lk-01jgc00000000000000000000${n}`,
    data: { linkId: `lk-01jgc00000000000000000000${n}`, n },
    clock: new ManualClock('2026-11-26T10:00:00Z'),
  } as unknown as Parameters<typeof buildEvent>[0]);
}

describe('PubSubSink', () => {
  it('publishes each event with the CloudEvent as data and the ce-id, ce-type, crosslinkorigin, traceparent attributes', async () => {
    // Prepare
    const [topic] = await pubsub.createTopic('crosslink-events');
    const [sub] = await topic.createSubscription('crosslink-events-check');
    const sent = [event(1), event(2), event(3)];
    const received: { data: Buffer; attributes: Record<string, string> }[] = [];
    const all = new Promise<void>((resolve) => {
      sub.on('message', (m) => {
        m.ack();
        received.push({ data: m.data, attributes: m.attributes });
        if (received.length === sent.length) resolve();
      });
    });
    // Act
    await new PubSubSink(pubsub, 'crosslink-events').put(sent);
    await all;
    await sub.close();
    // Assess
    const byId = new Map(received.map((r) => [r.attributes['ce-id'], r]));
    for (const e of sent) {
      const r = byId.get(e.id);
      expect(r?.attributes).toEqual({
        'ce-id': e.id,
        'ce-type': 'crosslink.LinkStateChanged.v1',
        crosslinkorigin: 'gcp',
        traceparent: e.traceparent,
      });
      expect(fromPubSubMessage({ data: r?.data, attributes: r?.attributes })).toEqual(e);
    }
  });

  it('a topic that does not exist fails the put with EventsNotPutError naming every event', async () => {
    const sent = [event(4), event(5)];
    const err = await new PubSubSink(pubsub, 'no-such-topic').put(sent).then(
      () => new Error('published'),
      (e: unknown) => e as Error & { failures?: { eventId: string }[] },
    );
    expect(err.name).toBe('EventsNotPutError');
    expect((err as { failures?: { eventId: string }[] }).failures?.map((f) => f.eventId)).toEqual(
      sent.map((e) => e.id),
    );
  });
});
