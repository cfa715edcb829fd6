/**
 * The commanded side's fence on AWS (docs/dr-executor.md, "The commanded side on AWS"): the core
 * fence (functions/core/dr/commanded.ts `admitStored`, `recordStored`) kept in the links table, one
 * item per plan's service, written only over the version it was read at, so that two deliveries of a
 * command (an EventBridge retry, Lambda's async retry, the relay's second delivery) cannot both be
 * admitted:
 *
 * | pk                  | sk      | attributes                                                                 |
 * | ------------------- | ------- | -------------------------------------------------------------------------- |
 * | `DRFENCE#<service>` | `FENCE` | `version` (N), `fence` (JSON: the highest epoch admitted, the results, the refusals), `running` (JSON: `<epoch>#<index>` -> deadline of a command admitted whose hook has not answered) |
 *
 * - A command with a lower epoch than the fence's, or that arrives after its deadline, is refused
 *   and the refusal recorded (its result is `refused`).
 * - A command admitted once is `running` until its result is recorded; a delivery of it meanwhile is
 *   told so (`in-progress`: the invocation fails so that it is retried later), and one after its
 *   result gets the recorded result (`duplicate`) and runs nothing.
 * - A command whose hook never answered (the function died in it) is, once past its deadline,
 *   recorded as refused: the executor stopped waiting for it at that deadline and stalled.
 *
 * A write that loses the race (the item moved past the version read) reads the item again and decides
 * again, so the second of two deliveries at once sees the first admitted.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import {
  admitStored,
  type CommandedFence,
  type FenceAdmission,
  freshFence,
  recordStored,
  type StoredFence,
} from '#core/dr/commanded.ts';
import type { ActionCommand, ActionResult } from '#core/dr/executor.ts';
import type { FenceState } from '#core/dr/fence.ts';
import { ConflictError } from '#core/errors.ts';
import { isConditionFailure } from './link-store.ts';

const keyOf = (service: string) => ({ pk: `DRFENCE#${service}`, sk: 'FENCE' });
/** Conditional writes tried before giving up (the invocation's retry takes over). */
const RACE_RETRIES = 8;

export class DynamoDbDrFence implements CommandedFence {
  readonly #doc: DynamoDBDocumentClient;
  readonly #table: string;

  constructor(client: DynamoDBClient, table: string) {
    this.#doc = DynamoDBDocumentClient.from(client);
    this.#table = table;
  }

  async #read(service: string): Promise<{ stored: StoredFence; version: number }> {
    const out = await this.#doc.send(
      new GetCommand({ TableName: this.#table, Key: keyOf(service), ConsistentRead: true }),
    );
    const item = out.Item;
    if (!item) return { stored: freshFence(service), version: 0 };
    return {
      stored: {
        fence: JSON.parse(item.fence as string) as FenceState,
        running: JSON.parse((item.running as string | undefined) ?? '{}') as Record<string, string>,
      },
      version: item.version as number,
    };
  }

  /** Writes `next` over `version`; false when another writer moved the item first. */
  async #write(service: string, next: StoredFence, version: number): Promise<boolean> {
    try {
      await this.#doc.send(
        new PutCommand({
          TableName: this.#table,
          Item: {
            ...keyOf(service),
            version: version + 1,
            fence: JSON.stringify(next.fence),
            running: JSON.stringify(next.running),
          },
          ...(version === 0
            ? { ConditionExpression: 'attribute_not_exists(pk)' }
            : { ConditionExpression: 'version = :v', ExpressionAttributeValues: { ':v': version } }),
        }),
      );
      return true;
    } catch (e) {
      if (isConditionFailure(e)) return false;
      throw e;
    }
  }

  /** Decides against the item as read and writes the change over its version, again on a lost race. */
  async #update<T>(
    service: string,
    decide: (s: StoredFence) => { value: T; next?: StoredFence },
  ): Promise<T> {
    for (let attempt = 0; attempt < RACE_RETRIES; attempt++) {
      const { stored, version } = await this.#read(service);
      const { value, next } = decide(stored);
      if (!next || (await this.#write(service, next, version))) return value;
    }
    throw new ConflictError(`the DR fence of ${service} kept changing under ${RACE_RETRIES} writes`);
  }

  /** The fence as stored (a fresh one before the first command). */
  async read(service: string): Promise<FenceState> {
    return (await this.#read(service)).stored.fence;
  }

  /** Admits (or refuses, and records the refusal of) a command at `time`, in one conditional write. */
  admit(command: ActionCommand, time: string): Promise<FenceAdmission> {
    return this.#update(command.service, (s) => {
      const { admission, next } = admitStored(s, command, time);
      return { value: admission, ...(next && { next }) };
    });
  }

  /** Records the result of an admitted command, so that a redelivery gets it and runs nothing. */
  record(result: ActionResult): Promise<FenceState> {
    return this.#update(result.service, (s) => {
      const next = recordStored(s, result);
      return { value: next.fence, next };
    });
  }
}
