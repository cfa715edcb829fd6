/**
 * Our client for the Workflows Executions API v1 (REST; no Workflows client library is installed):
 * create an execution with labels, list a workflow's executions by filter (all pages, `view=FULL` so
 * that labels come back), cancel one. google-auth-library credentials, an endpoint override (the
 * local edge in tests), typed errors per google.rpc status (google-errors.ts).
 *
 * Reads (list) are retried on 429 / 503 / connection failures with exponential backoff and full
 * jitter. **`create` is never retried here**: the API has no request id, so a retry after a lost
 * answer could start a second execution; the caller's retry goes through the start guard
 * (execution-starter.ts), which finds the first one by its label.
 */

import { sleep } from '#core/clock.ts';
import { fromHttp, Unauthenticated } from './google-errors.ts';
import type { AccessTokenSource } from './transport-client.ts';

export const DEFAULT_EXECUTIONS_ENDPOINT = 'https://workflowexecutions.googleapis.com';

export interface ExecutionSummary {
  /** `projects/{p}/locations/{l}/workflows/{w}/executions/{id}`. */
  name: string;
  state: 'ACTIVE' | 'SUCCEEDED' | 'FAILED' | 'CANCELLED' | 'QUEUED' | 'UNAVAILABLE' | string;
  startTime?: string;
  labels?: Record<string, string>;
}

export interface ExecutionsClientConfig {
  auth: AccessTokenSource;
  endpoint?: string;
  fetch?: typeof fetch;
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
  /** Retries of a read after the first attempt (default 5). */
  maxRetries?: number;
}

const RETRYABLE = new Set([429, 503]);

export class WorkflowExecutionsClient {
  readonly #auth: AccessTokenSource;
  readonly #endpoint: string;
  readonly #fetch: typeof fetch;
  readonly #sleep: (ms: number) => Promise<void>;
  readonly #random: () => number;
  readonly #maxRetries: number;

  constructor(config: ExecutionsClientConfig) {
    this.#auth = config.auth;
    this.#endpoint = (config.endpoint ?? DEFAULT_EXECUTIONS_ENDPOINT).replace(/\/+$/, '');
    this.#fetch = config.fetch ?? fetch;
    this.#sleep = config.sleep ?? sleep;
    this.#random = config.random ?? Math.random;
    this.#maxRetries = config.maxRetries ?? 5;
  }

  /** Starts an execution of `workflow` (its full name); `argument` is sent as the JSON text the API wants. */
  async create(
    workflow: string,
    body: { argument: unknown; labels?: Record<string, string> },
  ): Promise<ExecutionSummary> {
    return (await this.#call('POST', `/v1/${workflow}/executions`, {
      body: { argument: JSON.stringify(body.argument), ...(body.labels ? { labels: body.labels } : {}) },
      retry: false,
    })) as ExecutionSummary;
  }

  /** Every execution of `workflow` matching `filter` (AIP-160, e.g. `labels.k="v"`), newest first. */
  async list(workflow: string, filter: string): Promise<ExecutionSummary[]> {
    const out: ExecutionSummary[] = [];
    let pageToken: string | undefined;
    do {
      const query: Record<string, string> = { filter, view: 'FULL', pageSize: '100' };
      if (pageToken) query.pageToken = pageToken;
      const page = (await this.#call('GET', `/v1/${workflow}/executions`, { query, retry: true })) as {
        executions?: ExecutionSummary[];
        nextPageToken?: string;
      };
      out.push(...(page.executions ?? []));
      pageToken = page.nextPageToken || undefined;
    } while (pageToken);
    return out;
  }

  async cancel(name: string): Promise<ExecutionSummary> {
    return (await this.#call('POST', `/v1/${name}:cancel`, { body: {}, retry: true })) as ExecutionSummary;
  }

  async #call(
    method: 'GET' | 'POST',
    path: string,
    options: { query?: Record<string, string>; body?: unknown; retry: boolean },
  ): Promise<unknown> {
    const qs = options.query ? `?${new URLSearchParams(options.query)}` : '';
    const url = `${this.#endpoint}${path}${qs}`;
    for (let attempt = 0; ; attempt++) {
      const token = (await this.#auth.getAccessToken()).token;
      if (!token) throw new Unauthenticated('UNAUTHENTICATED', 'the credentials gave no access token', 401);
      const retryable = options.retry && attempt < this.#maxRetries;
      let res: Response;
      try {
        res = await this.#fetch(url, {
          method,
          headers: {
            authorization: `Bearer ${token}`,
            ...(options.body !== undefined ? { 'content-type': 'application/json' } : {}),
          },
          ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
        });
      } catch (e) {
        if (!retryable) throw e;
        await this.#sleep(this.#backoff(attempt));
        continue;
      }
      const text = await res.text();
      let body: unknown = {};
      try {
        body = text ? JSON.parse(text) : {};
      } catch {
        body = { error: { message: text.slice(0, 200) } };
      }
      if (res.ok) return body;
      if (RETRYABLE.has(res.status) && retryable) {
        await this.#sleep(this.#backoff(attempt));
        continue;
      }
      throw fromHttp(res.status, body);
    }
  }

  #backoff(attempt: number): number {
    return Math.floor(this.#random() * Math.min(30_000, 500 * 2 ** attempt));
  }
}
