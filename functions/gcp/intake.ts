/**
 * The Google intake's HTTP side: an Express request of functions-framework -> the core's link
 * routes, with the caller taken from the ID token Cloud Run verified.
 *
 * Cloud Run checks one header for the invoker's ID token: `X-Serverless-Authorization` when the
 * request carries it (only that one, even when `Authorization` is there too), else
 * `Authorization`. It forwards the token it verified with its signature replaced by
 * `SIGNATURE_REMOVED_BY_GOOGLE` and passes the other header on untouched, unverified. So the caller
 * is the token of `X-Serverless-Authorization` when present, else of `Authorization`, and never the
 * other header: anyone allowed to invoke the intake could put any token there.
 */
import { executionName } from '#core/ids.ts';
import { type IntakeDeps, matchRoute, routeIntake } from '#core/link/intake.ts';
import type { Caller } from '#core/link/ports.ts';
import { StartInProgressError } from './execution-starter.ts';

/** The parts of an Express request the intake reads. */
export interface IntakeHttpRequest {
  method: string;
  path: string;
  query?: Record<string, unknown>;
  headers: Record<string, string | string[] | undefined>;
  body?: unknown;
  rawBody?: Buffer;
}

/** The header whose token Cloud Run verified: `X-Serverless-Authorization` if present, else `Authorization`. */
export function verifiedAuthorization(headers: Record<string, string | undefined>): string | undefined {
  return headers['x-serverless-authorization'] ?? headers.authorization;
}

/** What Cloud Run puts in place of the signature of the token it verified. */
export const SIGNATURE_REMOVED = 'SIGNATURE_REMOVED_BY_GOOGLE';

/**
 * The `email` claim of a `Bearer <jwt>` header value whose signature Cloud Run replaced with
 * `SIGNATURE_REMOVED_BY_GOOGLE`: the mark that Cloud Run verified it. A token with any other
 * signature was not verified by Cloud Run (an intake open to `allUsers`, a request that did not come
 * through Cloud Run's front) and names no caller, whatever its claims say.
 */
export function callerOfToken(authorization: string | undefined): Caller | undefined {
  const token = /^Bearer\s+(\S+)$/i.exec(authorization ?? '')?.[1];
  const [, payload, signature] = token?.split('.') ?? [];
  if (!payload || signature !== SIGNATURE_REMOVED) return undefined;
  try {
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as { email?: unknown };
    return typeof claims.email === 'string' && claims.email
      ? { principal: claims.email, side: 'gcp' }
      : undefined;
  } catch {
    return undefined;
  }
}

function single(v: unknown): string | undefined {
  if (Array.isArray(v)) return single(v[0]);
  return typeof v === 'string' ? v : undefined;
}

/** One intake request -> the core's routes; answers `{statusCode, headers, body}`. */
export async function handleIntake(deps: IntakeDeps, req: IntakeHttpRequest) {
  const { route, id } = matchRoute(req.method, req.path);
  const headers: Record<string, string | undefined> = {};
  for (const [k, v] of Object.entries(req.headers)) headers[k.toLowerCase()] = single(v);
  const query: Record<string, string | undefined> = {};
  for (const [k, v] of Object.entries(req.query ?? {})) query[k] = single(v);
  return routeIntake(intakeView(deps), {
    route,
    ...(id !== undefined ? { id } : {}),
    query,
    headers,
    // The raw text when there is one: the core refuses a body that is not a JSON object.
    body: req.rawBody && req.rawBody.length > 0 ? req.rawBody.toString('utf8') : req.body,
    caller: callerOfToken(verifiedAuthorization(headers)),
    ...(headers['x-cloud-trace-context']
      ? { requestId: headers['x-cloud-trace-context'].split('/')[0] }
      : {}),
  });
}

/**
 * The intake's view of the stage starter. A start another starter holds at that moment
 * (`StartInProgressError`: the starter function got this side's LinkRequested /
 * LinkDecommissionRequested at the same moment and has claimed the start record, but not yet
 * created the execution) is a start, not an error for the person asking: that starter finishes it,
 * or its redelivery does. It also counts as **running**: the core raises a decommission's attempt
 * only past a run that has ended, and asking the Executions API at that moment finds nothing yet,
 * which started a second run (two drains, two deletes). The event consumers keep the error, so
 * Pub/Sub redelivers and the guard is asked again.
 */
export function intakeView<D extends IntakeDeps>(deps: D): D {
  const inFlight = new Set<string>();
  const view = Object.create(deps) as D;
  view.stages = {
    start: async (stage, input, attempt) => {
      try {
        return await deps.stages.start(stage, input, attempt);
      } catch (e) {
        if (!(e instanceof StartInProgressError)) throw e;
        const key = executionName(input.linkId, stage, attempt);
        inFlight.add(key);
        return { executionName: key, started: false };
      }
    },
    running: async (stage, linkId, attempt) =>
      inFlight.has(executionName(linkId, stage, attempt)) || deps.stages.running(stage, linkId, attempt),
  };
  return view;
}
