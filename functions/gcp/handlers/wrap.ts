/**
 * What every entry point of the Google half shares (one module per function, beside this one, each
 * exporting its handler; index.ts registers them): the health path, the JSON log line, and the Pub/Sub
 * push endpoint's answers. Dependencies are built once per instance, on first use, by the
 * `deps` each handler is given.
 */
import type * as ff from '@google-cloud/functions-framework';
import { ValidationError } from '#core/errors.ts';
import type { GoogleDeps } from '../runtime.ts';
import { stepErrorAnswer } from '../steps.ts';
import type { PubSubMessage } from '../watcher.ts';

export type Request = ff.Request;
export type Response = ff.Response;
/** The instance's dependencies, built on first use. */
export type Deps = () => Promise<GoogleDeps>;

export function logLine(entry: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify({ service: 'crosslink-gcp', ...entry })}\n`);
}

/** `GET /`: the health path (no dependencies touched); true when it answered. */
export function health(name: string, req: Request, res: Response): boolean {
  if (req.method !== 'GET' || req.path !== '/') return false;
  res.status(200).json({ function: name, status: 'serving' });
  return true;
}

/**
 * A Pub/Sub push endpoint. A message that can never be applied is acknowledged (204) and logged: a
 * redelivery cannot fix it. Any other failure answers 500, so Pub/Sub retries it, then
 * dead-letters it.
 */
export function pushHandler(name: string, consume: (body: unknown) => Promise<unknown>) {
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
export function pushedMessage(body: unknown): PubSubMessage {
  const message = (body as { message?: unknown } | null)?.message;
  if (typeof message !== 'object' || message === null)
    throw new ValidationError(
      [{ path: 'message', reason: 'is required: a push body is {message, subscription}' }],
      'Pub/Sub push',
    );
  return message as PubSubMessage;
}

/** A workflow step function's failure: its named error answered (what the workflow raises) and logged. */
export function answerStepError(name: string, res: Response, e: unknown): void {
  const answer = stepErrorAnswer(e);
  logLine({
    severity: 'ERROR',
    function: name,
    status: answer.status,
    error: (answer.body as { error: unknown }).error,
    ...(answer.status === 500 ? { cause: { name: (e as Error).name, message: (e as Error).message } } : {}),
  });
  res.status(answer.status).json(answer.body);
}
