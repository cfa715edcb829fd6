/**
 * The AWS side's copy of the signal log, in the links table beside the links:
 *
 * | item        | pk                 | sk                                   | notes                          |
 * | ----------- | ------------------ | ------------------------------------ | ------------------------------ |
 * | observation | `DRSIG#<service>`  | `<ISO time, ms>#<vantage>#<signal>`  | `record`: the signal log line  |
 * | streaks     | `DRPROBE#<service>`| `<vantage>`                          | `streaks`: a probe's, by signal |
 * | control     | `DRCTL#<service>`  | `<sequence, 10 digits>`              | `record`: the control's line; `request`: its idempotency key |
 *
 * One item per observation: the same observation recorded twice (a relay redelivery) is kept once,
 * so the exported log replays exactly what was observed. Keys sort by time, so an export since a
 * time is one Query, already in the order `dr evaluate` needs. A vantage point's probe keeps its
 * streaks (failures in a row, last report) between scheduled runs in one item of its own.
 *
 * An operator's controls (pause, resume, approve: functions/core/dr/controls.ts) are numbered in the
 * order they were taken: the next one is written at the number after the last one read, only if no
 * item holds it (a conditional write). Two controls checked against the same log cannot both be
 * recorded: the second finds its number taken, reads again and is checked again. `records` merges
 * them with the observations in time order: the log the decider replays.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { type ControlLog, logRecords, type StoredControl } from '#core/dr/control-taking.ts';
import type { Observation, ProbeStreak } from '#core/dr/observations.ts';
import type { ControlRecord, DrRecord } from '#core/dr/signal-log.ts';
import type { ProbeStreakStore, SignalLogStore } from '#core/dr/vantage.ts';
import { isConditionFailure } from './link-store.ts';

/** Every key in one format (milliseconds, `Z`), so that keys sort as the times they hold. */
const sortable = (time: string) => new Date(time).toISOString();

export type { StoredControl };

export class DynamoDbSignalLog implements SignalLogStore, ProbeStreakStore, ControlLog {
  readonly #doc: DynamoDBDocumentClient;
  readonly #table: string;

  constructor(client: DynamoDBClient, table: string) {
    this.#doc = DynamoDBDocumentClient.from(client);
    this.#table = table;
  }

  /** Records each observation once (16 writes at a time); returns how many were new. */
  async record(observations: readonly Observation[]): Promise<number> {
    let added = 0;
    for (let i = 0; i < observations.length; i += 16) {
      const written = await Promise.all(observations.slice(i, i + 16).map((o) => this.#put(o)));
      added += written.filter(Boolean).length;
    }
    return added;
  }

  async #put(o: Observation): Promise<boolean> {
    try {
      await this.#doc.send(
        new PutCommand({
          TableName: this.#table,
          Item: {
            pk: `DRSIG#${o.service}`,
            sk: `${sortable(o.time)}#${o.vantage}#${o.signal}`,
            record: JSON.stringify(o),
          },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
      return true;
    } catch (e) {
      if (isConditionFailure(e)) return false;
      throw e;
    }
  }

  /** The service's observations at or after `since` (ms since the epoch), in time order. */
  async since(service: string, since = 0): Promise<Observation[]> {
    const out: Observation[] = [];
    let ExclusiveStartKey: Record<string, unknown> | undefined;
    do {
      const page = await this.#doc.send(
        new QueryCommand({
          TableName: this.#table,
          KeyConditionExpression: 'pk = :pk AND sk >= :since',
          ExpressionAttributeValues: { ':pk': `DRSIG#${service}`, ':since': new Date(since).toISOString() },
          // The decision hook reads what drSignals has just written.
          ConsistentRead: true,
          ExclusiveStartKey,
        }),
      );
      for (const item of page.Items ?? []) out.push(JSON.parse(item.record as string) as Observation);
      ExclusiveStartKey = page.LastEvaluatedKey;
    } while (ExclusiveStartKey);
    return out;
  }

  /** The service's operator controls, in the order they were recorded. */
  async controls(service: string): Promise<StoredControl[]> {
    const out: StoredControl[] = [];
    let ExclusiveStartKey: Record<string, unknown> | undefined;
    do {
      const page = await this.#doc.send(
        new QueryCommand({
          TableName: this.#table,
          KeyConditionExpression: 'pk = :pk',
          ExpressionAttributeValues: { ':pk': `DRCTL#${service}` },
          ConsistentRead: true,
          ExclusiveStartKey,
        }),
      );
      for (const item of page.Items ?? [])
        out.push({
          sequence: Number(item.sk),
          record: JSON.parse(item.record as string) as ControlRecord,
          ...(typeof item.request === 'string' && { request: item.request }),
        });
      ExclusiveStartKey = page.LastEvaluatedKey;
    } while (ExclusiveStartKey);
    return out;
  }

  /**
   * Records a control at `sequence` (one after the last read), only when no control holds that
   * number: false when another was recorded there first (read again, check again).
   */
  async recordControl(sequence: number, record: ControlRecord, request?: string): Promise<boolean> {
    try {
      await this.#doc.send(
        new PutCommand({
          TableName: this.#table,
          Item: {
            pk: `DRCTL#${record.service}`,
            sk: String(sequence).padStart(10, '0'),
            record: JSON.stringify(record),
            ...(request !== undefined && { request }),
          },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
      return true;
    } catch (e) {
      if (isConditionFailure(e)) return false;
      throw e;
    }
  }

  /**
   * The service's log as the decider replays it, at or after `since` (ms): observations and controls,
   * in time order. The observations are one Query of that window; the controls, an operator's few,
   * are read whole and the earlier ones left out.
   */
  records(service: string, since = 0): Promise<DrRecord[]> {
    return logRecords(this, service, since);
  }

  /** A vantage point's probe streaks from its last run (none before its first). */
  async streaks(service: string, vantage: string): Promise<Record<string, ProbeStreak>> {
    const { Item } = await this.#doc.send(
      new GetCommand({
        TableName: this.#table,
        Key: { pk: `DRPROBE#${service}`, sk: vantage },
        ConsistentRead: true,
      }),
    );
    return Item ? (JSON.parse(Item.streaks as string) as Record<string, ProbeStreak>) : {};
  }

  async keepStreaks(service: string, vantage: string, streaks: Record<string, ProbeStreak>): Promise<void> {
    await this.#doc.send(
      new PutCommand({
        TableName: this.#table,
        Item: { pk: `DRPROBE#${service}`, sk: vantage, streaks: JSON.stringify(streaks) },
      }),
    );
  }
}
