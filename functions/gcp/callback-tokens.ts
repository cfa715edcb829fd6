/**
 * The `TaskTokens` port on Google: a waiting Workflows stage parked its callback URL
 * (`events.create_callback_endpoint`) as its token; resuming POSTs to it with an OAuth access token
 * of the function's service account (`workflows.callbacks.send`):
 * - success: `{"output": <output>}`;
 * - failure: `{"error": <name>, "cause": <text>}` (the workflow raises it after `await_callback`).
 * A 404 means the execution has ended or the callback is gone (answered by the other racer, timed
 * out, cancelled): the wait is over, so that counts as answered. 429 / 503 and connection failures
 * are retried under the Google clients' one policy (retry.ts); a callback answered twice is a no-op
 * (the 404 above), so a resend is safe.
 *
 * The access token goes only to the Workflows Executions API origin: a token that is not a callback
 * URL there is refused before anything is sent.
 */

import type { TaskTokens } from '#core/link/ports.ts';
import { authorizedFetch, sendAuthorized } from './retry.ts';
import type { AccessTokenSource } from './transport-client.ts';

export const WORKFLOWS_ORIGIN = 'https://workflowexecutions.googleapis.com';
const CALLBACK_PATH =
  /^\/v1\/projects\/[^/]+\/locations\/[^/]+\/workflows\/[^/]+\/executions\/[^/]+\/callbacks\/[^/]+$/;

/** A callback could not be delivered (refused, or still failing after the retries). */
export class CallbackError extends Error {
  readonly status: number;
  constructor(message: string, status: number) {
    super(message);
    this.name = 'CallbackError';
    this.status = status;
  }
}

export interface CallbackTokensOptions {
  auth: AccessTokenSource;
  /** The Executions API origin callback URLs must start with (the local edge in tests). */
  origin?: string;
  fetch?: typeof fetch;
  sleep?: (ms: number) => Promise<void>;
  /** Jitter source in [0, 1). */
  random?: () => number;
  /** Retries of 429 / 503 / connection failures after the first attempt (default 4). */
  maxRetries?: number;
}

export function callbackTokens(options: CallbackTokensOptions): TaskTokens {
  const origin = (options.origin ?? WORKFLOWS_ORIGIN).replace(/\/+$/, '');
  const retries = { ...options, maxRetries: options.maxRetries ?? 4 };
  const noToken = () => new CallbackError('the credentials gave no access token', 401);

  async function send(token: string, body: unknown): Promise<void> {
    let url: URL;
    try {
      url = new URL(token);
    } catch {
      throw new CallbackError('the token is not a callback URL', 400);
    }
    if (url.origin !== origin || !CALLBACK_PATH.test(url.pathname))
      throw new CallbackError(
        `${url.origin}${url.pathname} is not a Workflows callback URL of ${origin}`,
        400,
      );
    const res = await sendAuthorized(
      authorizedFetch(retries, {
        noToken,
        connectionFailed: (e) => new CallbackError(`callback ${url.pathname}: ${e.message}`, 0),
      }),
      { method: 'POST', url, body, retry: true },
    );
    const text = await res.text();
    if (res.ok || res.status === 404) return;
    throw new CallbackError(`callback ${url.pathname}: HTTP ${res.status} ${text.slice(0, 200)}`, res.status);
  }

  return {
    success: (token, output) => send(token, { output }),
    failure: (token, error, cause) => send(token, { error, cause }),
  };
}
