/**
 * The intake and the consumers around it, cloud-neutral: both halves answer the same routes with the
 * same rules and consume the peer's events the same way. Each cloud adapts its transport to these
 * (AWS: API Gateway events, EventBridge deliveries, Step Functions; Google: functions-framework
 * requests, Pub/Sub CloudEvents, Workflows through the start guard) and supplies `stages.start`.
 *
 * - `routeIntake`: `POST /links`, `POST /links/{id}/approvals`, `POST /links/{id}/decommission`,
 *   `POST /vpns/{id}/approvals` (a prod VPN delete's approval, functions/core/vpn/approval.ts),
 *   `GET /links`, `GET /links/{id}`. The caller is the principal the platform verified (an IAM
 *   principal ARN; the email of a Google ID token), never a field of the body.
 * - `startForEvent`: the starter (this side's `LinkRequested`, a `LinkDecommissionRequested`) -> the stage's execution, so a start lost between the record write
 *   and the intake's own start still happens (an existing execution means started).
 * - `consumePeerEvent`: a peer's event -> `applyPeerEvent` (another policy hash is refused and
 *   audited), a sealed key stored for the acceptor, the stage started, the waiting stage resumed.
 */
import type { CloudEvent } from '../envelope.ts';
import { parseEventType } from '../envelope.ts';
import { ConflictError, NotFoundError, PolicyHashMismatchError, ValidationError } from '../errors.ts';
import { type EventDataByName, type EventName, isLinkEvent } from '../events/catalog.ts';
import { isLinkId, type Stage } from '../ids.ts';
import type { LinkRequest } from '../policy/request.ts';
import { approveVpnDelete, type VpnApprovalStore } from '../vpn/approval.ts';
import { decideApproval } from './approve.ts';
import { COMPENSATION_ATTEMPT } from './compensate.ts';
import { decideDecommission, requestDecommission } from './decommission.ts';
import { errorToHttp, type HttpAnswer } from './http-errors.ts';
import { LINK_STATES, type LinkState, TERMINAL_STATES } from './model.ts';
import { applyPeerEvent } from './peer-events.ts';
import type { Caller, WaitPhase } from './ports.ts';
import { mutateLink } from './record.ts';
import { requestLink } from './request.ts';
import { linkResource, linkSummary } from './resource.ts';
import type { ExecutionInput, StepDeps } from './stage.ts';
import { answer, resumeWaiting } from './waits.ts';
import { billingAfterFailure } from './watch.ts';

/** Starts a stage's execution `<linkId>-<stage>-<attempt>`; `started: false` when it already exists. */
export interface StageStarter {
  start(
    stage: Stage,
    input: ExecutionInput | { linkId: string },
    attempt: number,
  ): Promise<{ executionName: string; started: boolean }>;
  /** Whether that attempt's execution is still running (false when it ended or never existed). */
  running(stage: Stage, linkId: string, attempt: number): Promise<boolean>;
}

export interface IntakeDeps extends StepDeps {
  stages: StageStarter;
  /** This side's VPN delete requests and approvals (`POST /vpns/{id}/approvals`); none: not served. */
  vpnApprovals?: VpnApprovalStore;
  /** Where an unexpected error (answered 500 without detail) is logged with its detail. */
  logError?: (route: string, e: unknown) => void;
}

export type IntakeRoute =
  | 'POST /links'
  | 'POST /links/{id}/approvals'
  | 'POST /links/{id}/decommission'
  | 'GET /links'
  | 'GET /links/{id}'
  | 'POST /vpns/{id}/approvals';

/** One intake request, as the platform delivered and verified it. */
export interface IntakeRequest {
  /** The matched route (`METHOD /path` with `{id}`), or what was asked when nothing matched. */
  route: string;
  /** The `{id}` path parameter. */
  id?: string;
  query?: Record<string, string | undefined>;
  /** Header names in lower case. */
  headers?: Record<string, string | undefined>;
  /** The body text (or an already parsed value: a platform that parsed JSON). */
  body?: unknown;
  /** The verified principal; undefined when the platform gave none (a misconfigured route). */
  caller: Caller | undefined;
  requestId?: string;
}

/** Matches `method` and `path` (without query) against the routes. */
export function matchRoute(method: string, path: string): { route: string; id?: string } {
  const p = path.replace(/\/+$/, '') || '/';
  const vpn = /^\/vpns\/([^/]+)\/approvals$/.exec(p);
  if (vpn)
    return {
      route: `${method.toUpperCase()} /vpns/{id}/approvals`,
      id: decodeURIComponent(vpn[1] as string),
    };
  const m = /^\/links(?:\/([^/]+)(?:\/(approvals|decommission))?)?$/.exec(p);
  const verb = method.toUpperCase();
  if (!m) return { route: `${verb} ${p}` };
  const [, id, tail] = m;
  if (id === undefined) return { route: `${verb} /links` };
  const decoded = decodeURIComponent(id);
  return tail
    ? { route: `${verb} /links/{id}/${tail}`, id: decoded }
    : { route: `${verb} /links/{id}`, id: decoded };
}

function verified(req: IntakeRequest): Caller {
  // The platform's auth guarantees this; without it the route is misconfigured, not the caller.
  if (!req.caller) throw new Error('route without verified caller: the platform passed no principal');
  return req.caller;
}

function parseBody(req: IntakeRequest): Record<string, unknown> {
  let v: unknown = req.body;
  if (v === undefined || v === null || v === '') return {};
  if (typeof v === 'string' || Buffer.isBuffer(v)) {
    try {
      v = JSON.parse(String(v)) as unknown;
    } catch {
      v = undefined;
    }
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v))
    throw new ValidationError([{ path: '(body)', reason: 'must be a JSON object' }], 'request body');
  return v as Record<string, unknown>;
}

function linkIdOf(req: IntakeRequest): string {
  if (!isLinkId(req.id)) throw new ValidationError([{ path: 'id', reason: 'is not a link id' }], 'path');
  return req.id;
}

const ok = (statusCode: number, body: unknown): HttpAnswer => ({
  statusCode,
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify(body),
});

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

/**
 * Starts the link's decommissioning run. Execution names are reserved (90 days on Step Functions;
 * the start record on Google), so when the run of the record's attempt exists and has ended (it
 * failed, or the request it served was closed), the attempt is raised and the next one started.
 * `started: false` with `running: true`: that attempt's run is still going; with `running: false`:
 * there is nothing to run (the link is done).
 */
export async function startDecommission(
  deps: IntakeDeps,
  linkId: string,
): Promise<{ executionName: string; started: boolean; running: boolean }> {
  for (let round = 0; ; round++) {
    const link = (await deps.store.get(linkId))?.link;
    const attempt = link?.decommission?.attempt ?? 1;
    const out = await deps.stages.start('decommissioning', { linkId }, attempt);
    if (out.started) return { ...out, running: true };
    if (await deps.stages.running('decommissioning', linkId, attempt)) return { ...out, running: true };
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

/** `initiate` on the side that issues the key (the request's initiator, the coordinator), else `accept`. */
export function modeFor(deps: { origin: { cloud: string } }, request: LinkRequest): 'initiate' | 'accept' {
  return request.initiator === deps.origin.cloud ? 'initiate' : 'accept';
}

/** Answers one intake request; never throws (errors become their HTTP answer). */
/** `POST /links`: a new request, and this side's provisioning run. */
async function postLink(deps: IntakeDeps, req: IntakeRequest): Promise<HttpAnswer> {
  const caller = verified(req);
  const idempotencyKey = req.headers?.['idempotency-key'];
  const body = parseBody(req);
  const out = await requestLink(deps, {
    request: body,
    caller,
    ...(idempotencyKey ? { idempotencyKey } : {}),
  });
  // The validated request (the body's bandwidth spelling normalised), not the raw body.
  const { request } = out;
  // Whichever intake took the request, each side provisions its own half: `initiate` where the
  // key is issued (the coordinator), `accept` on the other side; the peer starts its own from
  // LinkRequested.
  const { executionName: execution } = await deps.stages.start(
    'provisioning',
    { linkId: out.link.id, mode: modeFor(deps, request), request },
    1,
  );
  return ok(out.created ? 201 : 200, { link: await linkResource(deps.store, out.link), execution });
}

/** `POST /links/{id}/approvals`: a link's approval, or its pending decommission's once past it. */
async function postApproval(deps: IntakeDeps, req: IntakeRequest): Promise<HttpAnswer> {
  const body = parseBody(req);
  const decision = body.decision;
  if (decision !== 'approve' && decision !== 'reject')
    throw new ValidationError(
      [{ path: 'decision', reason: 'must be "approve" or "reject"' }],
      'request body',
    );
  const linkId = linkIdOf(req);
  const current = await deps.store.get(linkId);
  // One route for both approvals: once a link is past its own approval, an approval is for its
  // pending decommission.
  const forDecommission =
    current?.link.decommission !== undefined &&
    !['REQUESTED', 'AWAITING_APPROVAL'].includes(current.link.state);
  const decide = forDecommission ? decideDecommission : decideApproval;
  const stored = await decide(deps, {
    linkId,
    caller: verified(req),
    decision,
    ...(typeof body.reason === 'string' ? { reason: body.reason } : {}),
  });
  // An approved decommission also ends a provisioning run still waiting (quietly, no compensation).
  await resumeWaiting(
    deps,
    stored.link,
    forDecommission ? ['decommissionApproval', ...PROVISIONING_WAITS] : ['approval'],
  );
  return ok(200, {
    link: await linkResource(deps.store, stored.link),
    ...(stored.unchanged !== undefined ? { unchanged: stored.unchanged } : {}),
  });
}

/** `POST /vpns/{id}/approvals`: a prod VPN delete's approval. */
async function postVpnApproval(deps: IntakeDeps, req: IntakeRequest): Promise<HttpAnswer> {
  const body = parseBody(req);
  if (body.decision !== 'approve')
    throw new ValidationError(
      [{ path: 'decision', reason: 'must be "approve" (a delete not approved is simply not done)' }],
      'request body',
    );
  if (!deps.vpnApprovals) throw new NotFoundError('this intake records no VPN delete approvals');
  const out = await approveVpnDelete(
    { policy: deps.policy, clock: deps.clock, approvals: deps.vpnApprovals },
    { runId: body.runId, vpnId: req.id, caller: verified(req) },
  );
  return ok(200, out);
}

/** `POST /links/{id}/decommission`: the request, and this side's decommissioning run. */
async function postDecommission(deps: IntakeDeps, req: IntakeRequest): Promise<HttpAnswer> {
  const body = parseBody(req);
  const linkId = linkIdOf(req);
  const stored = await requestDecommission(deps, {
    linkId,
    caller: verified(req),
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
  return ok(202, { link: await linkResource(deps.store, now), execution: run.executionName });
}

/** `GET /links/{id}`: one link with its audit. */
async function getLink(deps: IntakeDeps, req: IntakeRequest): Promise<HttpAnswer> {
  verified(req);
  const stored = await deps.store.get(linkIdOf(req));
  if (!stored) throw new NotFoundError(`link ${req.id} does not exist`);
  return ok(200, await linkResource(deps.store, stored.link));
}

/** `GET /links`: a page of link summaries. */
async function listLinks(deps: IntakeDeps, req: IntakeRequest): Promise<HttpAnswer> {
  verified(req);
  const page = await deps.store.list(listQuery(req.query ?? {}));
  return ok(200, {
    items: page.items.map(linkSummary),
    ...(page.cursor ? { cursor: page.cursor } : {}),
  });
}

const ROUTES: Readonly<Record<IntakeRoute, (deps: IntakeDeps, req: IntakeRequest) => Promise<HttpAnswer>>> = {
  'POST /links': postLink,
  'POST /links/{id}/approvals': postApproval,
  'POST /vpns/{id}/approvals': postVpnApproval,
  'POST /links/{id}/decommission': postDecommission,
  'GET /links/{id}': getLink,
  'GET /links': listLinks,
};

export async function routeIntake(deps: IntakeDeps, req: IntakeRequest): Promise<HttpAnswer> {
  try {
    const handle = Object.hasOwn(ROUTES, req.route) ? ROUTES[req.route as IntakeRoute] : undefined;
    if (!handle) throw new NotFoundError(`no route ${req.route}`);
    return await handle(deps, req);
  } catch (e) {
    const answer = errorToHttp(e, req.requestId);
    if (answer.statusCode === 500) deps.logError?.(req.route, e);
    return answer;
  }
}

/**
 * Starts the stage an event asks for: stage, mode and input come from the event. A `LinkRequested`
 * from this side starts `initiate` when this side initiates; one from the peer starts `accept`.
 * Anything else is ignored, with the reason.
 */
export async function startForEvent(
  deps: IntakeDeps,
  event: CloudEvent,
): Promise<{ executionName?: string; started: boolean; reason: string }> {
  const name = parseEventType(event.type)?.name;
  // Every event on the bus / topic reaches the starter (VPN runs', DR's): only two start a stage.
  if (name !== 'LinkRequested' && name !== 'LinkDecommissionRequested')
    return { started: false, reason: `${name ?? event.type} starts no stage` };
  const linkId = (event.data as { linkId?: string } | undefined)?.linkId;
  if (!isLinkId(linkId))
    throw new ValidationError([{ path: 'data.linkId', reason: 'is not a link id' }], 'event');
  const own = event.crosslinkorigin === deps.origin.cloud;
  if (name === 'LinkRequested') {
    const { request } = event.data as EventDataByName['LinkRequested'];
    // The peer's requests are started by the peer-event consumer once it wrote the replica.
    if (!own) return { started: false, reason: "the peer-event consumer starts the peer's requests" };
    const mode = modeFor(deps, request);
    const out = await deps.stages.start('provisioning', { linkId, mode, request }, 1);
    return { ...out, reason: `provisioning (${mode})` };
  }
  // LinkDecommissionRequested: the attempt the record carries, raised past a run that ended
  // without finishing.
  const out = await startDecommission(deps, linkId);
  return { executionName: out.executionName, started: out.started, reason: 'decommissioning' };
}

/**
 * A peer's event. Returns what happened; throws only what a retry can fix (so the delivery's retry
 * policy and dead letters handle it). A policy hash mismatch is refused (audited by the core) and
 * not retried: it cannot succeed until both sides run the same policy.
 */
export async function consumePeerEvent(
  deps: IntakeDeps,
  event: CloudEvent,
): Promise<{ outcome: 'applied' | 'ignored' | 'refused'; reason: string; type?: string }> {
  const name = parseEventType(event.type)?.name;
  if (event.crosslinkorigin === deps.origin.cloud) return { outcome: 'ignored', reason: 'own event' };
  // Dedupe by CloudEvent id (the relay and the bus / topic each deliver at least once). The id is
  // claimed for a lease longer than any one delivery can run (the function's timeout), marked done
  // once everything below succeeded, and freed when it throws, so a redelivery after a failure runs
  // again; after a crash, the redelivery runs once the lease has passed. A delivery that meets
  // another's lease throws (retried later); one that meets a done id is acknowledged.
  const key = `peer-event:${event.id}`;
  const now = deps.clock.now();
  const claim = await deps.store.claim(key, now + (deps.peerEventLeaseMs ?? PEER_EVENT_LEASE_MS), 'pending');
  if (!claim.claimed) {
    if (claim.result === 'done')
      return { outcome: 'ignored', reason: `duplicate event ${event.id}`, ...(name ? { type: name } : {}) };
    throw new ConflictError(`event ${event.id} is being applied by another delivery; retry later`);
  }
  try {
    const out = await consumeOnce(deps, event, name);
    await deps.store.settle(key, deps.clock.now() + (deps.idempotencyTtlMs ?? DAY_MS), 'done');
    return out;
  } catch (e) {
    await deps.store.settle(key, deps.clock.now(), null).catch(() => undefined);
    throw e;
  }
}

/** How long a delivery holds a peer event's id: longer than either side's function timeout. */
export const PEER_EVENT_LEASE_MS = 2 * 60_000;
const DAY_MS = 86_400_000;

async function consumeOnce(
  deps: IntakeDeps,
  event: CloudEvent,
  name: string | undefined,
): Promise<{ outcome: 'applied' | 'ignored' | 'refused'; reason: string; type?: string }> {
  let outcome: Awaited<ReturnType<typeof applyPeerEvent>>;
  try {
    outcome = await applyPeerEvent(deps, event);
  } catch (e) {
    if (e instanceof PolicyHashMismatchError)
      return { outcome: 'refused', reason: e.message, ...(name ? { type: name } : {}) };
    throw e;
  }
  // An event of no link (a VPN run's, relayed to every consumer of the peer's events) has no record
  // to read, and nothing to start or resume.
  if (!name || !isLinkEvent(name as EventName))
    return { outcome: outcome.outcome, reason: outcome.reason, ...(name ? { type: name } : {}) };
  const linkId = (event.data as { linkId: string }).linkId;
  if (name === 'LinkKeyIssued') {
    const d = event.data as EventDataByName['LinkKeyIssued'];
    await deps.store.putSealedKey(linkId, d.sealedKey);
    await answer(deps, linkId, 'key', { output: { key: 'sealed' } });
  }
  // Started when applied, and again on a redelivery that finds the record already written (a crash
  // between the write and the start): a start that happened answers "already exists".
  const stored = await deps.store.get(linkId);
  if (
    name === 'LinkRequested' &&
    (outcome.outcome === 'applied' || (stored !== undefined && outcome.reason === 'link already known'))
  ) {
    const d = event.data as EventDataByName['LinkRequested'];
    await deps.stages.start(
      'provisioning',
      { linkId, mode: modeFor(deps, d.request), request: d.request },
      1,
    );
  }
  // The peer failed the link and this side's half still bills: a run of its own compensates it (the
  // provisioning run may be over, as it is once the link was live). Again on a redelivery: the start
  // of a run that exists answers "already exists".
  if (name === 'LinkFailed' && stored && billingAfterFailure(stored.link, deps.origin.cloud))
    await deps.stages.start('provisioning', { linkId }, COMPENSATION_ATTEMPT);
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
