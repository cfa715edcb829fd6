/**
 * The VPN runs' records in the links table (docs/vpn-runs.md, "The run"):
 *
 * | item          | pk                 | sk                           | notes                                      |
 * | ------------- | ------------------ | ---------------------------- | ------------------------------------------ |
 * | run           | `VPNRUN#<runId>`   | `RUN`                        | `header` (JSON); `gsi1pk = VPNRUNS`, `gsi1sk = <scheduledAt> <runId>` |
 * | page          | `VPNRUN#<runId>`   | `PAGE#<nnnn>`                | `entries` (JSON): the planned VPNs of one page |
 * | result        | `VPNRUN#<runId>`   | `RESULT#<vpnId>#<action>#<side>` | `result` (JSON): a half's answer        |
 * | drain         | `VPN#<vpnId>`      | `RUN-DRAIN`                  | `drain` (JSON); `gsi1pk = VPNDRAINS`, `gsi1sk = <vpnId>` |
 * | drain by link | `VPNLINK#<linkId>` | `VPN#<vpnId>`                | `drain` (JSON): what a link's weakening undrains |
 *
 * The run's claim is a put-if-absent of its `RUN` item. A prod delete's approval wait shares the
 * run's partition (`APPROVAL#<vpnId>`, vpn-approvals.ts).
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  DeleteCommand,
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  type QueryCommandInput,
} from '@aws-sdk/lib-dynamodb';
import type { RunDrain, RunEntry } from '#core/vpn/run.ts';
import type { VpnRunHeader, VpnRunResult, VpnRunStore } from '#core/vpn/run-steps.ts';
import { isConditionFailure } from './link-store.ts';

const runKey = (runId: string) => ({ pk: `VPNRUN#${runId}`, sk: 'RUN' });
const pageKey = (runId: string, page: number) => ({
  pk: `VPNRUN#${runId}`,
  sk: `PAGE#${String(page).padStart(4, '0')}`,
});

export class DynamoDbVpnRuns implements VpnRunStore {
  readonly #doc: DynamoDBDocumentClient;
  readonly #table: string;
  constructor(client: DynamoDBClient, table: string) {
    this.#doc = DynamoDBDocumentClient.from(client);
    this.#table = table;
  }

  #headerItem(h: VpnRunHeader) {
    return {
      ...runKey(h.runId),
      gsi1pk: 'VPNRUNS',
      gsi1sk: `${h.scheduledAt} ${h.runId}`,
      status: h.status,
      header: JSON.stringify(h),
    };
  }

  async claim(h: VpnRunHeader): Promise<{ claimed: true } | { claimed: false; existing: VpnRunHeader }> {
    try {
      await this.#doc.send(
        new PutCommand({
          TableName: this.#table,
          Item: this.#headerItem(h),
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
      return { claimed: true };
    } catch (e) {
      if (!isConditionFailure(e)) throw e;
      const existing = await this.header(h.runId);
      if (!existing) throw e;
      return { claimed: false, existing };
    }
  }

  async header(runId: string): Promise<VpnRunHeader | undefined> {
    const out = await this.#doc.send(
      new GetCommand({ TableName: this.#table, Key: runKey(runId), ConsistentRead: true }),
    );
    return out.Item ? (JSON.parse(out.Item.header as string) as VpnRunHeader) : undefined;
  }

  async saveHeader(h: VpnRunHeader): Promise<void> {
    await this.#doc.send(new PutCommand({ TableName: this.#table, Item: this.#headerItem(h) }));
  }

  async savePage(runId: string, page: number, entries: readonly RunEntry[]): Promise<void> {
    await this.#doc.send(
      new PutCommand({
        TableName: this.#table,
        Item: { ...pageKey(runId, page), entries: JSON.stringify(entries) },
      }),
    );
  }

  async page(runId: string, page: number): Promise<RunEntry[] | undefined> {
    const out = await this.#doc.send(
      new GetCommand({ TableName: this.#table, Key: pageKey(runId, page), ConsistentRead: true }),
    );
    return out.Item ? (JSON.parse(out.Item.entries as string) as RunEntry[]) : undefined;
  }

  async #query<T>(input: Omit<QueryCommandInput, 'TableName'>, field: string): Promise<T[]> {
    const out: T[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const page = await this.#doc.send(
        new QueryCommand({ TableName: this.#table, ...input, ExclusiveStartKey: start }),
      );
      for (const item of page.Items ?? []) out.push(JSON.parse(item[field] as string) as T);
      start = page.LastEvaluatedKey;
    } while (start);
    return out;
  }

  drains(): Promise<RunDrain[]> {
    return this.#query<RunDrain>(
      {
        IndexName: 'gsi1',
        KeyConditionExpression: 'gsi1pk = :p',
        ExpressionAttributeValues: { ':p': 'VPNDRAINS' },
      },
      'drain',
    );
  }

  drainsOfLink(linkId: string): Promise<RunDrain[]> {
    return this.#query<RunDrain>(
      {
        KeyConditionExpression: 'pk = :p',
        ExpressionAttributeValues: { ':p': `VPNLINK#${linkId}` },
        ConsistentRead: true,
      },
      'drain',
    );
  }

  async putDrain(d: RunDrain): Promise<void> {
    const drain = JSON.stringify(d);
    await this.#doc.send(
      new PutCommand({
        TableName: this.#table,
        Item: {
          pk: `VPN#${d.vpnConnectionId}`,
          sk: 'RUN-DRAIN',
          gsi1pk: 'VPNDRAINS',
          gsi1sk: d.vpnConnectionId,
          drain,
        },
      }),
    );
    for (const linkId of d.links)
      await this.#doc.send(
        new PutCommand({
          TableName: this.#table,
          Item: { pk: `VPNLINK#${linkId}`, sk: `VPN#${d.vpnConnectionId}`, drain },
        }),
      );
  }

  async clearDrain(d: RunDrain): Promise<void> {
    for (const linkId of d.links)
      await this.#doc.send(
        new DeleteCommand({
          TableName: this.#table,
          Key: { pk: `VPNLINK#${linkId}`, sk: `VPN#${d.vpnConnectionId}` },
        }),
      );
    await this.#doc.send(
      new DeleteCommand({ TableName: this.#table, Key: { pk: `VPN#${d.vpnConnectionId}`, sk: 'RUN-DRAIN' } }),
    );
  }

  async putResult(runId: string, r: VpnRunResult): Promise<void> {
    await this.#doc.send(
      new PutCommand({
        TableName: this.#table,
        Item: {
          pk: `VPNRUN#${runId}`,
          sk: `RESULT#${r.vpnId}#${r.action}#${r.side}`,
          result: JSON.stringify(r),
        },
      }),
    );
  }

  async result(
    runId: string,
    k: Pick<VpnRunResult, 'vpnId' | 'action' | 'side'>,
  ): Promise<VpnRunResult | undefined> {
    const out = await this.#doc.send(
      new GetCommand({
        TableName: this.#table,
        Key: { pk: `VPNRUN#${runId}`, sk: `RESULT#${k.vpnId}#${k.action}#${k.side}` },
        ConsistentRead: true,
      }),
    );
    const text = out.Item?.result;
    return typeof text === 'string' ? (JSON.parse(text) as VpnRunResult) : undefined;
  }

  results(runId: string): Promise<VpnRunResult[]> {
    return this.#query<VpnRunResult>(
      {
        KeyConditionExpression: 'pk = :p AND begins_with(sk, :r)',
        ExpressionAttributeValues: { ':p': `VPNRUN#${runId}`, ':r': 'RESULT#' },
        ConsistentRead: true,
      },
      'result',
    );
  }

  async list(limit: number, cursor?: string): Promise<{ items: VpnRunHeader[]; cursor?: string }> {
    const out = await this.#doc.send(
      new QueryCommand({
        TableName: this.#table,
        IndexName: 'gsi1',
        KeyConditionExpression: 'gsi1pk = :p',
        ExpressionAttributeValues: { ':p': 'VPNRUNS' },
        ScanIndexForward: false,
        Limit: limit,
        ...(cursor ? { ExclusiveStartKey: JSON.parse(cursor) as Record<string, unknown> } : {}),
      }),
    );
    const items = (out.Items ?? []).map((i) => JSON.parse(i.header as string) as VpnRunHeader);
    return out.LastEvaluatedKey ? { items, cursor: JSON.stringify(out.LastEvaluatedKey) } : { items };
  }
}
