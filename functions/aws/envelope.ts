/**
 * The crosslink CloudEvent on EventBridge (docs/architecture.md, "Event envelope"): the `PutEvents`
 * entry this side's sink and the inbound relay put (Source `crosslink`, DetailType the event name,
 * Detail the whole CloudEvent), and the event a rule delivers to a target, read back and checked.
 */
import { type CloudEvent, parseEvent, parseEventType } from '#core/envelope.ts';
import { ValidationError } from '#core/errors.ts';

/** The `PutEvents` entry: Source `crosslink`, DetailType the event name, Detail the whole CloudEvent. */
export interface EventBridgeEntry {
  Source: 'crosslink';
  DetailType: string;
  Detail: string;
  EventBusName: string;
  Time?: Date;
}

export function toEventBridgeEntry(event: CloudEvent, eventBusName: string): EventBridgeEntry {
  const t = parseEventType(event.type);
  if (!t) throw new ValidationError([{ path: 'type', reason: 'is not a crosslink event type' }], 'event');
  const detail = JSON.stringify(event);
  if (Buffer.byteLength(detail) > 256 * 1024 - 1024) {
    throw new ValidationError(
      [{ path: 'data', reason: 'event is too large for an EventBridge entry (256 KB)' }],
      'event',
    );
  }
  return {
    Source: 'crosslink',
    DetailType: t.name,
    Detail: detail,
    EventBusName: eventBusName,
    Time: new Date(event.time),
  };
}

/** An event as EventBridge delivers it to a target. */
export interface EventBridgeEvent {
  version?: string;
  id: string;
  'detail-type': string;
  source: string;
  account?: string;
  time?: string;
  region?: string;
  resources?: string[];
  detail: unknown;
}

export function fromEventBridgeEvent(ev: EventBridgeEvent): CloudEvent {
  if (ev.source !== 'crosslink') {
    throw new ValidationError(
      [{ path: 'source', reason: `must be "crosslink", got "${ev.source}"` }],
      'EventBridge event',
    );
  }
  const event = parseEvent(ev.detail);
  const t = parseEventType(event.type);
  if (t?.name !== ev['detail-type']) {
    throw new ValidationError(
      [
        {
          path: 'detail-type',
          reason: `"${ev['detail-type']}" does not match the CloudEvent type ${event.type}`,
        },
      ],
      'EventBridge event',
    );
  }
  return event;
}
