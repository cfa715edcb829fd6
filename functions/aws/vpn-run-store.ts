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
 * | undrain claim | `VPNLINK#<linkId>` | `UNDRAIN#<key>`              | `claim` (JSON): the drains one weakening undoes (`undrainClaimKey`) |
 *
 * The run's claim and a weakening's undrain claim are puts-if-absent. A result keeps its `outcome`
 * beside the JSON, which the put's condition reads (a `changed` answer is not overwritten by
 * another); a drain keeps its `runId` and `drainedAt`, which moving it compares. A prod delete's approval wait shares the
 * run's partition (`APPROVAL#<vpnId>`, vpn-approvals.ts).
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  DeleteCommand,
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  type PutCommandInput,
  QueryCommand,
  type QueryCommandInput,
} from '@aws-sdk/lib-dynamodb';
import type { RunDrain, RunEntry } from '#core/vpn/run.ts';
import {
  type UndrainClaim,
  undrainClaimKey,
  type VpnRunHeader,
  type VpnRunResult,
  type VpnRunStore,
} from '#core/vpn/run-steps.ts';
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
        KeyConditionExpression: 'pk = :p AND begins_with(sk, :v)',
        ExpressionAttributeValues: { ':p': `VPNLINK#${linkId}`, ':v': 'VPN#' },
        ConsistentRead: true,
      },
      'drain',
    );
  }

  #drainItem(d: RunDrain) {
    return {
      pk: `VPN#${d.vpnConnectionId}`,
      sk: 'RUN-DRAIN',
      gsi1pk: 'VPNDRAINS',
      gsi1sk: d.vpnConnectionId,
      runId: d.runId,
      drainedAt: d.drainedAt,
      drain: JSON.stringify(d),
    };
  }

  async putDrain(d: RunDrain): Promise<void> {
    await this.#doc.send(new PutCommand({ TableName: this.#table, Item: this.#drainItem(d) }));
    for (const linkId of d.links)
      await this.#doc.send(
        new PutCommand({
          TableName: this.#table,
          Item: { pk: `VPNLINK#${linkId}`, sk: `VPN#${d.vpnConnectionId}`, drain: JSON.stringify(d) },
        }),
      );
  }

  async moveDrain(vpnId: string, runId: string, drainedAt: string): Promise<boolean> {
    const out = await this.#doc.send(
      new GetCommand({
        TableName: this.#table,
        Key: { pk: `VPN#${vpnId}`, sk: 'RUN-DRAIN' },
        ConsistentRead: true,
      }),
    );
    const text = out.Item?.drain;
    if (typeof text !== 'string') return false;
    const d = JSON.parse(text) as RunDrain;
    if (d.runId !== runId || Date.parse(drainedAt) <= Date.parse(d.drainedAt)) return false;
    const moved: RunDrain = { ...d, drainedAt };
    const put = (
      condition: Pick<PutCommandInput, 'Item' | 'ConditionExpression'> & Partial<PutCommandInput>,
    ) =>
      this.#doc.send(new PutCommand({ TableName: this.#table, ...condition })).then(
        () => true,
        (e: unknown) => {
          if (isConditionFailure(e)) return false;
          throw e;
        },
      );
    // Only over the drain read: cleared or written again since, it stays as it is now.
    const written = await put({
      Item: this.#drainItem(moved),
      ConditionExpression: '#d = :read',
      ExpressionAttributeNames: { '#d': 'drain' },
      ExpressionAttributeValues: { ':read': text },
    });
    if (!written) return false;
    for (const linkId of d.links)
      await put({
        Item: { pk: `VPNLINK#${linkId}`, sk: `VPN#${vpnId}`, drain: JSON.stringify(moved) },
        ConditionExpression: 'attribute_exists(pk)',
      });
    return true;
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

  async claimUndrain(
    c: UndrainClaim,
  ): Promise<{ claimed: true } | { claimed: false; existing: UndrainClaim }> {
    const Key = { pk: `VPNLINK#${c.linkId}`, sk: `UNDRAIN#${undrainClaimKey(c.drains)}` };
    try {
      await this.#doc.send(
        new PutCommand({
          TableName: this.#table,
          Item: { ...Key, claim: JSON.stringify(c) },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
      return { claimed: true };
    } catch (e) {
      if (!isConditionFailure(e)) throw e;
      const out = await this.#doc.send(new GetCommand({ TableName: this.#table, Key, ConsistentRead: true }));
      if (typeof out.Item?.claim !== 'string') throw e;
      return { claimed: false, existing: JSON.parse(out.Item.claim) as UndrainClaim };
    }
  }

  undrainClaims(linkId: string): Promise<UndrainClaim[]> {
    return this.#query<UndrainClaim>(
      {
        KeyConditionExpression: 'pk = :p AND begins_with(sk, :u)',
        ExpressionAttributeValues: { ':p': `VPNLINK#${linkId}`, ':u': 'UNDRAIN#' },
        ConsistentRead: true,
      },
      'claim',
    );
  }

  async putResult(runId: string, r: VpnRunResult): Promise<boolean> {
    try {
      await this.#doc.send(
        new PutCommand({
          TableName: this.#table,
          Item: {
            pk: `VPNRUN#${runId}`,
            sk: `RESULT#${r.vpnId}#${r.action}#${r.side}`,
            outcome: r.outcome,
            result: JSON.stringify(r),
          },
          ...(r.outcome === 'changed'
            ? {}
            : {
                ConditionExpression: 'attribute_not_exists(pk) OR outcome <> :changed',
                ExpressionAttributeValues: { ':changed': 'changed' },
              }),
        }),
      );
      return true;
    } catch (e) {
      if (isConditionFailure(e)) return false;
      throw e;
    }
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
