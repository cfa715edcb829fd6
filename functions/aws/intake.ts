/**
 * The AWS intake and the consumers around it: the cloud-neutral routes and peer-event logic of
 * functions/core/link/intake.ts, adapted to API Gateway, EventBridge and Step Functions (a test
 * passes its own dependencies; the Lambda entries in handlers/ pass the ones built from the
 * environment):
 *
 * - `intake`: the HTTP API routes with IAM auth. The caller is the IAM principal API Gateway
 *   verified (`requestContext.authorizer.iam.userArn`), never a field of the body.
 * - `startStage`: names executions `<linkId>-<stage>-<attempt>`; ExecutionAlreadyExists means started.
 * - `startFromEvent`: the starter's rule (this side's `LinkRequested`, a `LinkDecommissionRequested`)
 *   -> the stage's execution.
 * - `peerEvent`: a peer's event from this side's bus -> `consumePeerEvent`.
 */

import { NotConfiguredError } from '#core/errors.ts';
import { executionName, type Stage } from '#core/ids.ts';
import { PEER_NOT_CONFIGURED } from '#core/link/activate.ts';
import { errorToHttp, type HttpAnswer } from '#core/link/http-errors.ts';
import {
  type IntakeDeps as CoreIntakeDeps,
  consumePeerEvent,
  modeFor,
  routeIntake,
  startForEvent,
} from '#core/link/intake.ts';
import type { LinkRecord } from '#core/link/model.ts';
import { linkResource as coreLinkResource } from '#core/link/resource.ts';
import type { ExecutionInput } from '#core/link/stage.ts';
import { assertValid } from '#core/validation.ts';
import type { VpnApprovalStore } from '#core/vpn/approval.ts';
import { type EventBridgeEvent, fromEventBridgeEvent } from './envelope.ts';
import type { StepDeps } from './steps.ts';
import { eventBridgeEvent } from './validators.gen.ts';

export { modeFor };

/** The link resource of `link show --json` (core/link/resource.ts): the record's public shape plus its audit. */
export function linkResource(deps: StepDeps, link: LinkRecord) {
  return coreLinkResource(deps.store, link);
}

export interface Executions {
  /** StartExecution; resolves false when an execution of that name already exists. */
  start(stateMachineArn: string, name: string, input: unknown): Promise<boolean>;
  /** Whether the execution of that name is RUNNING (DescribeExecution); false when it ended or does not exist. */
  running(stateMachineArn: string, name: string): Promise<boolean>;
}

export interface IntakeDeps extends StepDeps {
  executions: Executions;
  stateMachines: { provisioning: string; decommissioning: string };
  /** Prod VPN deletes' requests and approvals (`POST /vpns/{id}/approvals`); unwired: not served. */
  vpnApprovals?: VpnApprovalStore;
}

/** The parts of an API Gateway HTTP API (payload 2.0) event with IAM auth that the intake reads. */
export interface HttpApiEvent {
  routeKey: string;
  pathParameters?: Record<string, string | undefined>;
  queryStringParameters?: Record<string, string | undefined>;
  headers?: Record<string, string | undefined>;
  body?: string;
  isBase64Encoded?: boolean;
  requestContext: {
    requestId?: string;
    authorizer?: { iam?: { userArn?: string; accountId?: string } };
  };
}

export async function startStage(
  deps: IntakeDeps,
  stage: Stage,
  input: ExecutionInput | { linkId: string },
  attempt = 1,
): Promise<{ executionName: string; started: boolean }> {
  const name = executionName(input.linkId, stage, attempt);
  const arn = stage === 'provisioning' ? deps.stateMachines.provisioning : deps.stateMachines.decommissioning;
  const started = await deps.executions.start(arn, name, input);
  return { executionName: name, started };
}

/** The core's view of the AWS dependencies: stages start as named Step Functions executions. */
function core(deps: IntakeDeps): CoreIntakeDeps {
  const view = Object.create(deps) as CoreIntakeDeps;
  view.stages = {
    start: (stage, input, attempt) => startStage(deps, stage, input, attempt),
    running: (stage, linkId, attempt) =>
      deps.executions.running(
        stage === 'provisioning' ? deps.stateMachines.provisioning : deps.stateMachines.decommissioning,
        executionName(linkId, stage, attempt),
      ),
  };
  return view;
}

export async function intake(deps: IntakeDeps, event: HttpApiEvent): Promise<HttpAnswer> {
  // In the first phase of a deploy the peer's sealing key is not known yet: no link could reach
  // ACTIVE, so none starts (reads and the rest answer as usual).
  if (event.routeKey === 'POST /links' && !deps.settings.peerKey)
    return errorToHttp(new NotConfiguredError(PEER_NOT_CONFIGURED), event.requestContext.requestId);
  const arn = event.requestContext.authorizer?.iam?.userArn;
  const body =
    event.body && event.isBase64Encoded ? Buffer.from(event.body, 'base64').toString('utf8') : event.body;
  return routeIntake(core(deps), {
    route: event.routeKey,
    ...(event.pathParameters?.id !== undefined ? { id: event.pathParameters.id } : {}),
    query: event.queryStringParameters ?? {},
    headers: event.headers ?? {},
    body,
    caller: arn ? { principal: arn, side: 'aws' } : undefined,
    ...(event.requestContext.requestId ? { requestId: event.requestContext.requestId } : {}),
  });
}

/** Starts the stage an event of the starter rule asks for (see `startForEvent`). */
export function startFromEvent(
  deps: IntakeDeps,
  raw: EventBridgeEvent,
): Promise<{ executionName?: string; started: boolean; reason: string }> {
  return startForEvent(core(deps), fromEventBridgeEvent(raw));
}

/**
 * A batch of the peer's events from PeerEventsQueue (each body an EventBridge event of this side's
 * bus), in order, one at a time. A record that throws (its link not known here yet, another delivery
 * holding its id, a store error, a malformed body) is reported failed alone: SQS retries it after
 * the visibility timeout and redrives it to the DLQ after the last receive.
 */
export async function peerEventBatch(
  deps: IntakeDeps,
  records: readonly { messageId: string; body: string }[],
  log: {
    info: (message: string, extra: Record<string, unknown>) => void;
    error: (message: string, extra: Record<string, unknown>) => void;
  },
): Promise<{ batchItemFailures: { itemIdentifier: string }[] }> {
  const batchItemFailures: { itemIdentifier: string }[] = [];
  for (const r of records) {
    try {
      const raw = JSON.parse(r.body) as unknown;
      assertValid(eventBridgeEvent, raw, 'EventBridge event');
      const out = await peerEvent(deps, raw as EventBridgeEvent);
      log.info('peer event', { messageId: r.messageId, ...out });
    } catch (e) {
      log.error('peer event failed, will retry', {
        messageId: r.messageId,
        error: { name: (e as Error).name, message: (e as Error).message },
      });
      batchItemFailures.push({ itemIdentifier: r.messageId });
    }
  }
  return { batchItemFailures };
}

/** A peer's event from this side's bus (see `consumePeerEvent`). */
export function peerEvent(
  deps: IntakeDeps,
  raw: EventBridgeEvent,
): Promise<{ outcome: 'applied' | 'ignored' | 'refused'; reason: string; type?: string }> {
  return consumePeerEvent(core(deps), fromEventBridgeEvent(raw));
}
