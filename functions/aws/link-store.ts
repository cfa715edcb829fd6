/**
 * The `LinkStore` port on DynamoDB, one table, single-item conditional writes only (no transactions):
 *
 * | item          | pk               | sk                      | notes                                   |
 * | ------------- | ---------------- | ----------------------- | --------------------------------------- |
 * | link          | `LINK#<id>`      | `LINK`                  | `link`, `version`; `gsi1pk = LINKS`, `gsi1sk = <id>` for `list` |
 * | audit entry   | `LINK#<id>`      | `AUDIT#<at>#<n>`        | put-if-absent: append-only              |
 * | idempotency   | `CLAIM#<key>`    | `CLAIM`                 | `expiresAt` (ms, read filter), `ttl` (s, DynamoDB TTL) |
 * | waiting token | `LINK#<id>`      | `TOKEN#<phase>`         | the Step Functions task token a stage waits on |
 * | sealed key    | `LINK#<id>`      | `SEALED`                | the peer's sealed activation key (ciphertext only) |
 *
 * Expired claims count as absent on read and are overwritten by a conditional put, because DynamoDB
 * TTL deletes lazily (and dynalite never does).
 */
import { randomBytes } from 'node:crypto';
import { ConditionalCheckFailedException, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { Clock } from '#core/clock.ts';
import { ConflictError } from '#core/errors.ts';
import type { SealedKey } from '#core/events/catalog.ts';
import type { LinkRecord, LinkState } from '#core/link/model.ts';
import type { AuditEntry, StageStore, StoredLink, WaitPhase } from '#core/link/ports.ts';
import {
  DeleteCommand,
  DynamoDBDocument,
  GetCommand,
  PutCommand,
  QueryCommand,
  type QueryCommandInput,
} from './dynamodb-document.ts';

/** The table's key schema and index, for serverless.yml and tests that create it. */
export const LINK_TABLE_SCHEMA = {
  AttributeDefinitions: [
    { AttributeName: 'pk', AttributeType: 'S' },
    { AttributeName: 'sk', AttributeType: 'S' },
    { AttributeName: 'gsi1pk', AttributeType: 'S' },
    { AttributeName: 'gsi1sk', AttributeType: 'S' },
  ],
  KeySchema: [
    { AttributeName: 'pk', KeyType: 'HASH' },
    { AttributeName: 'sk', KeyType: 'RANGE' },
  ],
  GlobalSecondaryIndexes: [
    {
      IndexName: 'gsi1',
      KeySchema: [
        { AttributeName: 'gsi1pk', KeyType: 'HASH' },
        { AttributeName: 'gsi1sk', KeyType: 'RANGE' },
      ],
      Projection: { ProjectionType: 'ALL' },
    },
  ],
  BillingMode: 'PAY_PER_REQUEST',
} as const;

export const isConditionFailure = (e: unknown) =>
  e instanceof ConditionalCheckFailedException || (e as Error)?.name === 'ConditionalCheckFailedException';

export class DynamoDbLinkStore implements StageStore {
  readonly #doc: DynamoDBDocument;
  readonly #table: string;
  readonly #clock: Clock;

  constructor(client: DynamoDBClient, tableName: string, clock: Clock) {
    this.#doc = new DynamoDBDocument(client, {
      removeUndefinedValues: true,
      convertClassInstanceToMap: false,
    });
    this.#table = tableName;
    this.#clock = clock;
  }

  async get(linkId: string): Promise<StoredLink | undefined> {
    const out = await this.#doc.send(
      new GetCommand({ TableName: this.#table, Key: linkKey(linkId), ConsistentRead: true }),
    );
    return out.Item ? { link: out.Item.link as LinkRecord, version: out.Item.version as number } : undefined;
  }

  async create(link: LinkRecord): Promise<StoredLink> {
    try {
      await this.#doc.send(
        new PutCommand({
          TableName: this.#table,
          Item: linkItem(link, 1),
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
    } catch (e) {
      if (isConditionFailure(e)) throw new ConflictError(`link ${link.id} exists`);
      throw e;
    }
    return { link, version: 1 };
  }

  async update(link: LinkRecord, expectedVersion: number): Promise<StoredLink> {
    try {
      await this.#doc.send(
        new PutCommand({
          TableName: this.#table,
          Item: linkItem(link, expectedVersion + 1),
          ConditionExpression: 'version = :v',
          ExpressionAttributeValues: { ':v': expectedVersion },
        }),
      );
    } catch (e) {
      if (isConditionFailure(e)) throw new ConflictError(`link ${link.id} changed`);
      throw e;
    }
    return { link, version: expectedVersion + 1 };
  }

  async list(query: {
    state?: LinkState;
    limit?: number;
    cursor?: string;
  }): Promise<{ items: LinkRecord[]; cursor?: string }> {
    const limit = query.limit ?? 50;
    const items: LinkRecord[] = [];
    // The cursor is the last link id returned: the index is ordered by id, so it is a valid start key.
    let start: Record<string, unknown> | undefined = query.cursor
      ? { ...linkKey(query.cursor), gsi1pk: 'LINKS', gsi1sk: query.cursor }
      : undefined;
    for (;;) {
      const input: QueryCommandInput = {
        TableName: this.#table,
        IndexName: 'gsi1',
        KeyConditionExpression: 'gsi1pk = :p',
        ExpressionAttributeValues: { ':p': 'LINKS' },
        Limit: limit + 1,
      };
      if (query.state) {
        input.FilterExpression = '#s = :s';
        input.ExpressionAttributeNames = { '#s': 'state' };
        (input.ExpressionAttributeValues as Record<string, unknown>)[':s'] = query.state;
      }
      if (start) input.ExclusiveStartKey = start;
      const out = await this.#doc.send(new QueryCommand(input));
      for (const it of out.Items ?? []) items.push(it.link as LinkRecord);
      if (items.length > limit) {
        const page = items.slice(0, limit);
        return { items: page, cursor: (page.at(-1) as LinkRecord).id };
      }
      if (!out.LastEvaluatedKey) return { items };
      start = out.LastEvaluatedKey;
    }
  }

  async appendAudit(entry: AuditEntry): Promise<void> {
    // Entries at the same instant keep their order by a random suffix only loosely; `at` orders them.
    for (;;) {
      try {
        await this.#doc.send(
          new PutCommand({
            TableName: this.#table,
            Item: {
              pk: `LINK#${entry.linkId}`,
              sk: `AUDIT#${entry.at}#${randomBytes(6).toString('hex')}`,
              entry,
            },
            ConditionExpression: 'attribute_not_exists(pk)',
          }),
        );
        return;
      } catch (e) {
        if (!isConditionFailure(e)) throw e; // a suffix collision: pick another
      }
    }
  }

  async listAudit(linkId: string): Promise<AuditEntry[]> {
    const entries: AuditEntry[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const input: QueryCommandInput = {
        TableName: this.#table,
        KeyConditionExpression: 'pk = :p AND begins_with(sk, :a)',
        ExpressionAttributeValues: { ':p': `LINK#${linkId}`, ':a': 'AUDIT#' },
        ConsistentRead: true,
      };
      if (start) input.ExclusiveStartKey = start;
      const out = await this.#doc.send(new QueryCommand(input));
      for (const it of out.Items ?? []) entries.push(it.entry as AuditEntry);
      start = out.LastEvaluatedKey;
    } while (start);
    return entries;
  }

  async putToken(linkId: string, phase: WaitPhase, token: string): Promise<void> {
    await this.#doc.send(
      new PutCommand({ TableName: this.#table, Item: { pk: `LINK#${linkId}`, sk: `TOKEN#${phase}`, token } }),
    );
  }

  async takeToken(linkId: string, phase: WaitPhase): Promise<string | undefined> {
    const out = await this.#doc.send(
      new DeleteCommand({
        TableName: this.#table,
        Key: { pk: `LINK#${linkId}`, sk: `TOKEN#${phase}` },
        ReturnValues: 'ALL_OLD',
      }),
    );
    return out.Attributes?.token as string | undefined;
  }

  async putSealedKey(linkId: string, sealed: SealedKey): Promise<void> {
    await this.#doc.send(
      new PutCommand({ TableName: this.#table, Item: { pk: `LINK#${linkId}`, sk: 'SEALED', sealed } }),
    );
  }

  async getSealedKey(linkId: string): Promise<SealedKey | undefined> {
    const out = await this.#doc.send(
      new GetCommand({
        TableName: this.#table,
        Key: { pk: `LINK#${linkId}`, sk: 'SEALED' },
        ConsistentRead: true,
      }),
    );
    return out.Item?.sealed as SealedKey | undefined;
  }

  async claim(
    key: string,
    expiresAt: number,
    result: unknown,
  ): Promise<{ claimed: true } | { claimed: false; result: unknown }> {
    for (;;) {
      const now = this.#clock.now();
      try {
        await this.#doc.send(
          new PutCommand({
            TableName: this.#table,
            Item: claimItem(key, expiresAt, result),
            ConditionExpression: 'attribute_not_exists(pk) OR expiresAt <= :now',
            ExpressionAttributeValues: { ':now': now },
          }),
        );
        return { claimed: true };
      } catch (e) {
        if (!isConditionFailure(e)) throw e;
      }
      const out = await this.#doc.send(
        new GetCommand({
          TableName: this.#table,
          Key: { pk: `CLAIM#${key}`, sk: 'CLAIM' },
          ConsistentRead: true,
        }),
      );
      // Gone or expired between the put and the get: claim again.
      if (out.Item && (out.Item.expiresAt as number) > this.#clock.now())
        return { claimed: false, result: out.Item.result };
    }
  }

  async settle(key: string, expiresAt: number, result: unknown): Promise<void> {
    await this.#doc.send(
      new PutCommand({
        TableName: this.#table,
        Item: claimItem(key, expiresAt, result),
      }),
    );
  }
}

function linkKey(linkId: string) {
  return { pk: `LINK#${linkId}`, sk: 'LINK' };
}

function linkItem(link: LinkRecord, version: number) {
  return { ...linkKey(link.id), gsi1pk: 'LINKS', gsi1sk: link.id, state: link.state, link, version };
}

/** A claim's item: `ttl` lets a TTL policy delete it late; reads filter on `expiresAt`. */
function claimItem(key: string, expiresAt: number, result: unknown) {
  return {
    pk: `CLAIM#${key}`,
    sk: 'CLAIM',
    expiresAt,
    ttl: Math.ceil(expiresAt / 1000),
    result: result === undefined ? null : result,
  };
}
