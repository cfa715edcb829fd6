/**
 * The inbound relay, Google -> AWS (docs/relay.md "Google -> AWS"): one Pub/Sub
 * push of an event Google emitted, whose OIDC token the route's JWT authorizer has verified
 * (signature, issuer, audience, expiry), becomes one entry on this side's bus.
 *
 * Answers (Pub/Sub acknowledges 2xx and redelivers anything else, then dead-letters after the
 * subscription's `maxDeliveryAttempts`):
 * - 403: the token's `email` is not the configured relay service account (counted);
 * - 400: poison (the body is not a push, the data not base64 JSON, not a crosslink CloudEvent, or
 *   the bus refuses the entry as malformed): it can never be relayed, so Pub/Sub's dead-letter policy
 *   takes it after its bounded attempts; the reason is logged (ids and paths, never the event);
 * - 200 `wrong-origin`: an event that did not come from Google is acknowledged and dropped (counted):
 *   never sent back to its origin;
 * - 200 `duplicate`: the event id was already relayed (counted, acknowledged, not refused);
 * - 409 `in-flight`: another delivery of the same id is being put right now: retried later;
 * - 503: the bus kept failing the entry after bounded retries: Pub/Sub redelivers it.
 * The id is recorded as relayed only after the put succeeded; a pending claim that fails is
 * released, so a redelivery is never mistaken for a duplicate.
 */
import { type Clock, sleep as letTimePass } from '#core/clock.ts';
import { type CloudEvent, parseEvent } from '#core/envelope.ts';
import { ValidationError } from '#core/errors.ts';
import { type EventBridgeEntry, toEventBridgeEntry } from './envelope.ts';

/** Deduplication by CloudEvent id, in a store with expiring records. */
export interface RelayLedger {
  /**
   * Claims `id` until `pendingUntil` (ms). `relayed`: recorded as relayed and not expired;
   * `in-flight`: another delivery holds an unexpired claim; otherwise the claim's token.
   */
  claim(id: string, pendingUntil: number): Promise<{ claimed: string } | 'relayed' | 'in-flight'>;
  /** Records `id` as relayed until `expiresAt` (ms). */
  complete(id: string, token: string, expiresAt: number): Promise<void>;
  /** Gives the claim up (the put failed), so the redelivery can claim it. */
  release(id: string, token: string): Promise<void>;
}

/** One result per entry, in order: an error code when that entry was not put. */
export interface BusPort {
  put(entries: EventBridgeEntry[]): Promise<Array<{ errorCode?: string; errorMessage?: string }>>;
}

export type RelayMetric =
  | 'Relayed'
  | 'RelayDuplicates'
  | 'RelayRefusedAccount'
  | 'RelayWrongOrigin'
  | 'RelayPoison'
  | 'RelayPutFailed';

export interface RelayLog {
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
}

export interface RelayInDeps {
  /** The email of the Google service account whose pushes are accepted. */
  relayServiceAccount: string;
  busName: string;
  ledger: RelayLedger;
  bus: BusPort;
  clock: Clock;
  count(metric: RelayMetric): void;
  log: RelayLog;
  sleep?: (ms: number) => Promise<void>;
  /** Put attempts for the failed entries, including the first (default 4: 0.2 s, 0.4 s, 0.8 s between). */
  maxPutAttempts?: number;
  /** How long a relayed id is remembered (default 7 days, Pub/Sub's longest retention). */
  rememberMs?: number;
  /** How long a claim holds before another delivery may take it over (default 60 s). */
  pendingMs?: number;
}

export interface RelayPush {
  /** The verified claims the authorizer passed (undefined: the route has no JWT authorizer). */
  claims: Record<string, unknown> | undefined;
  /** The HTTP body, decoded. */
  body: string | undefined;
}

export interface RelayAnswer {
  status: 200 | 400 | 403 | 409 | 503;
  body: { outcome: string; id?: string; reason?: string };
}

const NOT_RETRYABLE = new Set(['InvalidArgument', 'MalformedDetail']);
const BASE64_RE = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

class Poison extends Error {}

function issuesText(e: ValidationError): string {
  return e.issues.map((i) => `${i.path || '(event)'}: ${i.reason}`).join('; ');
}

/** The CloudEvent inside a push body, or Poison naming why there is none. */
export function unwrapPush(body: string | undefined): { event: CloudEvent; messageId: string } {
  if (!body) throw new Poison('the body is empty (expected a Pub/Sub push {message, subscription})');
  let push: unknown;
  try {
    push = JSON.parse(body);
  } catch {
    throw new Poison('the body is not JSON');
  }
  const message = (push as { message?: unknown } | null)?.message;
  if (typeof message !== 'object' || message === null) throw new Poison('message: is required (an object)');
  const m = message as { data?: unknown; attributes?: unknown; messageId?: unknown };
  const messageId = typeof m.messageId === 'string' ? m.messageId : '';
  if (typeof m.data !== 'string' || m.data === '') throw new Poison('message.data: is required');
  if (!BASE64_RE.test(m.data)) throw new Poison('message.data: is not base64');
  let raw: unknown;
  try {
    raw = JSON.parse(Buffer.from(m.data, 'base64').toString('utf8'));
  } catch {
    throw new Poison('message.data: is not a JSON document');
  }
  let event: CloudEvent;
  try {
    event = parseEvent(raw);
  } catch (e) {
    if (e instanceof ValidationError) throw new Poison(`not a crosslink CloudEvent: ${issuesText(e)}`);
    throw e;
  }
  const ceId = (m.attributes as Record<string, unknown> | undefined)?.['ce-id'];
  if (ceId !== undefined && ceId !== event.id)
    throw new Poison(`message.attributes.ce-id: ${String(ceId)} differs from the event id ${event.id}`);
  return { event, messageId };
}

/** Handles one verified push (see the module comment for every answer). */
export async function relayIn(deps: RelayInDeps, push: RelayPush): Promise<RelayAnswer> {
  const email = push.claims?.email;
  if (
    typeof email !== 'string' ||
    email !== deps.relayServiceAccount ||
    // API Gateway's JWT authorizer passes every claim as a string; the local one keeps JSON types.
    String(push.claims?.email_verified) === 'false'
  ) {
    deps.count('RelayRefusedAccount');
    deps.log.warn('relay push refused: not the relay service account', {
      tokenEmail: typeof email === 'string' ? email : null,
      ...(push.claims ? {} : { problem: 'no verified claims: the route has no JWT authorizer' }),
    });
    return {
      status: 403,
      body: { outcome: 'refused', reason: 'the token is not the relay service account' },
    };
  }
  // Google's ID tokens always carry `exp`, and the authorizer checks it when present; a token
  // without one would never expire, so it is refused here whatever the authorizer made of it.
  if (!Number.isFinite(Number(push.claims?.exp ?? Number.NaN))) {
    deps.count('RelayRefusedAccount');
    deps.log.warn('relay push refused: the token carries no expiry (exp)', { tokenEmail: email });
    return { status: 403, body: { outcome: 'refused', reason: 'the token carries no expiry (exp)' } };
  }
  let event: CloudEvent;
  let messageId: string;
  try {
    ({ event, messageId } = unwrapPush(push.body));
  } catch (e) {
    if (e instanceof Poison) return poison(deps, e.message);
    throw e;
  }
  const ids = { eventId: event.id, eventType: event.type, messageId };
  if (event.crosslinkorigin !== 'gcp') {
    deps.count('RelayWrongOrigin');
    deps.log.warn('relay dropped an event not from Google (never relayed back to its origin)', {
      ...ids,
      origin: event.crosslinkorigin,
    });
    return { status: 200, body: { outcome: 'wrong-origin', id: event.id } };
  }
  let entry: EventBridgeEntry;
  try {
    entry = toEventBridgeEntry(event, deps.busName);
  } catch (e) {
    if (e instanceof ValidationError) return poison(deps, issuesText(e), ids);
    throw e;
  }
  const now = deps.clock.now();
  const claim = await deps.ledger.claim(event.id, now + (deps.pendingMs ?? 60_000));
  if (claim === 'relayed') {
    deps.count('RelayDuplicates');
    deps.log.info('relay: duplicate acknowledged', ids);
    return { status: 200, body: { outcome: 'duplicate', id: event.id } };
  }
  if (claim === 'in-flight') {
    deps.log.info('relay: the same event is being relayed by another delivery', ids);
    return { status: 409, body: { outcome: 'in-flight', id: event.id, reason: 'retry later' } };
  }
  const failure = await putWithRetries(deps, entry);
  if (failure) {
    await deps.ledger.release(event.id, claim.claimed);
    if (NOT_RETRYABLE.has(failure.code)) return poison(deps, `the bus refused it: ${failure.code}`, ids);
    deps.count('RelayPutFailed');
    deps.log.warn('relay: put failed after retries; Pub/Sub redelivers', { ...ids, code: failure.code });
    return { status: 503, body: { outcome: 'not-put', id: event.id, reason: failure.code } };
  }
  try {
    await deps.ledger.complete(
      event.id,
      claim.claimed,
      deps.clock.now() + (deps.rememberMs ?? 7 * 86_400_000),
    );
  } catch (e) {
    // The event is on the bus: acknowledge. A redelivery after the claim expires would be a duplicate
    // on the bus, which its consumers drop by event id.
    deps.log.warn('relay: put, but not recorded as relayed', { ...ids, error: (e as Error).name });
  }
  deps.count('Relayed');
  deps.log.info('relayed', ids);
  return { status: 200, body: { outcome: 'relayed', id: event.id } };
}

function poison(deps: RelayInDeps, reason: string, ids: Record<string, string> = {}): RelayAnswer {
  deps.count('RelayPoison');
  deps.log.warn('relay poison message: refused, Pub/Sub dead-letters it after its attempts', {
    ...ids,
    reason,
  });
  return { status: 400, body: { outcome: 'poison', reason, ...(ids.eventId ? { id: ids.eventId } : {}) } };
}

/**
 * Puts the entries, again only those that failed, with backoff; returns the last failure or
 * undefined when all were put. A thrown SDK error (throttled, unavailable) counts as every entry failed.
 */
async function putWithRetries(
  deps: RelayInDeps,
  entry: EventBridgeEntry,
): Promise<{ code: string; message: string } | undefined> {
  const sleep = deps.sleep ?? letTimePass;
  const attempts = deps.maxPutAttempts ?? 4;
  let pending = [entry];
  let last: { code: string; message: string } | undefined;
  for (let attempt = 1; attempt <= attempts && pending.length > 0; attempt++) {
    if (attempt > 1) await sleep(100 * 2 ** (attempt - 1));
    let results: Array<{ errorCode?: string; errorMessage?: string }>;
    try {
      results = await deps.bus.put(pending);
    } catch (e) {
      last = { code: (e as Error).name || 'Error', message: (e as Error).message };
      continue;
    }
    const failed: EventBridgeEntry[] = [];
    results.forEach((r, i) => {
      const e = pending[i];
      if (r.errorCode && e) {
        failed.push(e);
        last = { code: r.errorCode, message: r.errorMessage ?? '' };
      }
    });
    if (failed.length === 0) return undefined;
    if (last && NOT_RETRYABLE.has(last.code)) return last;
    pending = failed;
  }
  return last;
}
