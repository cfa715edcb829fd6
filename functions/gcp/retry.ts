/**
 * The one retry policy of our Google REST clients (TransportManager, Workflows executions, Workflows
 * callbacks): an authorized JSON request is retried on 429 and 503 and on a connection failure, up
 * to `maxRetries` times after the first attempt, waiting `Retry-After` when the server gives it and
 * otherwise an exponential backoff with full jitter (random in [0, min(cap, base * 2^attempt))).
 * A 401 on a token the library still believes valid (expired on the server's clock, revoked) marks
 * it expired and is sent once more with a new one; that resend is not a retry. A call the server
 * cannot recognise as a repeat (no request id) is sent with `retry: false` and never resent.
 * The waits go through `sleep` of core/clock.ts, which the local cloud's virtual clock follows.
 *
 * Why no library: google-auth-library's gaxios (8.3 here) retries with a fixed delay
 * ((2^n - 1) / 2 s, no jitter), does not read Retry-After, counts connection failures apart from
 * statuses (`noResponseRetries`) and waits on setTimeout unless given a `retryBackoff` hook; with
 * its hooks we would write this policy again inside them, and take its request and error shapes
 * besides. p-retry is not installed; retry-request wraps the streaming `request` API.
 */
import { sleep } from '#core/clock.ts';
import { Unauthenticated } from './google-errors.ts';
import type { AccessTokenSource } from './transport-client.ts';

export interface RetryOptions {
  /** Retries after the first attempt. */
  maxRetries?: number | undefined;
  /** First backoff ceiling (default 500 ms), doubled per retry up to `maxDelayMs` (default 30 s). */
  baseDelayMs?: number | undefined;
  maxDelayMs?: number | undefined;
  /** Jitter source in [0, 1). */
  random?: (() => number) | undefined;
  /** Lets time pass between attempts (the virtual clock's, or a test's). */
  sleep?: ((ms: number) => Promise<void>) | undefined;
}

/** The statuses Google asks to retry: RESOURCE_EXHAUSTED (429) and UNAVAILABLE (503). */
export const RETRYABLE_STATUS: ReadonlySet<number> = new Set([429, 503]);

export class RetryPolicy {
  readonly maxRetries: number;
  readonly #base: number;
  readonly #cap: number;
  readonly #random: () => number;
  readonly #sleep: (ms: number) => Promise<void>;

  constructor(options: RetryOptions = {}) {
    this.maxRetries = options.maxRetries ?? 5;
    this.#base = options.baseDelayMs ?? 500;
    this.#cap = options.maxDelayMs ?? 30_000;
    this.#random = options.random ?? Math.random;
    this.#sleep = options.sleep ?? sleep;
  }

  /** Exponential backoff with full jitter before retry number `attempt + 1`. */
  backoff(attempt: number): number {
    return Math.floor(this.#random() * Math.min(this.#cap, this.#base * 2 ** attempt));
  }

  /**
   * Waits before retry number `attempt + 1`: the server's Retry-After (seconds) when it gave one,
   * at most the longest backoff, so a server asking for an hour cannot hold a function past its
   * timeout (the caller's own retry, the workflow's, comes back later instead).
   */
  wait(attempt: number, res?: Response): Promise<void> {
    const retryAfter = Number(res?.headers.get('retry-after'));
    return this.#sleep(
      Number.isFinite(retryAfter) && retryAfter > 0
        ? Math.min(retryAfter * 1000, this.#cap)
        : this.backoff(attempt),
    );
  }
}

/** How a client reaches its API: credentials, fetch, its retry policy and its own errors. */
export interface AuthorizedFetch {
  auth: AccessTokenSource;
  fetch: typeof fetch;
  policy: RetryPolicy;
  /** The error when the credentials give no access token. */
  noToken: () => Error;
  /** The error for a connection failure that is not retried (default: the failure itself). */
  connectionFailed?: (cause: Error) => Error;
}

/** A client's credentials, fetch and retry options, as each client's config takes them. */
export interface ClientTransport extends RetryOptions {
  auth: AccessTokenSource;
  fetch?: typeof fetch | undefined;
}

/** How a client reaches its API; a missing access token is `Unauthenticated` unless `noToken` says otherwise. */
export function authorizedFetch(
  config: ClientTransport,
  errors: Pick<AuthorizedFetch, 'noToken' | 'connectionFailed'> = {
    noToken: () => new Unauthenticated('UNAUTHENTICATED', 'the credentials gave no access token', 401),
  },
): AuthorizedFetch {
  return { auth: config.auth, fetch: config.fetch ?? fetch, policy: new RetryPolicy(config), ...errors };
}

/** A Google REST API's options: each project's credentials, its endpoint, fetch and retry options. */
export interface ProjectApiOptions {
  /** The credentials for a project's calls (the hub's own, a network project's impersonated). */
  authFor: (project: string) => AccessTokenSource;
  /** Base URL (default the API's own host); the local edge in tests. */
  endpoint?: string | undefined;
  fetch?: typeof fetch | undefined;
  /** The retry policy's options (defaults: 5 retries, backoff from 500 ms up to 30 s). */
  retry?: RetryOptions | undefined;
}

/**
 * A Google REST API whose calls each carry a project's own credentials, under the policy: the
 * one place Compute Engine, Cloud Monitoring and the router status reads are set up. A missing
 * token names the project.
 */
export class ProjectApi {
  readonly #o: ProjectApiOptions;
  readonly #base: string;
  readonly #policy: RetryPolicy;
  /** `host`: the API's default host; `prefix`: its path up to the project, e.g. `/compute/v1/projects/`. */
  constructor(o: ProjectApiOptions, host: string, prefix: string) {
    this.#o = o;
    this.#base = `${(o.endpoint ?? host).replace(/\/+$/, '')}${prefix}`;
    this.#policy = new RetryPolicy(o.retry);
  }

  /** Sends `method` to `path` under the project, returning the answer whatever its status. */
  send(
    project: string,
    method: string,
    path: string,
    retry: AuthorizedRequest['retry'],
    body?: unknown,
  ): Promise<Response> {
    const client: AuthorizedFetch = {
      auth: this.#o.authFor(project),
      fetch: this.#o.fetch ?? fetch,
      policy: this.#policy,
      noToken: () =>
        new Unauthenticated(
          'UNAUTHENTICATED',
          `the credentials for project ${project} gave no access token`,
          401,
        ),
    };
    return sendAuthorized(client, {
      method,
      url: `${this.#base}${encodeURIComponent(project)}/${path}`,
      body,
      retry,
    });
  }
}

export interface AuthorizedRequest {
  method: string;
  url: string | URL;
  /** Sent as JSON when given. */
  body?: unknown;
  /**
   * Whether a failure may be sent again: false for a call the server cannot tell is a repeat;
   * `status` for one that may be sent again after a 429 or 503 (not applied) but not after a lost
   * connection (it may have been applied, and its repeat may not answer as the first would).
   */
  retry: boolean | 'status';
}

/**
 * Sends `request` with a bearer token under the policy. Returns the last answer, whatever its
 * status (the caller maps a failure to its error); throws only for a missing token or a connection
 * failure that is not retried.
 */
export async function sendAuthorized(client: AuthorizedFetch, request: AuthorizedRequest): Promise<Response> {
  const { auth, policy } = client;
  let refreshed = false;
  for (let attempt = 0; ; attempt++) {
    const token = (await auth.getAccessToken()).token;
    if (!token) throw client.noToken();
    const retryable = request.retry && attempt < policy.maxRetries;
    let res: Response;
    try {
      res = await client.fetch(request.url, {
        method: request.method,
        headers: {
          authorization: `Bearer ${token}`,
          ...(request.body !== undefined ? { 'content-type': 'application/json' } : {}),
        },
        ...(request.body !== undefined ? { body: JSON.stringify(request.body) } : {}),
      });
    } catch (e) {
      if (!retryable || request.retry === 'status')
        throw client.connectionFailed ? client.connectionFailed(e as Error) : e;
      await policy.wait(attempt);
      continue;
    }
    if (res.status === 401 && !refreshed && auth.setCredentials && auth.credentials) {
      refreshed = true;
      auth.setCredentials({ ...auth.credentials, expiry_date: 1 });
      await res.body?.cancel();
      attempt--;
      continue;
    }
    if (!RETRYABLE_STATUS.has(res.status) || !retryable) return res;
    await res.body?.cancel();
    await policy.wait(attempt, res);
  }
}

/** An answer's JSON body: `{}` when empty, and a Google-shaped error around text that is not JSON. */
export async function readJson(res: Response): Promise<unknown> {
  const text = await res.text();
  if (!text) return {};
  try {
    return JSON.parse(text);
  } catch {
    return { error: { message: text.slice(0, 200) } };
  }
}
