/**
 * The AWS store of prod VPN delete requests and approvals (docs/vpn-runs.md "Approval of a delete"),
 * in the links table: one item per run and VPN, `pk = VPNRUN#<runId>`, `sk = APPROVAL#<vpnId>`, with
 * `request` (the delete the vpn-half state machine waits to do, as JSON), `approval` (what the intake
 * recorded, as JSON) and, while an execution waits, its task `token`, `execution` and `waitUntil`
 * (the wait's deadline, epoch ms). Recording an approval answers the waiting execution's token, so
 * the state machine resumes and deletes; at the wait's deadline a recorded approval is applied too.
 */
import { type DynamoDBClient, GetItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import type { Clock } from '#core/clock.ts';
import { UnavailableError } from '#core/errors.ts';
import { retryable, tokenGone } from '#core/link/waits.ts';
import type { VpnApprovalStore, VpnDeleteApproval, VpnDeleteRequest } from '#core/vpn/approval.ts';

/** An execution that waits for a delete's approval: where its task token is kept. */
export interface VpnDeleteWait {
  request: VpnDeleteRequest;
  token: string;
  /** The waiting execution's ARN (the one that may clear the wait at its deadline). */
  execution: string;
  /** The wait's deadline (epoch ms): after it, another execution may wait instead. */
  waitUntil: number;
}

/** What the wait found: parked, another execution already waiting, or an approval already given. */
export type ParkOutcome =
  | { parked: true; approval?: VpnDeleteApproval }
  | { parked: false; waitingIn: string };

/** Answers a waiting execution's task token (Step Functions SendTaskSuccess). */
export type Resume = (token: string, output: unknown) => Promise<void>;

const key = (runId: string, vpnId: string) => ({
  pk: { S: `VPNRUN#${runId}` },
  sk: { S: `APPROVAL#${vpnId}` },
});

const parsed = <T>(v: { S?: string } | undefined): T | undefined =>
  v?.S === undefined ? undefined : (JSON.parse(v.S) as T);

export class DynamoDbVpnApprovals implements VpnApprovalStore {
  readonly #client: DynamoDBClient;
  readonly #table: string;
  readonly #clock: Clock;
  readonly #resume: Resume | undefined;
  /** `resume` answers a waiting execution when an approval is recorded (the intake's; the step needs none). */
  constructor(client: DynamoDBClient, table: string, o: { clock: Clock; resume?: Resume }) {
    this.#client = client;
    this.#table = table;
    this.#clock = o.clock;
    this.#resume = o.resume;
  }

  async #item(runId: string, vpnId: string) {
    const out = await this.#client.send(
      new GetItemCommand({ TableName: this.#table, Key: key(runId, vpnId), ConsistentRead: true }),
    );
    return out.Item;
  }

  async request(runId: string, vpnId: string): Promise<VpnDeleteRequest | undefined> {
    return parsed((await this.#item(runId, vpnId))?.request);
  }

  async approval(runId: string, vpnId: string): Promise<VpnDeleteApproval | undefined> {
    return parsed((await this.#item(runId, vpnId))?.approval);
  }

  async recordRequest(r: VpnDeleteRequest): Promise<void> {
    await this.#client.send(
      new UpdateItemCommand({
        TableName: this.#table,
        Key: key(r.runId, r.vpnId),
        UpdateExpression: 'SET #request = :r',
        ExpressionAttributeNames: { '#request': 'request' },
        ExpressionAttributeValues: { ':r': { S: JSON.stringify(r) } },
      }),
    );
  }

  /**
   * Records the approval, then answers the waiting execution's token if its wait is still on, so it
   * resumes and deletes. The token is removed only once answered (or found gone: the execution
   * ended): a resume that fails for now (throttled, unavailable) leaves it, and the approval,
   * recorded, so approving again resumes the execution, and the wait's deadline applies the recorded
   * approval if nobody does (the step's `expired` path checks it).
   */
  async recordApproval(runId: string, vpnId: string, a: VpnDeleteApproval): Promise<void> {
    const out = await this.#client.send(
      new UpdateItemCommand({
        TableName: this.#table,
        Key: key(runId, vpnId),
        UpdateExpression: 'SET #approval = :a',
        ExpressionAttributeNames: { '#approval': 'approval' },
        ExpressionAttributeValues: { ':a': { S: JSON.stringify(a) } },
        ReturnValues: 'ALL_NEW',
      }),
    );
    const token = out.Attributes?.token?.S;
    const until = Number(out.Attributes?.waitUntil?.N ?? 0);
    if (!token || until <= this.#clock.now() || !this.#resume) return;
    try {
      await this.#resume(token, { runId, vpnId, approvedBy: a.approver });
    } catch (e) {
      if (!tokenGone(e)) {
        if (!retryable(e)) throw e;
        throw new UnavailableError(
          `the approval of the delete of ${vpnId} in run ${runId} is recorded, but the execution waiting for it could not be resumed now (${(e as Error).name}): approve again to resume it, or it is applied at the wait's deadline`,
        );
      }
    }
    await this.#forgetToken(runId, vpnId, token);
  }

  /** Removes an answered token (only that one: a later execution may wait with its own). */
  #forgetToken(runId: string, vpnId: string, token: string): Promise<void> {
    return this.#clearWait(runId, vpnId, 'token', token);
  }

  /**
   * Parks an execution's token for a delete, unless another execution still waits for the same
   * one (a repeated command: it does not wait twice). The request is recorded with it, so an
   * approver can approve it; an approval already recorded comes back with the answer (it came
   * before the token, and the caller decides whether it approves this command).
   */
  async park(w: VpnDeleteWait): Promise<ParkOutcome> {
    try {
      const out = await this.#client.send(
        new UpdateItemCommand({
          TableName: this.#table,
          Key: key(w.request.runId, w.request.vpnId),
          UpdateExpression: 'SET #request = :r, #token = :t, #execution = :x, #waitUntil = :u',
          ConditionExpression: 'attribute_not_exists(#token) OR #waitUntil <= :now OR #execution = :x',
          ExpressionAttributeNames: {
            '#request': 'request',
            '#token': 'token',
            '#execution': 'execution',
            '#waitUntil': 'waitUntil',
          },
          ExpressionAttributeValues: {
            ':r': { S: JSON.stringify(w.request) },
            ':t': { S: w.token },
            ':x': { S: w.execution },
            ':u': { N: String(w.waitUntil) },
            ':now': { N: String(this.#clock.now()) },
          },
          ReturnValues: 'ALL_NEW',
        }),
      );
      const approval = parsed<VpnDeleteApproval>(out.Attributes?.approval);
      return approval ? { parked: true, approval } : { parked: true };
    } catch (e) {
      if ((e as { name?: string })?.name !== 'ConditionalCheckFailedException') throw e;
      const item = await this.#item(w.request.runId, w.request.vpnId);
      return { parked: false, waitingIn: item?.execution?.S ?? 'another execution' };
    }
  }

  /** Ends an execution's wait at its deadline: its token is removed (only that execution's). */
  unpark(runId: string, vpnId: string, execution: string): Promise<void> {
    return this.#clearWait(runId, vpnId, 'execution', execution);
  }

  /** Removes the wait (token, execution, deadline) if `field` still holds `value`. */
  async #clearWait(runId: string, vpnId: string, field: 'token' | 'execution', value: string): Promise<void> {
    try {
      await this.#client.send(
        new UpdateItemCommand({
          TableName: this.#table,
          Key: key(runId, vpnId),
          UpdateExpression: 'REMOVE #token, #execution, #waitUntil',
          ConditionExpression: `#${field} = :v`,
          ExpressionAttributeNames: {
            '#token': 'token',
            '#execution': 'execution',
            '#waitUntil': 'waitUntil',
          },
          ExpressionAttributeValues: { ':v': { S: value } },
        }),
      );
    } catch (e) {
      if ((e as { name?: string })?.name !== 'ConditionalCheckFailedException') throw e;
    }
  }
}
