/**
 * The crosslink CloudEvent on Pub/Sub (docs/architecture.md, "Event envelope"): the message every
 * publisher of either half sends (the Google sink, the AWS -> Google relay), with the attributes
 * subscribers filter on, and a received message or push body read back and checked.
 */
import { type Cloud, type CloudEvent, parseEvent } from '#core/envelope.ts';
import { type Issue, ValidationError } from '#core/errors.ts';

export interface PubSubAttributes {
  'ce-id': string;
  'ce-type': string;
  crosslinkorigin: Cloud;
  [k: string]: string;
}

/** A message to publish. */
export interface PubSubMessageOut {
  data: Buffer;
  attributes: PubSubAttributes;
}

/**
 * What a publisher sends: the CloudEvent as data, and the attributes subscribers filter on, plus
 * `traceparent` (W3C trace context, as the event carries it) so a subscriber or tracing tool can
 * continue the trace without parsing the data. Every publisher of either half goes through here.
 */
export function toPubSubMessage(event: CloudEvent): PubSubMessageOut {
  return {
    data: Buffer.from(JSON.stringify(event), 'utf8'),
    attributes: {
      'ce-id': event.id,
      'ce-type': event.type,
      crosslinkorigin: event.crosslinkorigin,
      ...(typeof event.traceparent === 'string' && event.traceparent
        ? { traceparent: event.traceparent }
        : {}),
    },
  };
}

/** A received Pub/Sub message (`data` base64 as on the wire, or bytes as a client library gives it). */
export interface PubSubMessageIn {
  data?: string | Uint8Array | null;
  attributes?: Record<string, string> | null;
  messageId?: string;
  publishTime?: string;
}

export function fromPubSubMessage(message: PubSubMessageIn): CloudEvent {
  if (message.data === undefined || message.data === null || message.data.length === 0) {
    throw new ValidationError(
      [{ path: 'message.data', reason: 'is empty; a crosslink message carries a CloudEvent' }],
      'Pub/Sub message',
    );
  }
  const text =
    typeof message.data === 'string'
      ? Buffer.from(message.data, 'base64').toString('utf8')
      : Buffer.from(message.data).toString('utf8');
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new ValidationError(
      [{ path: 'message.data', reason: 'is not JSON (expected a base64-encoded structured CloudEvent)' }],
      'Pub/Sub message',
    );
  }
  const event = parseEvent(json);
  const attrs = message.attributes ?? {};
  const issues: Issue[] = [];
  if (attrs['ce-id'] !== undefined && attrs['ce-id'] !== event.id)
    issues.push({
      path: 'message.attributes.ce-id',
      reason: `"${attrs['ce-id']}" differs from the event id ${event.id}`,
    });
  if (attrs['ce-type'] !== undefined && attrs['ce-type'] !== event.type)
    issues.push({
      path: 'message.attributes.ce-type',
      reason: `"${attrs['ce-type']}" differs from the event type ${event.type}`,
    });
  if (attrs.crosslinkorigin !== undefined && attrs.crosslinkorigin !== event.crosslinkorigin)
    issues.push({
      path: 'message.attributes.crosslinkorigin',
      reason: `"${attrs.crosslinkorigin}" differs from the event's ${event.crosslinkorigin}`,
    });
  if (issues.length > 0) throw new ValidationError(issues, 'Pub/Sub message');
  return event;
}

/** The body of a Pub/Sub push request. */
export interface PubSubPushBody {
  message: PubSubMessageIn;
  subscription: string;
}

export function fromPubSubPush(body: unknown): CloudEvent {
  if (typeof body !== 'object' || body === null || typeof (body as PubSubPushBody).message !== 'object') {
    throw new ValidationError(
      [{ path: 'message', reason: 'is required: a push body is {message, subscription}' }],
      'Pub/Sub push',
    );
  }
  return fromPubSubMessage((body as PubSubPushBody).message);
}
