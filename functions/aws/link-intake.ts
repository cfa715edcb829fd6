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
import { ConflictError, NotFoundError, PolicyHashMismatchError, ValidationError } from '#core/errors.ts';
import type { EventDataByName } from '#core/events/catalog.ts';
import { executionName, isLinkId, type Stage } from '#core/ids.ts';
import { LINK_STATES, type LinkRecord, type LinkState, TERMINAL_STATES } from '#core/link/model.ts';
import type { WaitPhase } from '#core/link/ports.ts';
import { linkResource as coreLinkResource, linkSummary } from '#core/link/resource.ts';
import {
  applyPeerEvent,
  type Caller,
  decideApproval,
  decideDecommission,
  mutateLink,
  requestDecommission,
  requestLink,
} from '#core/link/use-cases.ts';
import type { LinkRequest } from '#core/policy/request.ts';
import { errorToHttp, type HttpAnswer } from './http-errors.ts';
import { answer, type ExecutionInput, resumeWaiting, type StepDeps } from './link-steps.ts';

export interface Executions {
  /** StartExecution; resolves false when an execution of that name already exists. */
  start(stateMachineArn: string, name: string, input: unknown): Promise<boolean>;
  /** Whether the execution of that name is RUNNING (DescribeExecution); false when it ended or does not exist. */
  running(stateMachineArn: string, name: string): Promise<boolean>;
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

/**
 * Starts the link's decommissioning run. Execution names are reserved for 90 days, so when the run
 * of the record's attempt exists and has ended (it failed, or the request it served was closed),
 * the attempt is raised and the next one started. `started: false` with `running: true`: that
 * attempt's run is still going; with `running: false`: there is nothing to run (the link is done).
 */
export async function startDecommission(
  deps: IntakeDeps,
  linkId: string,
): Promise<{ executionName: string; started: boolean; running: boolean }> {
  for (let round = 0; ; round++) {
    const link = (await deps.store.get(linkId))?.link;
    const attempt = link?.decommission?.attempt ?? 1;
    const out = await startStage(deps, 'decommissioning', { linkId }, attempt);
    if (out.started) return { ...out, running: true };
    if (await deps.executions.running(deps.stateMachines.decommissioning, out.executionName))
      return { ...out, running: true };
    const open =
      link?.state === 'DECOMMISSIONING' ||
      (link?.decommission?.status === 'PENDING' &&
        (!TERMINAL_STATES.has(link.state) || link.state === 'FAILED'));
    if (!open || round >= 5) return { ...out, running: false };
    await mutateLink(deps, linkId, { kind: 'nextDecommissionAttempt', after: attempt });
  }
}

/** The waits of a provisioning run, which a decommission (or a closed link) ends. */
const PROVISIONING_WAITS: WaitPhase[] = ['approval', 'key', 'up'];

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
        // The validated request (the body's bandwidth spelling normalised), not the raw body.
        const { request } = out;
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
        // An approved decommission also ends a provisioning run still waiting (quietly, no compensation).
        await resumeWaiting(
          deps,
          stored.link,
          forDecommission ? ['decommissionApproval', ...PROVISIONING_WAITS] : ['approval'],
        );
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
        await resumeWaiting(deps, stored.link, PROVISIONING_WAITS); // auto-approved: DECOMMISSIONING at once
        // A stalled or failed attempt: asking again runs the next one.
        const run = await startDecommission(deps, linkId);
        if (!run.running)
          throw new ConflictError(
            `nothing to run: link ${linkId} is ${stored.link.state} and its decommissioning run ${run.executionName} has ended`,
          );
        const now = (await deps.store.get(linkId))?.link ?? stored.link;
        return ok(202, { link: await linkResource(deps, now), execution: run.executionName });
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
    // The attempt the record carries, raised past a run that ended without finishing.
    const out = await startDecommission(deps, linkId);
    return { executionName: out.executionName, started: out.started, reason: 'decommissioning' };
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
    await startDecommission(deps, linkId);
  if (stored)
    await resumeWaiting(deps, stored.link, [
      'approval',
      'key',
      'up',
      'gone',
      'decommissionApproval',
      'drained',
    ]);
  return { outcome: outcome.outcome, reason: outcome.reason, ...(name ? { type: name } : {}) };
}
