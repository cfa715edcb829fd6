/**
 * The AWS side of the Google -> AWS relay (docs/relay.md "Google -> AWS"): the HTTP API route
 * `POST /relay/google`, whose JWT authorizer has verified the push's Google-signed OIDC token, hands
 * the push to the core's `relayIn` with this side's ports: the relay ledger on the links table
 * (item `relay#<event id>`, conditional puts, an expiry that reads filter on), PutEvents on the
 * crosslink bus, and EMF metrics for what the handler refuses.
 */
import { randomBytes } from 'node:crypto';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { type Clock, systemClock } from '#core/clock.ts';
import { need } from '#core/link/settings.ts';
import { DeleteCommand, DynamoDBDocument, GetCommand, PutCommand } from './dynamodb-document.ts';
import type { EmfMetrics } from './emf.ts';
import { isConditionFailure } from './link-store.ts';
import { type BusPort, type RelayInDeps, type RelayLedger, type RelayLog, relayIn } from './relay-inbound.ts';

/**
 * | item  | pk             | sk      | notes                                                                   |
 * | ----- | -------------- | ------- | ----------------------------------------------------------------------- |
 * | relay | `relay#<id>`   | `RELAY` | `status` pending / relayed, `token`, `expiresAt` (ms, read filter), `ttl` (s) |
 */
export class DynamoDbRelayLedger implements RelayLedger {
  readonly #doc: DynamoDBDocument;
  readonly #table: string;
  readonly #clock: Clock;
  constructor(client: DynamoDBClient, table: string, clock: Clock) {
    this.#doc = new DynamoDBDocument(client);
    this.#table = table;
    this.#clock = clock;
  }

  #key(id: string) {
    return { pk: `relay#${id}`, sk: 'RELAY' };
  }

  async claim(id: string, pendingUntil: number): Promise<{ claimed: string } | 'relayed' | 'in-flight'> {
    const token = randomBytes(12).toString('hex');
    try {
      await this.#doc.send(
        new PutCommand({
          TableName: this.#table,
          Item: {
            ...this.#key(id),
            status: 'pending',
            token,
            expiresAt: pendingUntil,
            ttl: Math.ceil(pendingUntil / 1000),
          },
          // An expired record counts as absent (dynalite never deletes by TTL; DynamoDB does lazily).
          ConditionExpression: 'attribute_not_exists(pk) OR expiresAt <= :now',
          ExpressionAttributeValues: { ':now': this.#clock.now() },
        }),
      );
      return { claimed: token };
    } catch (e) {
      if (!isConditionFailure(e)) throw e;
    }
    const out = await this.#doc.send(
      new GetCommand({ TableName: this.#table, Key: this.#key(id), ConsistentRead: true }),
    );
    // Expired between the put and the get: the redelivery Pub/Sub sends after a 409 claims it.
    return out.Item?.status === 'relayed' && (out.Item.expiresAt as number) > this.#clock.now()
      ? 'relayed'
      : 'in-flight';
  }

  async complete(id: string, token: string, expiresAt: number): Promise<void> {
    await this.#doc.send(
      new PutCommand({
        TableName: this.#table,
        Item: { ...this.#key(id), status: 'relayed', token, expiresAt, ttl: Math.ceil(expiresAt / 1000) },
      }),
    );
  }

  async release(id: string, token: string): Promise<void> {
    try {
      await this.#doc.send(
        new DeleteCommand({
          TableName: this.#table,
          Key: this.#key(id),
          ConditionExpression: '#t = :t AND #s = :pending',
          ExpressionAttributeNames: { '#t': 'token', '#s': 'status' },
          ExpressionAttributeValues: { ':t': token, ':pending': 'pending' },
        }),
      );
    } catch (e) {
      if (!isConditionFailure(e)) throw e; // taken over meanwhile: not ours to release
    }
  }
}

/** PutEvents: one result per entry (`FailedEntryCount` > 0 marks the failed ones). */
export function eventBridgeBus(client: EventBridgeClient): BusPort {
  return {
    async put(entries) {
      const out = await client.send(new PutEventsCommand({ Entries: entries }));
      if (!out.FailedEntryCount) return entries.map(() => ({}));
      return entries.map((_, i) => {
        const r = out.Entries?.[i];
        return r?.ErrorCode ? { errorCode: r.ErrorCode, errorMessage: r.ErrorMessage ?? '' } : {};
      });
    },
  };
}

const EMAIL_RE = /^[^@\s]+@[^@\s]+\.[^@\s]+$/;

/** The relay's settings from the Lambda environment; an error names the variable and the reason. */
export function relaySettings(env: NodeJS.ProcessEnv): {
  region: string;
  table: string;
  busName: string;
  relayServiceAccount: string;
} {
  const relayServiceAccount = need(env, 'CROSSLINK_RELAY_SERVICE_ACCOUNT');
  if (!EMAIL_RE.test(relayServiceAccount))
    throw new Error(
      `environment variable CROSSLINK_RELAY_SERVICE_ACCOUNT must be a service account email, got "${relayServiceAccount}"`,
    );
  return {
    region: need(env, 'AWS_REGION'),
    table: need(env, 'CROSSLINK_TABLE'),
    busName: need(env, 'CROSSLINK_BUS'),
    relayServiceAccount,
  };
}

let cached: Omit<RelayInDeps, 'log'> | undefined;

/** The relay's ports from the environment, built once per cold start. */
export function relayDepsFromEnv(
  metrics: EmfMetrics,
  env: NodeJS.ProcessEnv = process.env,
): Omit<RelayInDeps, 'log'> {
  if (cached) return cached;
  const s = relaySettings(env);
  cached = {
    relayServiceAccount: s.relayServiceAccount,
    busName: s.busName,
    ledger: new DynamoDbRelayLedger(new DynamoDBClient({ region: s.region }), s.table, systemClock),
    bus: eventBridgeBus(new EventBridgeClient({ region: s.region })),
    clock: systemClock,
    count: (metric) => metrics.addMetric(metric, 'Count', 1),
  };
  return cached;
}

/** The HTTP API event fields the relay reads (payload format 2.0). */
export interface RelayHttpEvent {
  body?: string;
  isBase64Encoded?: boolean;
  requestContext?: { authorizer?: { jwt?: { claims?: Record<string, unknown> } } };
}

export async function relayHttp(
  deps: RelayInDeps,
  event: RelayHttpEvent,
): Promise<{ statusCode: number; headers: Record<string, string>; body: string }> {
  const body =
    event.body !== undefined && event.isBase64Encoded
      ? Buffer.from(event.body, 'base64').toString('utf8')
      : event.body;
  const answer = await relayIn(deps, { claims: event.requestContext?.authorizer?.jwt?.claims, body });
  return {
    statusCode: answer.status,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(answer.body),
  };
}

export type { RelayLog };
