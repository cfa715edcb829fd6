/**
 * The AWS -> Google relay (docs/relay.md): a batch of SQS records, each an EventBridge event from
 * the crosslink bus whose `detail` is a crosslink CloudEvent, published to Google's peer-events topic.
 *
 * - An event whose `crosslinkorigin` is not `aws` is never relayed (it would go back to its origin):
 *   acknowledged and counted.
 * - A record that can never be published (not JSON, not a crosslink EventBridge event, a bad
 *   CloudEvent) is poison: sent at once to the dead-letter queue with its reason, then acknowledged.
 * - A publish that fails (refused token exchange, Pub/Sub unavailable...) fails the record
 *   (`batchItemFailures`) so SQS delivers it again; on its last receive (`maxReceives`, the queue's
 *   `maxReceiveCount`) it is dead-lettered with the last error as its reason instead, so every
 *   dead letter carries a reason.
 *
 * Logs name records and events by id and type only: never a body (events carry sealed keys).
 */
import type { CloudEvent } from '#core/envelope.ts';
import { ValidationError } from '#core/errors.ts';
import { type PubSubMessageOut, toPubSubMessage } from '#gcp/envelope.ts';
import { fromEventBridgeEvent } from './envelope.ts';

/** The parts of an SQS record (Lambda event source) the relay reads. */
export interface SqsRecord {
  messageId: string;
  body: string;
  attributes?: { ApproximateReceiveCount?: string };
}

/** The Pub/Sub message of a relayed event (`toPubSubMessage`: attributes incl. `traceparent`). */
export type RelayMessage = PubSubMessageOut;

/** Publishes one message to the peer topic; resolves with Pub/Sub's message id, throws on failure. */
export interface PeerPublisher {
  publish(message: RelayMessage): Promise<string>;
}

/** Sends a record's body to the dead-letter queue with its reason (a `reason` message attribute). */
export interface DeadLetters {
  send(record: SqsRecord, reason: string): Promise<void>;
}

export type LogFields = Record<string, string | number | undefined>;
export interface RelayLog {
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
}

export interface RelayDeps {
  publisher: PeerPublisher;
  deadLetters: DeadLetters;
  log: RelayLog;
  /** The queue's maxReceiveCount: on this receive a failing record is dead-lettered, not failed. */
  maxReceives: number;
}

export interface RelayReport {
  batchItemFailures: { itemIdentifier: string }[];
  relayed: number;
  /** Events of another origin: acknowledged, not published. */
  notOurs: number;
  deadLettered: number;
}

/** Reads a record's CloudEvent; throws ValidationError (the poison reason) when it has none. */
export function eventOfRecord(record: SqsRecord): CloudEvent {
  let body: unknown;
  try {
    body = JSON.parse(record.body);
  } catch {
    throw new ValidationError([{ path: 'body', reason: 'is not JSON' }], 'SQS record');
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body) || !('detail' in body)) {
    throw new ValidationError(
      [{ path: 'body', reason: 'is not an EventBridge event (no detail)' }],
      'SQS record',
    );
  }
  return fromEventBridgeEvent(body as Parameters<typeof fromEventBridgeEvent>[0]);
}

function reasonOf(e: unknown): string {
  if (e instanceof ValidationError) return e.message;
  const err = e as Error;
  return `${err?.name ?? 'Error'}: ${err?.message ?? String(e)}`.slice(0, 1000);
}

export async function relayToGoogle(records: readonly SqsRecord[], deps: RelayDeps): Promise<RelayReport> {
  const report: RelayReport = { batchItemFailures: [], relayed: 0, notOurs: 0, deadLettered: 0 };
  const deadLetter = async (record: SqsRecord, reason: string, fields: LogFields) => {
    try {
      await deps.deadLetters.send(record, reason);
      report.deadLettered++;
      deps.log.error('relay: dead-lettered', { ...fields, reason });
    } catch (e) {
      // Not in the DLQ: fail it, SQS delivers it again (and its redrive policy is the backstop).
      deps.log.error('relay: dead-lettering failed', { ...fields, reason, error: reasonOf(e) });
      report.batchItemFailures.push({ itemIdentifier: record.messageId });
    }
  };
  await Promise.all(
    records.map(async (record) => {
      const receives = Number(record.attributes?.ApproximateReceiveCount ?? '1');
      let event: CloudEvent;
      try {
        event = eventOfRecord(record);
      } catch (e) {
        await deadLetter(record, `poison: ${reasonOf(e)}`, { messageId: record.messageId });
        return;
      }
      const fields: LogFields = { messageId: record.messageId, eventId: event.id, type: event.type };
      if (event.crosslinkorigin !== 'aws') {
        report.notOurs++;
        deps.log.warn('relay: not relayed, the event comes from the peer', {
          ...fields,
          origin: event.crosslinkorigin,
        });
        return;
      }
      try {
        const pubsubId = await deps.publisher.publish(toPubSubMessage(event));
        report.relayed++;
        deps.log.info('relay: published', { ...fields, pubsubId });
      } catch (e) {
        const reason = reasonOf(e);
        if (receives >= deps.maxReceives) {
          await deadLetter(record, `publish failed ${receives} times: ${reason}`, fields);
          return;
        }
        deps.log.warn('relay: publish failed, will retry', { ...fields, receives, reason });
        report.batchItemFailures.push({ itemIdentifier: record.messageId });
      }
    }),
  );
  return report;
}
