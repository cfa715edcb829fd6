/**
 * The `TaskTokens` port on Google: a waiting Workflows stage parked its callback URL
 * (`events.create_callback_endpoint`) as its token; resuming POSTs to it with an OAuth access token
 * of the function's service account (`workflows.callbacks.send`):
 * - success: `{"output": <output>}`;
 * - failure: `{"error": <name>, "cause": <text>}` (the workflow raises it after `await_callback`).
 * A 404 means the execution has ended or the callback is gone (answered by the other racer, timed
 * out, cancelled): the wait is over, so that counts as answered. 429 / 503 are retried with backoff.
 *
 * The access token goes only to the Workflows Executions API origin: a token that is not a callback
 * URL there is refused before anything is sent.
 */

import { sleep as letTimePass } from '#core/clock.ts';
import type { TaskTokens } from '#core/link/ports.ts';
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
  /** Retries of 429 / 503 / connection failures after the first attempt (default 4). */
  maxRetries?: number;
}

export function callbackTokens(options: CallbackTokensOptions): TaskTokens {
  const origin = (options.origin ?? WORKFLOWS_ORIGIN).replace(/\/+$/, '');
  const doFetch = options.fetch ?? fetch;
  const sleep = options.sleep ?? letTimePass;
  const maxRetries = options.maxRetries ?? 4;

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
    let refreshed = false;
    for (let attempt = 0; ; attempt++) {
      const access = (await options.auth.getAccessToken()).token;
      if (!access) throw new CallbackError('the credentials gave no access token', 401);
      let res: Response;
      try {
        res = await doFetch(url, {
          method: 'POST',
          headers: { authorization: `Bearer ${access}`, 'content-type': 'application/json' },
          body: JSON.stringify(body),
        });
      } catch (e) {
        if (attempt < maxRetries) {
          await sleep(500 * 2 ** attempt);
          continue;
        }
        throw new CallbackError(`callback ${url.pathname}: ${(e as Error).message}`, 0);
      }
      const text = await res.text();
      if (res.ok || res.status === 404) return;
      if (res.status === 401 && !refreshed && options.auth.setCredentials && options.auth.credentials) {
        refreshed = true;
        options.auth.setCredentials({ ...options.auth.credentials, expiry_date: 1 });
        attempt--;
        continue;
      }
      if ((res.status === 429 || res.status === 503) && attempt < maxRetries) {
        await sleep(500 * 2 ** attempt);
        continue;
      }
      throw new CallbackError(
        `callback ${url.pathname}: HTTP ${res.status} ${text.slice(0, 200)}`,
        res.status,
      );
    }
  }

  return {
    success: (token, output) => send(token, { output }),
    failure: (token, error, cause) => send(token, { error, cause }),
  };
}
