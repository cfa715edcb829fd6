/**
 * The AWS half of a VPN action (docs/vpn-runs.md), in the VPN's AWS region (the command's
 * `awsRegion`, one of the policy's): reads the VPN connection, its Transit Gateway
 * attachment and that attachment's route-table propagations from EC2, lets the core decide
 * (functions/core/vpn/half.ts), applies the operations, marks the VPN with the run it applied, and
 * puts the result event on the bus. A drain is the attachment's propagation disabled in each Transit
 * Gateway route table it propagated to (EnableTransitGatewayRouteTablePropagation undoes it); a VPN on
 * a virtual private gateway is left to Google's half (DisableVgwRoutePropagation would withdraw every
 * route of the gateway, the link's included). Delete is DeleteVpnConnection, then
 * DeleteCustomerGateway when no other VPN connection uses the customer gateway.
 */
import { DynamoDBClient, GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import {
  CreateTagsCommand,
  DeleteCustomerGatewayCommand,
  DeleteTagsCommand,
  DeleteVpnConnectionCommand,
  DescribeCustomerGatewaysCommand,
  DescribeTransitGatewayAttachmentsCommand,
  DescribeTransitGatewayRouteTablesCommand,
  DescribeVpnConnectionsCommand,
  DisableTransitGatewayRouteTablePropagationCommand,
  EC2Client,
  EnableTransitGatewayRouteTablePropagationCommand,
  GetTransitGatewayRouteTablePropagationsCommand,
  type VpnConnection,
} from '@aws-sdk/client-ec2';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { type Clock, systemClock } from '#core/clock.ts';
import { type Origin, parseEventType } from '#core/envelope.ts';
import { CrosslinkError, ValidationError } from '#core/errors.ts';
import type { VpnHalfResultData } from '#core/events/catalog.ts';
import * as checks from '#core/events/checks.ts';
import { checkEventData } from '#core/events/schemas.ts';
import type { EventSink } from '#core/link/ports.ts';
import { need } from '#core/link/settings.ts';
import { awsRegionsOf } from '#core/policy/policy.ts';
import { approves } from '#core/vpn/approval.ts';
import {
  type AwsVpnView,
  decideAwsHalf,
  formatRunMark,
  parseRunMark,
  parseVpnHalfCommand,
  VPN_ACTION_EVENTS,
  VPN_ACTIONS,
  type VpnAction,
  VpnActionsPausedError,
  type VpnHalfCommand,
  vpnResultEvent,
} from '#core/vpn/half.ts';
import { type EventBridgeEvent, fromEventBridgeEvent } from './envelope.ts';
import { EventBridgeSink } from './event-sink.ts';
import { embeddedPolicy, perRegion } from './runtime.ts';
import { DynamoDbVpnApprovals } from './vpn-approvals.ts';

/** crosslink's marks on a VPN connection (EC2 tags). */
export const VPN_TAGS = {
  /** The Transit Gateway route tables the drain took the VPN's propagation from, space-separated. */
  drainedFrom: 'crosslink:drained-from',
  /** The last command applied: `<requestedAt> <action> <runId>`. */
  lastRun: 'crosslink:last-run',
  /** `nonprod` lets a delete go without an approval; anything else (or none) is prod. */
  environment: 'crosslink:environment',
} as const;

/** What Google's half last reported of a VPN's drain (its VpnDrained / VpnUndrained, relayed here). */
export interface GoogleDrainReport {
  vpnId: string;
  drained: boolean;
  runId: string;
  appliedAt: string;
}

export interface GoogleDrains {
  /** Whether Google's last report says drained (no report: false). */
  drained(vpnId: string): Promise<boolean>;
  /** Records a report unless a later one (by `appliedAt`) is recorded; true when recorded. */
  record(r: GoogleDrainReport): Promise<boolean>;
}

/** Google's drain reports in the links table: item `pk = VPN#<vpnId>`, `sk = GCP-DRAIN`. */
export class DynamoDbGoogleDrains implements GoogleDrains {
  readonly #client: DynamoDBClient;
  readonly #table: string;
  constructor(client: DynamoDBClient, table: string) {
    this.#client = client;
    this.#table = table;
  }
  async drained(vpnId: string): Promise<boolean> {
    const out = await this.#client.send(
      new GetItemCommand({
        TableName: this.#table,
        Key: { pk: { S: `VPN#${vpnId}` }, sk: { S: 'GCP-DRAIN' } },
        ConsistentRead: true,
      }),
    );
    return out.Item?.drained?.BOOL === true;
  }
  async record(r: GoogleDrainReport): Promise<boolean> {
    try {
      await this.#client.send(
        new PutItemCommand({
          TableName: this.#table,
          Item: {
            pk: { S: `VPN#${r.vpnId}` },
            sk: { S: 'GCP-DRAIN' },
            drained: { BOOL: r.drained },
            runId: { S: r.runId },
            appliedAt: { S: r.appliedAt },
          },
          // Reports arrive in any order: an older one never overwrites a later one.
          ConditionExpression: 'attribute_not_exists(appliedAt) OR appliedAt < :at',
          ExpressionAttributeValues: { ':at': { S: r.appliedAt } },
        }),
      );
      return true;
    } catch (e) {
      if ((e as { name?: string })?.name === 'ConditionalCheckFailedException') return false;
      throw e;
    }
  }
}

export interface VpnHalfDeps {
  /** EC2 in a region (one client per region): the half acts in the command's `awsRegion`. */
  ec2: (region: string) => EC2Client;
  /** The AWS regions of the policy: a command naming another region is refused. */
  regions: readonly string[];
  /** The crosslink bus the result events go to (the step's own sink, not the link steps' port). */
  bus: EventSink;
  /** Prod delete requests and approvals, and the executions waiting for them (vpn-approvals.ts). */
  approvals: DynamoDbVpnApprovals;
  /** Google's drain reports, which a VPN on a virtual private gateway's delete requires. */
  googleDrains: GoogleDrains;
  clock: Clock;
  origin: Origin;
  /** The pause switch: read at the start of every action. */
  paused: () => boolean;
}

export interface VpnHalfOutput extends VpnHalfResultData {
  action: VpnAction;
}

const COMMANDS = new Map(VPN_ACTIONS.map((a) => [VPN_ACTION_EVENTS[a].command as string, a]));

/** The check of each action's command event (only the VPN commands' validators in the bundle). */
const COMMAND_CHECKS = {
  drain: checks.VpnDrainRequested,
  undrain: checks.VpnUndrainRequested,
  delete: checks.VpnDeleteRequested,
} satisfies { [A in VpnAction]: checks.EventCheck<(typeof VPN_ACTION_EVENTS)[A]['command']> };

/**
 * Google's drain report a bus event carries: its VpnDrained (drained) or VpnUndrained (not), relayed
 * from Google; undefined for any other event. A stale or gone result reports nothing.
 */
export function googleReportOf(event: EventBridgeEvent): GoogleDrainReport | 'ignored' | undefined {
  const name = event['detail-type'];
  if (name !== 'VpnDrained' && name !== 'VpnUndrained') return undefined;
  const ce = fromEventBridgeEvent(event);
  if (ce.crosslinkorigin !== 'gcp')
    throw new ValidationError(
      [{ path: 'detail.crosslinkorigin', reason: `must be gcp: only Google's results are recorded here` }],
      `${name} event`,
    );
  const data: VpnHalfResultData = checkEventData(
    name === 'VpnDrained' ? checks.VpnDrained : checks.VpnUndrained,
    ce.data,
  );
  if (data.outcome !== 'changed' && data.outcome !== 'unchanged') return 'ignored';
  return { vpnId: data.vpnId, drained: name === 'VpnDrained', runId: data.runId, appliedAt: data.appliedAt };
}

/** The command carried by a bus event (what the rule hands the state machine). */
export function commandOf(event: EventBridgeEvent): { command: VpnHalfCommand; traceparent?: string } {
  const ce = fromEventBridgeEvent(event);
  const name = parseEventType(ce.type)?.name ?? '';
  const action = COMMANDS.get(name);
  if (!action)
    throw new ValidationError(
      [{ path: 'detail-type', reason: `must be one of ${[...COMMANDS.keys()].join(', ')}, got "${name}"` }],
      'VPN command event',
    );
  // The catalog's schema first (every field's format), then the command's own reading of it.
  checkEventData(COMMAND_CHECKS[action], ce.data);
  return { command: parseVpnHalfCommand(action, ce.data, `${name} data`), traceparent: ce.traceparent };
}

/**
 * EC2 in the command's region: `awsRegion`, the VPN's region as the run read it from its inventory,
 * which must be one of the policy's AWS regions. A command without one is for the half's own region:
 * a drain recorded, or a delete awaiting its approval, before commands named their region (and a
 * coordinator not yet upgraded) came from an inventory of this region alone, so that is what it
 * meant; refusing it would leave such a VPN drained while its link weakens.
 */
export function ec2For(deps: Pick<VpnHalfDeps, 'ec2' | 'regions' | 'origin'>, c: VpnHalfCommand): EC2Client {
  if (!c.awsRegion) return deps.ec2(deps.origin.region);
  if (!deps.regions.includes(c.awsRegion))
    throw new ValidationError(
      [
        {
          path: 'awsRegion',
          reason: `${c.awsRegion} is not an AWS region of the policy (${deps.regions.join(', ')})`,
        },
      ],
      'VPN command',
    );
  return deps.ec2(c.awsRegion);
}

function isNotFound(e: unknown): boolean {
  return (e as { name?: string })?.name === 'InvalidVpnConnectionID.NotFound';
}

const tagOf = (v: VpnConnection, key: string) => v.Tags?.find((t) => t.Key === key)?.Value;

async function readView(ec2: EC2Client, vpnId: string): Promise<AwsVpnView> {
  let vpn: VpnConnection | undefined;
  try {
    vpn = (await ec2.send(new DescribeVpnConnectionsCommand({ VpnConnectionIds: [vpnId] })))
      .VpnConnections?.[0];
  } catch (e) {
    if (!isNotFound(e)) throw e;
  }
  if (!vpn) return { vpnId, state: 'absent', propagatesTo: [], environment: 'prod' };
  const drained = tagOf(vpn, VPN_TAGS.drainedFrom);
  const view: AwsVpnView = {
    vpnId,
    state: (vpn.State ?? 'available') as AwsVpnView['state'],
    customerGatewayId: vpn.CustomerGatewayId,
    propagatesTo: [],
    drainedFrom: drained === undefined ? undefined : drained.split(' ').filter(Boolean),
    lastRun: parseRunMark(tagOf(vpn, VPN_TAGS.lastRun)),
    environment: tagOf(vpn, VPN_TAGS.environment) === 'nonprod' ? 'nonprod' : 'prod',
  };
  if (!vpn.TransitGatewayId || view.state === 'deleted') return view;
  const att = (
    await ec2.send(
      new DescribeTransitGatewayAttachmentsCommand({
        Filters: [
          { Name: 'resource-id', Values: [vpnId] },
          { Name: 'resource-type', Values: ['vpn'] },
        ],
      }),
    )
  ).TransitGatewayAttachments?.find((a) => a.State !== 'deleted' && a.State !== 'deleting');
  if (!att?.TransitGatewayAttachmentId) return view;
  const attachmentId = att.TransitGatewayAttachmentId;
  const propagatesTo: string[] = [];
  let token: string | undefined;
  do {
    const page = await ec2.send(
      new DescribeTransitGatewayRouteTablesCommand({
        Filters: [{ Name: 'transit-gateway-id', Values: [vpn.TransitGatewayId] }],
        NextToken: token,
      }),
    );
    for (const rtb of page.TransitGatewayRouteTables ?? []) {
      const id = rtb.TransitGatewayRouteTableId as string;
      let ptoken: string | undefined;
      do {
        const props = await ec2.send(
          new GetTransitGatewayRouteTablePropagationsCommand({
            TransitGatewayRouteTableId: id,
            Filters: [{ Name: 'transit-gateway-attachment-id', Values: [attachmentId] }],
            NextToken: ptoken,
          }),
        );
        if (
          props.TransitGatewayRouteTablePropagations?.some(
            (p) => p.TransitGatewayAttachmentId === attachmentId && p.State === 'enabled',
          )
        )
          propagatesTo.push(id);
        ptoken = props.NextToken;
      } while (ptoken);
    }
    token = page.NextToken;
  } while (token);
  return { ...view, transitGatewayAttachmentId: attachmentId, propagatesTo: propagatesTo.sort() };
}

/** Whether the customer gateway still exists (a delete stopped after the VPN leaves it behind). */
async function customerGatewayLive(ec2: EC2Client, cgw: string): Promise<boolean> {
  try {
    const out = await ec2.send(new DescribeCustomerGatewaysCommand({ CustomerGatewayIds: [cgw] }));
    return (out.CustomerGateways ?? []).some((c) => c.State !== 'deleted' && c.State !== 'deleting');
  } catch (e) {
    if ((e as { name?: string })?.name === 'InvalidCustomerGatewayID.NotFound') return false;
    throw e;
  }
}

async function customerGatewayShared(
  ec2: EC2Client,
  vpnId: string,
  cgw: string | undefined,
): Promise<boolean> {
  if (!cgw) return false;
  const out = await ec2.send(
    new DescribeVpnConnectionsCommand({ Filters: [{ Name: 'customer-gateway-id', Values: [cgw] }] }),
  );
  return (out.VpnConnections ?? []).some(
    (v) => v.VpnConnectionId !== vpnId && v.State !== 'deleted' && v.State !== 'deleting',
  );
}

/**
 * Applies one command to the AWS half, idempotently, and reports it on the bus; or records Google's
 * drain report (a VpnDrained / VpnUndrained relayed from Google).
 */
export async function applyAwsVpnHalf(
  deps: VpnHalfDeps,
  event: EventBridgeEvent,
): Promise<VpnHalfOutput | { googleReport: GoogleDrainReport | 'ignored'; recorded: boolean }> {
  const report = googleReportOf(event);
  if (report === 'ignored') return { googleReport: report, recorded: false };
  if (report) return { googleReport: report, recorded: await deps.googleDrains.record(report) };
  const { command: c, traceparent } = commandOf(event);
  if (deps.paused())
    throw new VpnActionsPausedError(
      `VPN actions are paused: ${c.action} of ${c.vpnId} (run ${c.runId}) not applied`,
    );
  const ec2 = ec2For(deps, c);
  let view = await readView(ec2, c.vpnId);
  if (
    c.action === 'delete' &&
    view.customerGatewayId &&
    !(await customerGatewayLive(ec2, view.customerGatewayId))
  )
    view = { ...view, customerGatewayId: undefined };
  const shared =
    c.action === 'delete' ? await customerGatewayShared(ec2, c.vpnId, view.customerGatewayId) : false;
  if (c.action === 'delete' && !view.transitGatewayAttachmentId)
    view = { ...view, googleDrained: await deps.googleDrains.drained(c.vpnId) };
  const approved =
    c.action === 'delete' && view.environment === 'prod'
      ? approves(await deps.approvals.approval(c.runId, c.vpnId), c)
      : false;
  const d = decideAwsHalf(c, view, { customerGatewayShared: shared, approved });
  const changed: string[] = [...(d.changedBefore ?? [])];
  for (const op of d.ops) {
    switch (op.kind) {
      case 'mark-run':
        await ec2.send(
          new CreateTagsCommand({
            Resources: [c.vpnId],
            Tags: [{ Key: VPN_TAGS.lastRun, Value: formatRunMark(c) }],
          }),
        );
        break;
      case 'mark-drained':
        await ec2.send(
          new CreateTagsCommand({
            Resources: [c.vpnId],
            Tags: [{ Key: VPN_TAGS.drainedFrom, Value: op.routeTableIds.join(' ') }],
          }),
        );
        break;
      case 'clear-drained':
        await ec2.send(
          new DeleteTagsCommand({ Resources: [c.vpnId], Tags: [{ Key: VPN_TAGS.drainedFrom }] }),
        );
        break;
      case 'disable-propagation':
      case 'enable-propagation': {
        const input = {
          TransitGatewayRouteTableId: op.routeTableId,
          TransitGatewayAttachmentId: op.attachmentId,
        };
        await ec2.send(
          op.kind === 'enable-propagation'
            ? new EnableTransitGatewayRouteTablePropagationCommand(input)
            : new DisableTransitGatewayRouteTablePropagationCommand(input),
        );
        changed.push(op.routeTableId);
        break;
      }
      case 'delete-vpn':
        await ec2.send(new DeleteVpnConnectionCommand({ VpnConnectionId: c.vpnId }));
        changed.push(c.vpnId);
        break;
      case 'delete-customer-gateway':
        await ec2.send(new DeleteCustomerGatewayCommand({ CustomerGatewayId: op.customerGatewayId }));
        changed.push(op.customerGatewayId);
        break;
    }
  }
  const live = view.state === 'available' || view.state === 'pending';
  if (live && d.outcome !== 'stale' && !d.ops.some((op) => op.kind === 'mark-run'))
    await ec2.send(
      new CreateTagsCommand({
        Resources: [c.vpnId],
        Tags: [{ Key: VPN_TAGS.lastRun, Value: formatRunMark(c) }],
      }),
    );
  const { data, event: result } = vpnResultEvent(c, d, {
    changed,
    origin: deps.origin,
    clock: deps.clock,
    traceparent,
  });
  await deps.bus.put([result]);
  return { action: c.action, ...data };
}

/**
 * How long a prod delete waits for its approval: the links' default approval deadline
 * (CROSSLINK_APPROVAL_EXPIRE_AFTER, 72 h). The state machine's AwaitApproval `TimeoutSeconds` is the
 * same (a test checks it).
 */
export const VPN_APPROVAL_WAIT_MS = 72 * 3600_000;

/** Refused to wait: another execution already waits for the approval of the same delete. */
export class VpnDeleteAlreadyWaitingError extends CrosslinkError {
  override name = 'VpnDeleteAlreadyWaitingError';
}
/** Not waiting: the approval of this very delete is already recorded (Apply runs again). */
export class VpnDeleteApprovedError extends CrosslinkError {
  override name = 'VpnDeleteApprovedError';
}

/** What the state machine hands the step for a wait or its deadline (`$$.Execution.Input` is the command). */
export interface VpnWaitInput {
  vpnApproval: 'park' | 'expired';
  event: EventBridgeEvent;
  execution: string;
  token?: string;
}

/** Whether a step input is a wait's (the rest are bus events). */
export function isVpnWaitInput(x: unknown): x is VpnWaitInput {
  return !!x && typeof x === 'object' && 'vpnApproval' in x;
}

function waitInput(input: VpnWaitInput): {
  command: VpnHalfCommand;
  token?: string;
  execution: string;
  traceparent?: string | undefined;
} {
  const issues = [];
  if (input.vpnApproval !== 'park' && input.vpnApproval !== 'expired')
    issues.push({ path: 'vpnApproval', reason: 'must be "park" or "expired"' });
  if (typeof input.execution !== 'string' || !input.execution)
    issues.push({ path: 'execution', reason: 'must be the waiting execution ($$.Execution.Id)' });
  if (input.vpnApproval === 'park' && (typeof input.token !== 'string' || !input.token))
    issues.push({ path: 'token', reason: 'must be the task token ($$.Task.Token)' });
  if (!input.event || typeof input.event !== 'object')
    issues.push({ path: 'event', reason: 'must be the command event ($$.Execution.Input)' });
  if (issues.length) throw new ValidationError(issues, 'VPN approval wait');
  const { command, traceparent } = commandOf(input.event);
  if (command.action !== 'delete')
    throw new ValidationError(
      [{ path: 'event', reason: 'only a delete waits for an approval' }],
      'VPN approval wait',
    );
  return { command, traceparent, execution: input.execution, ...(input.token ? { token: input.token } : {}) };
}

/**
 * The `.waitForTaskToken` task of a prod delete: records the request (what an approver approves)
 * with this execution's token, which the intake answers when it records the approval. A delete
 * another execution already waits for is not waited for twice (`VpnDeleteAlreadyWaitingError`);
 * an approval of this very command recorded already sends it back to Apply
 * (`VpnDeleteApprovedError`).
 */
export async function parkVpnDelete(deps: VpnHalfDeps, input: VpnWaitInput): Promise<{ parked: true }> {
  const { command: c, token, execution } = waitInput(input);
  const { runId, vpnId, requestedBy, requestedAt } = c;
  const out = await deps.approvals.park({
    request: { runId, vpnId, requestedBy, requestedAt },
    token: token as string,
    execution,
    waitUntil: deps.clock.now() + VPN_APPROVAL_WAIT_MS,
  });
  if (!out.parked)
    throw new VpnDeleteAlreadyWaitingError(
      `the delete of ${vpnId} in run ${runId} already waits for its approval in ${out.waitingIn}`,
    );
  if (approves(out.approval, c))
    throw new VpnDeleteApprovedError(`the delete of ${vpnId} in run ${runId} is approved already`);
  return { parked: true };
}

/**
 * A prod delete's deadline passed: the wait is cleared (a later command of the run may wait again).
 * An approval of this command recorded meanwhile (its resume failed and was not repeated) sends it
 * to Apply (`VpnDeleteApprovedError`); with none, nothing is deleted and the result event says why.
 */
export async function expireVpnDelete(deps: VpnHalfDeps, input: VpnWaitInput): Promise<VpnHalfOutput> {
  const { command: c, execution, traceparent } = waitInput(input);
  await deps.approvals.unpark(c.runId, c.vpnId, execution);
  // An approval recorded whose resume never got through (throttled, and not repeated): apply it.
  if (approves(await deps.approvals.approval(c.runId, c.vpnId), c))
    throw new VpnDeleteApprovedError(
      `the delete of ${c.vpnId} in run ${c.runId} was approved during its wait`,
    );
  const view = await readView(ec2For(deps, c), c.vpnId);
  const hours = VPN_APPROVAL_WAIT_MS / 3600_000;
  const { data, event } = vpnResultEvent(
    c,
    {
      outcome: 'expired',
      method: view.transitGatewayAttachmentId ? 'tgw-propagation' : 'google-side',
      reason: `no approval of the delete of ${c.vpnId} in run ${c.runId} came within ${hours} h: nothing deleted`,
    },
    { changed: [], origin: deps.origin, clock: deps.clock, traceparent },
  );
  await deps.bus.put([event]);
  return { action: c.action, ...data };
}

/** The step's one entry: a bus event is applied; a wait's input parks or expires the delete's wait. */
export function vpnHalfStep(deps: VpnHalfDeps, input: EventBridgeEvent | VpnWaitInput): Promise<unknown> {
  if (!isVpnWaitInput(input)) return applyAwsVpnHalf(deps, input);
  return input.vpnApproval === 'park' ? parkVpnDelete(deps, input) : expireVpnDelete(deps, input);
}

let cached: VpnHalfDeps | undefined;

/** The step's dependencies from the Lambda environment; `CROSSLINK_VPN_ACTIONS_PAUSED=true` pauses. */
export function vpnHalfDepsFromEnv(env: NodeJS.ProcessEnv = process.env): VpnHalfDeps {
  if (cached) return cached;
  const region = need(env, 'AWS_REGION');
  cached = {
    ec2: perRegion((r) => new EC2Client({ region: r })),
    regions: awsRegionsOf(embeddedPolicy().document),
    bus: new EventBridgeSink(new EventBridgeClient({ region }), { busName: need(env, 'CROSSLINK_BUS') }),
    approvals: new DynamoDbVpnApprovals(new DynamoDBClient({ region }), need(env, 'CROSSLINK_TABLE'), {
      clock: systemClock,
    }),
    googleDrains: new DynamoDbGoogleDrains(new DynamoDBClient({ region }), need(env, 'CROSSLINK_TABLE')),
    clock: systemClock,
    origin: { cloud: 'aws', accountId: need(env, 'CROSSLINK_ACCOUNT_ID'), region },
    paused: () => env.CROSSLINK_VPN_ACTIONS_PAUSED === 'true',
  };
  return cached;
}
