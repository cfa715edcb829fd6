/**
 * The Google half's Cloud Functions (functions-framework), one source for every function of gcp.yml;
 * each function's `entryPoint` picks one. All are HTTP functions (Pub/Sub pushes to their URLs):
 *
 * | entry point    | called by                                    | does                                                      |
 * | -------------- | -------------------------------------------- | --------------------------------------------------------- |
 * | `intake`       | people, IAM invoker auth                     | the link routes of the core intake (same as AWS)          |
 * | `steps`        | the workflows (OIDC)                         | `POST /<stepName>`: one step of the workflows             |
 * | `peerEvents`   | push of `crosslink-peer-events` (OIDC)       | the peer's event: apply, store a sealed key, start, resume |
 * | `starter`      | push of `crosslink-events` (OIDC)            | this side's `LinkRequested` / `LinkDecommissionRequested` -> the stage |
 * | `watcher`      | Cloud Scheduler every 5 min (OIDC), POST     | polls this side's transports                              |
 * | `watcherAudit` | push of `crosslink-audit` (OIDC)             | a TransportManager audit entry: check that transport now  |
 * | `vpnHalf`      | the vpn-half workflow (OIDC), POST `{event}` | one VPN command applied to the Google half (vpn-half.ts)  |
 * | `vpnInventory` | push of `crosslink-peer-events` (OIDC)       | AWS's VPN inventory request answered, its pages stored (vpn-inventory.ts) |
 *
 * A VPN command (`VpnDrainRequested`, ...) on either topic starts the vpn-half workflow: `starter`
 * for this side's, `peerEvents` for the ones relayed from AWS.
 *
 * Every entry point answers `GET /` (the function's URL itself) with 200 and its name, without
 * building its dependencies: the health path a deploy or a person checks. The module refuses to
 * start (one line on stderr, exit 1) when gcp.yml did not give a required variable. Dependencies
 * are built once per instance (`depsFromPlatform`), on first use. The intake's caller:
 * intake-http.ts.
 */

import * as ff from '@google-cloud/functions-framework';
import { ValidationError } from '#core/errors.ts';
import { consumePeerEvent, startForEvent } from '#core/link/intake.ts';
import { handleInventoryEvent, isInventoryEvent } from '#core/vpn/inventory-exchange.ts';
import { logOrphans } from './approval-metrics.ts';
import { handleIntake, type IntakeHttpRequest } from './intake-http.ts';
import { fromPubSubPush } from './pubsub-envelope.ts';
import { depsFromPlatform, type GoogleDeps } from './runtime.ts';
import { stepErrorAnswer, stepsHandler } from './steps.ts';
import { missingVariables } from './variables.ts';
import { gcpVpnHalfStep, isVpnCommand, startVpnHalf } from './vpn-half.ts';
import { onTransportAuditEntry, type PubSubMessage, watchTransports } from './watcher.ts';

type Request = ff.Request;
type Response = ff.Response;

function logLine(entry: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify({ service: 'crosslink-gcp', ...entry })}\n`);
}

/** `GET /`: the health path (no dependencies touched); true when it answered. */
function health(name: string, req: Request, res: Response): boolean {
  if (req.method !== 'GET' || req.path !== '/') return false;
  res.status(200).json({ function: name, status: 'serving' });
  return true;
}

/**
 * A Pub/Sub push endpoint. A message that can never be applied is acknowledged (204) and logged: a
 * redelivery cannot fix it. Any other failure answers 500, so Pub/Sub retries it, then
 * dead-letters it.
 */
function pushHandler(name: string, consume: (body: unknown) => Promise<unknown>) {
  return async (req: Request, res: Response) => {
    if (health(name, req, res)) return;
    try {
      logLine({ severity: 'INFO', function: name, result: await consume(req.body) });
      res.status(204).end();
    } catch (e) {
      if (e instanceof ValidationError) {
        logLine({ severity: 'ERROR', function: name, message: `dropped: ${e.message}` });
        res.status(204).end();
        return;
      }
      logLine({
        severity: 'ERROR',
        function: name,
        error: { name: (e as Error).name, message: (e as Error).message },
      });
      res.status(500).send(`${name} failed: ${(e as Error).message}`);
    }
  };
}

/** The audit entry of a push body (`{message, subscription}`). */
function pushedMessage(body: unknown): PubSubMessage {
  const message = (body as { message?: unknown } | null)?.message;
  if (typeof message !== 'object' || message === null)
    throw new ValidationError(
      [{ path: 'message', reason: 'is required: a push body is {message, subscription}' }],
      'Pub/Sub push',
    );
  return message as PubSubMessage;
}

export function register(deps: () => Promise<GoogleDeps> = () => depsFromPlatform()): void {
  ff.http('intake', async (req, res) => {
    if (health('intake', req, res)) return;
    const answer = await handleIntake(await deps(), req as unknown as IntakeHttpRequest);
    res.status(answer.statusCode).set(answer.headers).send(answer.body);
  });

  const steps = stepsHandler(() => deps());
  ff.http('steps', async (req, res) => {
    if (health('steps', req, res)) return;
    await steps(req, res);
  });

  // Each push body is read before the dependencies are built: a malformed one needs none.
  ff.http(
    'peerEvents',
    pushHandler('peerEvents', async (body) => {
      const event = fromPubSubPush(body);
      if (isVpnCommand(event)) {
        const d = await deps();
        return startVpnHalf(d.starter, d.vpnHalfWorkflow, event);
      }
      return consumePeerEvent(await deps(), event);
    }),
  );

  ff.http(
    'starter',
    pushHandler('starter', async (body) => {
      const event = fromPubSubPush(body);
      // Only this side's events start anything; the peer's are started by peerEvents.
      if (event.crosslinkorigin !== 'gcp') return { started: false, reason: 'peer event' };
      if (isVpnCommand(event)) {
        const d = await deps();
        return startVpnHalf(d.starter, d.vpnHalfWorkflow, event);
      }
      return startForEvent(await deps(), event);
    }),
  );

  ff.http('watcher', async (req, res) => {
    if (health('watcher', req, res)) return;
    const report = await watchTransports((await deps()).watch);
    // A project it could not list (e.g. impersonation refused) needs a person: logged as an error.
    logLine({ severity: report.projectErrors.length > 0 ? 'ERROR' : 'INFO', function: 'watcher', report });
    logOrphans(report);
    res.status(200).json(report);
  });

  // The workflow's one step: answers the result, or the named error the workflow raises.
  ff.http('vpnHalf', async (req, res) => {
    if (health('vpnHalf', req, res)) return;
    try {
      if (req.method !== 'POST')
        throw new ValidationError([{ path: 'method', reason: `must be POST, got ${req.method}` }], 'vpnHalf');
      const event = (req.body as { event?: unknown } | null)?.event;
      if (typeof event !== 'object' || event === null)
        throw new ValidationError(
          [{ path: 'event', reason: 'is required: the command CloudEvent' }],
          'vpnHalf',
        );
      const result = await gcpVpnHalfStep((await deps()).vpn, req.body as never);
      logLine({ severity: 'INFO', function: 'vpnHalf', result });
      res.status(200).json(result);
    } catch (e) {
      const answer = stepErrorAnswer(e);
      logLine({
        severity: 'ERROR',
        function: 'vpnHalf',
        status: answer.status,
        error: (answer.body as { error: unknown }).error,
        ...(answer.status === 500
          ? { cause: { name: (e as Error).name, message: (e as Error).message } }
          : {}),
      });
      res.status(answer.status).json(answer.body);
    }
  });

  // Every peer event is pushed here too: only the inventory exchange's are handled.
  ff.http(
    'vpnInventory',
    pushHandler('vpnInventory', async (body) => {
      const event = fromPubSubPush(body);
      if (!isInventoryEvent(event))
        return { action: 'ignored', reason: `${event.type} is not an inventory event` };
      return handleInventoryEvent((await deps()).vpnInventory, event);
    }),
  );

  ff.http(
    'watcherAudit',
    pushHandler('watcherAudit', async (body) => {
      const message = pushedMessage(body);
      return onTransportAuditEntry((await deps()).watch, message);
    }),
  );
}

const missing = missingVariables(process.env);
if (missing.length > 0) {
  process.stderr.write(
    `crosslink-gcp: environment variable${missing.length > 1 ? 's' : ''} ${missing.join(', ')} not set (gcp.yml functions[].environment, set by scripts/deploy-gcp)\n`,
  );
  process.exit(1);
}
register();
