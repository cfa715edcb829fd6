/**
 * Our client for the Workflows Executions API v1 (REST; no Workflows client library is installed):
 * create an execution with labels, list a workflow's executions by filter (all pages, `view=FULL` so
 * that labels come back), cancel one. google-auth-library credentials, an endpoint override (the
 * local edge in tests), typed errors per google.rpc status (google-errors.ts).
 *
 * Reads (list) and cancel are retried under the Google clients' one policy (retry.ts: 429 / 503 /
 * connection failures, Retry-After, exponential backoff with full jitter). **`create` is never
 * retried here**: the API has no request id, so a retry after a lost answer could start a second
 * execution; the caller's retry goes through the start guard (execution-starter.ts), which finds
 * the first one by its label.
 */

import { fromHttp } from './google-errors.ts';
import { type AuthorizedFetch, authorizedFetch, readJson, sendAuthorized } from './retry.ts';
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
  /** Retries of a list or cancel after the first attempt (default 5); never of a create. */
  maxRetries?: number;
}

export class WorkflowExecutionsClient {
  readonly #endpoint: string;
  readonly #api: AuthorizedFetch;

  constructor(config: ExecutionsClientConfig) {
    this.#endpoint = (config.endpoint ?? DEFAULT_EXECUTIONS_ENDPOINT).replace(/\/+$/, '');
    this.#api = authorizedFetch({ ...config, maxRetries: config.maxRetries ?? 5 });
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
    const res = await sendAuthorized(this.#api, {
      method,
      url: `${this.#endpoint}${path}${qs}`,
      body: options.body,
      retry: options.retry,
    });
    const body = await readJson(res);
    if (res.ok) return body;
    throw fromHttp(res.status, body);
  }
}
