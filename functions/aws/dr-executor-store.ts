/**
 * The DR executor's state on AWS (docs/dr-executor.md, "The executor's state"), in the links table:
 *
 * | item    | pk                  | sk                          | notes                                          |
 * | ------- | ------------------- | --------------------------- | ---------------------------------------------- |
 * | head    | `DREXEC#<service>`  | `HEAD`                      | `epoch` (N): the claimed epoch; `owner`: the execution that claimed it; `version` (N); `finished` (BOOL); `run` (JSON) |
 * | run     | `DREXEC#<service>`  | `RUN#<epoch, 10 digits>`    | `run` (JSON): a finished run, kept once the next one starts |
 * | refusal | `DREXEC#<service>`  | `REFUSED#<time>#<epoch>`    | `refusal` (JSON): a claim refused, and why     |
 * | decided | `DREXEC#<service>`  | `DECIDED`                   | `decidedAt`, `decidedEpoch` (N): the last decision handed on |
 * | checkpoint | `DREXEC#<service>` | `CHECKPOINT`             | `at` (N, ms), `plan` (fingerprint), `state` (JSON): the decider's state at `at` |
 *
 * The head holds the plan's claimed epoch and its current run in one item, so that DynamoDB's
 * conditional write fences both at once (the local cloud's DynamoDB, like dynalite, has no
 * transactions, and none is needed):
 * - **claim**: the head is written only when there is none, or when its epoch is below the new one
 *   and its run is finished. Two invocations holding the same decision cannot both start a run; a
 *   duplicate or stale decision, or one that comes while a run is open, is refused and recorded. The
 *   execution that claimed the epoch (`owner`) finds its run again when it claims it once more (a
 *   retried task whose first answer was lost).
 * - **save**: each advance of the run is written only over the version it was read at (the owner
 *   kept); a writer that lost the race reads the run again. The stored epoch follows the run's (an
 *   approval raises it).
 *
 * The interface both clouds' stores share: functions/core/dr/executor-store.ts.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { type Decided, isAfter } from '#core/dr/decision-hook.ts';
import { claimIssue, isFinished, type Run } from '#core/dr/executor.ts';
import type { Claim, DrExecutorStore, Refusal, StoredRun } from '#core/dr/executor-store.ts';
import type { DeciderCheckpoint } from '#core/dr/failover-decider.ts';
import { ConflictError } from '#core/errors.ts';
import { isConditionFailure } from './link-store.ts';

const pk = (service: string) => `DREXEC#${service}`;
const headKey = (service: string) => ({ pk: pk(service), sk: 'HEAD' });
const padEpoch = (epoch: number) => String(epoch).padStart(10, '0');
/** Every time in one format (milliseconds, `Z`), so that stored times compare as the times they hold. */
const sortable = (time: string) => new Date(time).toISOString();

/** A save over a version that is no longer the stored one: another writer advanced the run. */
export class RunVersionConflict extends ConflictError {
  override name = 'RunVersionConflict';
}

export class DynamoDbDrExecutorStore implements DrExecutorStore {
  readonly #doc: DynamoDBDocumentClient;
  readonly #table: string;

  constructor(client: DynamoDBClient, table: string) {
    this.#doc = DynamoDBDocumentClient.from(client);
    this.#table = table;
  }

  #head(run: Run, version: number, owner: string) {
    return {
      ...headKey(run.service),
      epoch: run.epoch,
      owner,
      version,
      finished: isFinished(run),
      status: run.status,
      run: JSON.stringify(run),
    };
  }

  /** The claimed epoch of the service's plan, or null before its first claim. */
  async epoch(service: string): Promise<number | null> {
    const head = await this.#readHead(service);
    return head ? (head.epoch as number) : null;
  }

  /** The current (or last) run with its version, or undefined before the first claim. */
  async current(service: string): Promise<StoredRun | undefined> {
    const head = await this.#readHead(service);
    return head ? { run: JSON.parse(head.run as string) as Run, version: head.version as number } : undefined;
  }

  async #readHead(service: string): Promise<Record<string, unknown> | undefined> {
    const out = await this.#doc.send(
      new GetCommand({ TableName: this.#table, Key: headKey(service), ConsistentRead: true }),
    );
    return out.Item;
  }

  /**
   * Claims the run's epoch for `owner` and stores the run as current: only above the stored epoch,
   * and only when the run before it is finished. The owner that holds this epoch already gets its
   * run back (`again`). A refusal is recorded (with `time`) and returned with its reason.
   */
  async claim(run: Run, time: string, owner: string): Promise<Claim> {
    const invalid = claimIssue(null, run.epoch);
    if (invalid) return { claimed: false, refusal: await this.#refuse(run, time, invalid) };
    try {
      await this.#doc.send(
        new PutCommand({
          TableName: this.#table,
          Item: this.#head(run, 1, owner),
          ConditionExpression: 'attribute_not_exists(pk) OR (epoch < :e AND finished = :t)',
          ExpressionAttributeValues: { ':e': run.epoch, ':t': true },
        }),
      );
      return { claimed: true, stored: { run, version: 1 } };
    } catch (e) {
      if (!isConditionFailure(e)) throw e;
    }
    const head = await this.#readHead(run.service);
    if (head && head.owner === owner && head.epoch === run.epoch)
      return {
        claimed: true,
        stored: { run: JSON.parse(head.run as string) as Run, version: head.version as number },
        again: true,
      };
    const stored = head && { run: JSON.parse(head.run as string) as Run };
    const reason =
      claimIssue(stored?.run.epoch ?? null, run.epoch) ??
      `the run of epoch ${stored?.run.epoch} is ${stored?.run.status}: one run at a time, the decision is not taken`;
    return { claimed: false, refusal: await this.#refuse(run, time, reason) };
  }

  async #refuse(run: Run, time: string, reason: string): Promise<Refusal> {
    const refusal: Refusal = { service: run.service, epoch: run.epoch, time, reason };
    await this.#doc.send(
      new PutCommand({
        TableName: this.#table,
        Item: {
          pk: pk(run.service),
          sk: `REFUSED#${sortable(time)}#${padEpoch(run.epoch)}`,
          refusal: JSON.stringify(refusal),
        },
      }),
    );
    return refusal;
  }

  /**
   * Stores an advance of the run over the version it was read at; returns the new version. A
   * finished run is also kept under its own epoch, so that the next claim does not lose it.
   * Throws RunVersionConflict when the stored version is another (a concurrent advance won).
   */
  async save(run: Run, version: number): Promise<StoredRun> {
    try {
      // An update, not a put: the head keeps the owner that claimed it.
      await this.#doc.send(
        new UpdateCommand({
          TableName: this.#table,
          Key: headKey(run.service),
          UpdateExpression: 'SET epoch = :e, version = :n, finished = :f, #status = :s, run = :r',
          ConditionExpression: 'version = :v AND epoch <= :e',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: {
            ':v': version,
            ':e': run.epoch,
            ':n': version + 1,
            ':f': isFinished(run),
            ':s': run.status,
            ':r': JSON.stringify(run),
          },
        }),
      );
    } catch (e) {
      if (!isConditionFailure(e)) throw e;
      throw new RunVersionConflict(
        `the ${run.service} run of epoch ${run.epoch} is no longer at version ${version}: another advance was stored first`,
      );
    }
    if (isFinished(run))
      await this.#doc.send(
        new PutCommand({
          TableName: this.#table,
          Item: { pk: pk(run.service), sk: `RUN#${padEpoch(run.epoch)}`, run: JSON.stringify(run) },
        }),
      );
    return { run, version: version + 1 };
  }

  /** The time of the last decision handed on to the executor (DrDecisionMade, a run started), or null. */
  async decidedAt(service: string): Promise<Decided | null> {
    const out = await this.#doc.send(
      new GetCommand({
        TableName: this.#table,
        Key: { pk: pk(service), sk: 'DECIDED' },
        ConsistentRead: true,
      }),
    );
    if (!out.Item) return null;
    // An item kept before the epoch was: 0, so a decision at its time with any epoch is taken again.
    return { time: out.Item.decidedAt as string, epoch: (out.Item.decidedEpoch as number | undefined) ?? 0 };
  }

  /**
   * The decider's kept state (failover-decider.ts `decisionsSince`), or null before the first or when
   * it was kept under another plan (`plan`: the plan's fingerprint; a redeployed plan's settings or
   * sides would not match the state folded under the old one).
   */
  async checkpoint(service: string, plan: string): Promise<DeciderCheckpoint | null> {
    const out = await this.#doc.send(
      new GetCommand({
        TableName: this.#table,
        Key: { pk: pk(service), sk: 'CHECKPOINT' },
        ConsistentRead: true,
      }),
    );
    return out.Item && out.Item.plan === plan
      ? { at: out.Item.at as number, state: JSON.parse(out.Item.state as string) }
      : null;
  }

  /**
   * Keeps the decider's state at a later time than the one stored: false when a writer kept one at
   * the same time or later (two invocations fold the same records up to it).
   */
  async keepCheckpoint(service: string, plan: string, checkpoint: DeciderCheckpoint): Promise<boolean> {
    try {
      await this.#doc.send(
        new PutCommand({
          TableName: this.#table,
          Item: {
            pk: pk(service),
            sk: 'CHECKPOINT',
            at: checkpoint.at,
            plan,
            state: JSON.stringify(checkpoint.state),
          },
          // Forward only, or over one kept under another plan.
          ConditionExpression: 'attribute_not_exists(pk) OR #at < :at OR #plan <> :plan',
          ExpressionAttributeNames: { '#at': 'at', '#plan': 'plan' },
          ExpressionAttributeValues: { ':at': checkpoint.at, ':plan': plan },
        }),
      );
      return true;
    } catch (e) {
      if (isConditionFailure(e)) return false;
      throw e;
    }
  }

  /**
   * Moves the last decision handed on from `previous` (as read) to `next`: false when another writer
   * moved it first (it handed the same decisions on) or `next` does not come after it.
   */
  async markDecided(service: string, previous: Decided | null, next: Decided): Promise<boolean> {
    if (!isAfter(next, previous)) return false;
    try {
      await this.#doc.send(
        new PutCommand({
          TableName: this.#table,
          Item: { pk: pk(service), sk: 'DECIDED', decidedAt: sortable(next.time), decidedEpoch: next.epoch },
          ...(previous === null
            ? { ConditionExpression: 'attribute_not_exists(pk)' }
            : {
                ConditionExpression:
                  'decidedAt = :p AND (decidedEpoch = :e OR (attribute_not_exists(decidedEpoch) AND :e = :zero))',
                ExpressionAttributeValues: {
                  ':p': sortable(previous.time),
                  ':e': previous.epoch,
                  ':zero': 0,
                },
              }),
        }),
      );
      return true;
    } catch (e) {
      if (isConditionFailure(e)) return false;
      throw e;
    }
  }

  async #query<T>(service: string, prefix: string, field: string): Promise<T[]> {
    const out: T[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const page = await this.#doc.send(
        new QueryCommand({
          TableName: this.#table,
          KeyConditionExpression: 'pk = :p AND begins_with(sk, :s)',
          ExpressionAttributeValues: { ':p': pk(service), ':s': prefix },
          ConsistentRead: true,
          ExclusiveStartKey: start,
        }),
      );
      for (const item of page.Items ?? []) out.push(JSON.parse(item[field] as string) as T);
      start = page.LastEvaluatedKey;
    } while (start);
    return out;
  }

  /** The finished runs, oldest first. */
  finishedRuns(service: string): Promise<Run[]> {
    return this.#query<Run>(service, 'RUN#', 'run');
  }

  /** The refused claims, in time order. */
  refusals(service: string): Promise<Refusal[]> {
    return this.#query<Refusal>(service, 'REFUSED#', 'refusal');
  }
}
