/**
 * The AWS intake and the consumers around it, as functions of their dependencies (a test passes its
 * own; the Lambda entry points in handlers.ts pass the ones built from the environment):
 *
 * - `intake`: the HTTP API routes with IAM auth. The caller is the IAM principal API Gateway
 *   verified (`requestContext.authorizer.iam.userArn`), never a field of the body.
 * - `startStage`: names executions `<linkId>-<stage>-<attempt>`; ExecutionAlreadyExists means started.
 * - `startFromEvent`: the starter's rule (a `LinkRequested` this side coordinates, a
 *   `LinkDecommissionRequested`) -> the stage's execution, so a start lost between the record write
 *   and the intake's own StartExecution still happens (ExecutionAlreadyExists = already started).
 * - `peerEvent`: a peer's event from this side's bus -> `applyPeerEvent` (another policy hash is
 *   refused and audited), a sealed key stored for the acceptor, and the waiting stage resumed.
 */
import {
  type CloudEvent,
  type EventBridgeEvent,
  fromEventBridgeEvent,
  parseEventType,
} from '#core/envelope.ts';
import { NotFoundError, PolicyHashMismatchError, ValidationError } from '#core/errors.ts';
import type { EventDataByName } from '#core/events/catalog.ts';
import { executionName, isLinkId, type Stage } from '#core/ids.ts';
import { LINK_STATES, type LinkRecord, type LinkState } from '#core/link/model.ts';
import { linkResource as coreLinkResource, linkSummary } from '#core/link/resource.ts';
import {
  applyPeerEvent,
  type Caller,
  decideApproval,
  decideDecommission,
  requestDecommission,
  requestLink,
} from '#core/link/use-cases.ts';
import type { LinkRequest } from '#core/policy/request.ts';
import { errorToHttp, type HttpAnswer } from './http-errors.ts';
import { answer, type ExecutionInput, resumeWaiting, type StepDeps } from './link-steps.ts';

export interface Executions {
  /** StartExecution; resolves false when an execution of that name already exists. */
  start(stateMachineArn: string, name: string, input: unknown): Promise<boolean>;
}

export interface IntakeDeps extends StepDeps {
  executions: Executions;
  stateMachines: { provisioning: string; decommissioning: string };
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

/** `GET /links` query: `state` one of the link states, `limit` 1-100 (default 50), `cursor` as given. */
function listQuery(q: Record<string, string | undefined>) {
  const issues: { path: string; reason: string }[] = [];
  if (q.state !== undefined && !(LINK_STATES as readonly string[]).includes(q.state))
    issues.push({ path: 'state', reason: `must be one of ${LINK_STATES.join(', ')}` });
  const limit = q.limit === undefined ? undefined : Number(q.limit);
  if (limit !== undefined && !(Number.isInteger(limit) && limit >= 1 && limit <= 100))
    issues.push({ path: 'limit', reason: 'must be a whole number from 1 to 100' });
  if (issues.length > 0) throw new ValidationError(issues, 'query');
  return {
    ...(q.state ? { state: q.state as LinkState } : {}),
    ...(limit !== undefined ? { limit } : {}),
    ...(q.cursor ? { cursor: q.cursor } : {}),
  };
}

/** `initiate` on the side that issues the key (the request's initiator, the coordinator), else `accept`. */
export function modeFor(deps: { origin: { cloud: string } }, request: LinkRequest): 'initiate' | 'accept' {
  return request.initiator === deps.origin.cloud ? 'initiate' : 'accept';
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

function callerOf(event: HttpApiEvent): Caller {
  const arn = event.requestContext.authorizer?.iam?.userArn;
  // IAM auth on the route guarantees this; without it the route is misconfigured, not the caller.
  if (!arn) throw new Error('route without IAM auth: no verified caller in requestContext');
  return { principal: arn, side: 'aws' };
}

function parseBody(event: HttpApiEvent): Record<string, unknown> {
  if (!event.body) return {};
  const text = event.isBase64Encoded ? Buffer.from(event.body, 'base64').toString('utf8') : event.body;
  try {
    const v = JSON.parse(text) as unknown;
    if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error('not an object');
    return v as Record<string, unknown>;
  } catch {
    throw new ValidationError([{ path: '(body)', reason: 'must be a JSON object' }], 'request body');
  }
}

function linkIdOf(event: HttpApiEvent): string {
  const id = event.pathParameters?.id;
  if (!isLinkId(id)) throw new ValidationError([{ path: 'id', reason: 'is not a link id' }], 'path');
  return id;
}

const ok = (statusCode: number, body: unknown): HttpAnswer => ({
  statusCode,
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify(body),
});

/** The link resource of `link show --json` (core/link/resource.ts): the record's public shape plus its audit. */
export function linkResource(deps: StepDeps, link: LinkRecord) {
  return coreLinkResource(deps.store, link);
}

export async function intake(deps: IntakeDeps, event: HttpApiEvent): Promise<HttpAnswer> {
  try {
    switch (event.routeKey) {
      case 'POST /links': {
        const caller = callerOf(event);
        const idempotencyKey = event.headers?.['idempotency-key'];
        const out = await requestLink(deps, {
          request: parseBody(event),
          caller,
          ...(idempotencyKey ? { idempotencyKey } : {}),
        });
        const request = parseBody(event) as unknown as LinkRequest;
        // Whichever intake took the request, each side provisions its own half: `initiate` where the
        // key is issued (the coordinator), `accept` on the other side; the peer starts its own from
        // LinkRequested.
        const { executionName: execution } = await startStage(deps, 'provisioning', {
          linkId: out.link.id,
          mode: modeFor(deps, request),
          request,
        });
        return ok(out.created ? 201 : 200, { link: await linkResource(deps, out.link), execution });
      }
      case 'POST /links/{id}/approvals': {
        const body = parseBody(event);
        const decision = body.decision;
        if (decision !== 'approve' && decision !== 'reject')
          throw new ValidationError(
            [{ path: 'decision', reason: 'must be "approve" or "reject"' }],
            'request body',
          );
        const linkId = linkIdOf(event);
        const current = await deps.store.get(linkId);
        // One route for both approvals: once a link is past its own approval, an approval is for its
        // pending decommission.
        const forDecommission =
          current?.link.decommission !== undefined &&
          !['REQUESTED', 'AWAITING_APPROVAL'].includes(current.link.state);
        const decide = forDecommission ? decideDecommission : decideApproval;
        const stored = await decide(deps, {
          linkId,
          caller: callerOf(event),
          decision,
          ...(typeof body.reason === 'string' ? { reason: body.reason } : {}),
        });
        await resumeWaiting(deps, stored.link, [forDecommission ? 'decommissionApproval' : 'approval']);
        return ok(200, { link: await linkResource(deps, stored.link) });
      }
      case 'POST /links/{id}/decommission': {
        const body = parseBody(event);
        const linkId = linkIdOf(event);
        const stored = await requestDecommission(deps, {
          linkId,
          caller: callerOf(event),
          ...(typeof body.reason === 'string' ? { reason: body.reason } : {}),
        });
        // A stalled attempt (drain never confirmed) raised the attempt: asking again runs the next one.
        const { executionName: execution } = await startStage(
          deps,
          'decommissioning',
          { linkId },
          stored.link.decommission?.attempt ?? 1,
        );
        return ok(202, { link: await linkResource(deps, stored.link), execution });
      }
      case 'GET /links/{id}': {
        callerOf(event);
        const stored = await deps.store.get(linkIdOf(event));
        if (!stored) throw new NotFoundError(`link ${event.pathParameters?.id} does not exist`);
        return ok(200, await linkResource(deps, stored.link));
      }
      case 'GET /links': {
        callerOf(event);
        const page = await deps.store.list(listQuery(event.queryStringParameters ?? {}));
        return ok(200, {
          items: page.items.map(linkSummary),
          ...(page.cursor ? { cursor: page.cursor } : {}),
        });
      }
      default:
        throw new NotFoundError(`no route ${event.routeKey}`);
    }
  } catch (e) {
    return errorToHttp(e, event.requestContext.requestId);
  }
}

/**
 * Starts the stage an event asks for (the rule in serverless.yml delivers this side's
 * `LinkRequested` and `LinkDecommissionRequested`): stage, mode and input come from the event. A
 * `LinkRequested` from this side starts `initiate` when this side initiates; one from the peer
 * starts `accept`. Anything else is ignored, with the reason.
 */
export async function startFromEvent(
  deps: IntakeDeps,
  raw: EventBridgeEvent,
): Promise<{ executionName?: string; started: boolean; reason: string }> {
  const event = fromEventBridgeEvent(raw);
  const name = parseEventType(event.type)?.name;
  const linkId = (event.data as { linkId?: string }).linkId;
  if (!isLinkId(linkId))
    throw new ValidationError([{ path: 'data.linkId', reason: 'is not a link id' }], 'event');
  const own = event.crosslinkorigin === deps.origin.cloud;
  if (name === 'LinkRequested') {
    const { request } = event.data as EventDataByName['LinkRequested'];
    // The peer's requests are started by the peer-event consumer once it wrote the replica.
    if (!own) return { started: false, reason: "the peer-event consumer starts the peer's requests" };
    const mode = modeFor(deps, request);
    const out = await startStage(deps, 'provisioning', { linkId, mode, request });
    return { ...out, reason: `provisioning (${mode})` };
  }
  if (name === 'LinkDecommissionRequested') {
    // The attempt the record carries: a drain that was never confirmed raised it for the next run.
    const attempt = (await deps.store.get(linkId))?.link.decommission?.attempt ?? 1;
    const out = await startStage(deps, 'decommissioning', { linkId }, attempt);
    return { ...out, reason: 'decommissioning' };
  }
  return { started: false, reason: `${name ?? event.type} starts no stage` };
}

/**
 * A peer's event from this side's bus. Returns what happened; throws only what a retry can fix (so
 * the target's retry policy and DLQ handle it). A policy hash mismatch is refused (audited by the
 * core) and not retried: it cannot succeed until both sides run the same policy.
 */
export async function peerEvent(
  deps: IntakeDeps,
  raw: EventBridgeEvent,
): Promise<{ outcome: 'applied' | 'ignored' | 'refused'; reason: string; type?: string }> {
  const event: CloudEvent = fromEventBridgeEvent(raw);
  const name = parseEventType(event.type)?.name;
  if (event.crosslinkorigin === deps.origin.cloud) return { outcome: 'ignored', reason: 'own event' };
  let outcome: Awaited<ReturnType<typeof applyPeerEvent>>;
  try {
    outcome = await applyPeerEvent(deps, event);
  } catch (e) {
    if (e instanceof PolicyHashMismatchError)
      return { outcome: 'refused', reason: e.message, ...(name ? { type: name } : {}) };
    throw e;
  }
  const linkId = (event.data as { linkId: string }).linkId;
  if (name === 'LinkKeyIssued' && outcome.reason !== `duplicate event ${event.id}`) {
    const d = event.data as EventDataByName['LinkKeyIssued'];
    await deps.store.putSealedKey(linkId, d.sealedKey);
    await answer(deps, linkId, 'key', { output: { key: 'sealed' } });
  }
  // Started when applied, and again on a redelivery that finds the record already written (a crash
  // between the write and the start): a start that happened answers ExecutionAlreadyExists.
  const stored = await deps.store.get(linkId);
  if (
    name === 'LinkRequested' &&
    (outcome.outcome === 'applied' || (stored !== undefined && outcome.reason === 'link already known'))
  ) {
    const d = event.data as EventDataByName['LinkRequested'];
    await startStage(deps, 'provisioning', { linkId, mode: modeFor(deps, d.request), request: d.request });
  }
  const pendingDecommission =
    stored?.link.decommission !== undefined &&
    ['PENDING', 'APPROVED'].includes(stored.link.decommission.status);
  if (name === 'LinkDecommissionRequested' && (outcome.outcome === 'applied' || pendingDecommission))
    await startStage(deps, 'decommissioning', { linkId }, stored?.link.decommission?.attempt ?? 1);
  if (stored)
    await resumeWaiting(deps, stored.link, ['approval', 'up', 'gone', 'decommissionApproval', 'drained']);
  return { outcome: outcome.outcome, reason: outcome.reason, ...(name ? { type: name } : {}) };
}
