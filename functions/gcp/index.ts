/**
 * The Google half's Cloud Functions (functions-framework), one source for every function of gcp.yml;
 * each function's `entryPoint` picks one:
 *
 * | entry point    | trigger                                    | does                                                      |
 * | -------------- | ------------------------------------------ | --------------------------------------------------------- |
 * | `intake`       | HTTP, IAM invoker auth                     | the link routes of the core intake (same as AWS)          |
 * | `steps`        | HTTP, invoked by the workflows (OIDC)      | `POST /<stepName>`: one step of the workflows             |
 * | `peerEvents`   | push of `crosslink-peer-events` (CloudEvent) | the peer's event: apply, store a sealed key, start, resume |
 * | `starter`      | push of `crosslink-events` (CloudEvent)    | this side's `LinkRequested` / `LinkDecommissionRequested` -> the stage |
 * | `watcher`      | HTTP, Cloud Scheduler every 5 min (OIDC)   | polls this side's transports                              |
 * | `watcherAudit` | push of `crosslink-audit` (CloudEvent)     | a TransportManager audit entry: check that transport now  |
 *
 * The caller of `intake` is the email of the ID token Cloud Run verified: it forwards the token with
 * its signature replaced by `SIGNATURE_REMOVED_BY_GOOGLE`, so the handler reads the body of the token
 * and cannot replay it. Dependencies are built once per instance (`depsFromEnv`), on first use.
 */
import type { CloudEvent as PushEvent } from '@google-cloud/functions-framework';
import * as ff from '@google-cloud/functions-framework';
import { type CloudEvent, fromPubSubPush } from '#core/envelope.ts';
import { ValidationError } from '#core/errors.ts';
import { consumePeerEvent, matchRoute, routeIntake, startForEvent } from '#core/link/intake.ts';
import type { Caller } from '#core/link/use-cases.ts';
import { logOrphans } from './approval-metrics.ts';
import { intakeView } from './intake-view.ts';
import { depsFromEnv, type GoogleDeps } from './runtime.ts';
import { stepsHandler } from './steps.ts';
import { onTransportAuditEntry, type PubSubMessage, watchTransports } from './watcher.ts';

/** The parts of an Express request the intake reads. */
export interface IntakeHttpRequest {
  method: string;
  path: string;
  query?: Record<string, unknown>;
  headers: Record<string, string | string[] | undefined>;
  body?: unknown;
  rawBody?: Buffer;
}

/** The verified caller: the `email` claim of the forwarded ID token (its signature already checked by Cloud Run). */
export function callerOfToken(authorization: string | undefined): Caller | undefined {
  const token = /^Bearer\s+(\S+)$/i.exec(authorization ?? '')?.[1];
  const payload = token?.split('.')[1];
  if (!payload) return undefined;
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

/** One intake request -> the core's routes; answers `{status, headers, body}`. */
export async function handleIntake(deps: GoogleDeps, req: IntakeHttpRequest) {
  const { route, id } = matchRoute(req.method, req.path);
  const headers: Record<string, string | undefined> = {};
  for (const [k, v] of Object.entries(req.headers)) headers[k.toLowerCase()] = single(v);
  const query: Record<string, string | undefined> = {};
  for (const [k, v] of Object.entries(req.query ?? {})) query[k] = single(v);
  const answer = await routeIntake(intakeView(deps), {
    route,
    ...(id !== undefined ? { id } : {}),
    query,
    headers,
    // The raw text when there is one: the core refuses a body that is not a JSON object.
    body: req.rawBody && req.rawBody.length > 0 ? req.rawBody.toString('utf8') : req.body,
    caller: callerOfToken(headers.authorization),
    ...(headers['x-cloud-trace-context']
      ? { requestId: headers['x-cloud-trace-context'].split('/')[0] }
      : {}),
  });
  return answer;
}

/** The CloudEvent functions-framework made of a Pub/Sub push: its data is `{message, subscription}`. */
function crosslinkEventOf(event: PushEvent<unknown>): CloudEvent {
  return fromPubSubPush(event.data);
}

function logLine(entry: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify({ service: 'crosslink-gcp', ...entry })}\n`);
}

/** A message that can never be applied is acknowledged and logged: a redelivery cannot fix it. */
async function acknowledgingMalformed(name: string, run: () => Promise<unknown>): Promise<void> {
  try {
    logLine({ severity: 'INFO', function: name, result: await run() });
  } catch (e) {
    if (e instanceof ValidationError) {
      logLine({ severity: 'ERROR', function: name, message: `dropped: ${e.message}` });
      return;
    }
    logLine({
      severity: 'ERROR',
      function: name,
      error: { name: (e as Error).name, message: (e as Error).message },
    });
    throw e; // retried by Pub/Sub, then dead-lettered
  }
}

export function register(deps: () => GoogleDeps = () => depsFromEnv()): void {
  ff.http('intake', async (req, res) => {
    const answer = await handleIntake(deps(), req as unknown as IntakeHttpRequest);
    res.status(answer.statusCode).set(answer.headers).send(answer.body);
  });

  ff.http(
    'steps',
    stepsHandler(() => deps()),
  );

  ff.cloudEvent<unknown>('peerEvents', (event: PushEvent<unknown>) =>
    acknowledgingMalformed('peerEvents', () => consumePeerEvent(deps(), crosslinkEventOf(event))),
  );

  ff.cloudEvent<unknown>('starter', (event: PushEvent<unknown>) =>
    acknowledgingMalformed('starter', async () => {
      const e = crosslinkEventOf(event);
      // Only this side's events start anything; the peer's are started by peerEvents.
      if (e.crosslinkorigin !== 'gcp') return { started: false, reason: 'peer event' };
      return startForEvent(deps(), e);
    }),
  );

  ff.http('watcher', async (_req, res) => {
    const report = await watchTransports(deps().watch);
    // A project it could not list (e.g. impersonation refused) needs a person: logged as an error.
    logLine({ severity: report.projectErrors.length > 0 ? 'ERROR' : 'INFO', function: 'watcher', report });
    logOrphans(report);
    res.status(200).json(report);
  });

  ff.cloudEvent<unknown>('watcherAudit', (event: PushEvent<unknown>) =>
    acknowledgingMalformed('watcherAudit', () =>
      onTransportAuditEntry(deps().watch, (event.data as { message: PubSubMessage }).message),
    ),
  );
}

register();
