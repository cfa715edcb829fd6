/**
 * What the Workflows interpreter needs from the world, injected so the same engine runs in unit
 * tests (a manual clock, fake HTTP), in `crosslink sim workflow run` and inside the local cloud (the
 * virtual clock, the Google edge's tokens and callback URLs). The clock is always local/clock.ts's.
 */
import type { TimerClock } from '../clock.ts';

export interface HttpRequest {
  method: string;
  url: string;
  headers: Record<string, string>;
  body?: Uint8Array;
  /** Wall-clock budget for the request (Workflows `timeout`, seconds -> ms). */
  timeoutMs: number;
}

export interface HttpResponse {
  status: number;
  headers: Record<string, string>;
  body: Uint8Array;
}

/** Why a request produced no response: maps to ConnectionFailedError / ConnectionError / TimeoutError. */
export class HttpTransportError extends Error {
  readonly kind: 'connection-failed' | 'connection' | 'timeout';
  constructor(kind: 'connection-failed' | 'connection' | 'timeout', message: string) {
    super(message);
    this.name = 'HttpTransportError';
    this.kind = kind;
  }
}

export type HttpPort = (req: HttpRequest) => Promise<HttpResponse>;

/** Tokens for `auth: {type: OAuth2 | OIDC}`: the local Google edge supplies real ones. */
export interface TokenProvider {
  accessToken(scopes: string[]): Promise<string>;
  idToken(audience: string): Promise<string>;
}

/** What `events.await_callback` returns (`http_request` as the callback received it). */
export interface CallbackRequest {
  http_request: {
    body: unknown;
    headers: Record<string, string>;
    method: string;
    query: Record<string, string[]>;
    url: string;
  };
  received_time: string;
  type: 'HTTP';
}

/** Callback endpoints of executions (local/workflows/callbacks.ts implements it). */
export interface CallbackPort {
  create(executionName: string, method: string): { url: string };
  /** Resolves with the first undelivered request; rejects with a TimeoutError value on timeout. */
  await(url: string, timeoutMs: number, signal: AbortSignal): Promise<CallbackRequest>;
}

export interface LogEntry {
  severity: string;
  time: string;
  execution: string;
  step: string;
  text?: string;
  json?: unknown;
}

/** Identity of the running execution, for `sys.get_env` and resource names. */
export interface ExecutionIdentity {
  project: string;
  projectNumber: string;
  location: string;
  workflow: string;
  revision: string;
  execution: string;
}

export function executionName(id: ExecutionIdentity): string {
  return `projects/${id.project}/locations/${id.location}/workflows/${id.workflow}/executions/${id.execution}`;
}

export interface WorkflowPorts {
  clock: TimerClock;
  http?: HttpPort;
  tokens?: TokenProvider;
  callbacks?: CallbackPort;
  /** User environment variables of the workflow (`sys.get_env`). */
  env?: Record<string, string>;
  log?: (entry: LogEntry) => void;
  /** Whether a URL is billed as an internal step (Google APIs, Cloud Run, Cloud Functions). */
  isInternalUrl?: (url: string) => boolean;
  /** Random UUIDs (`uuid.generate`); injectable for reproducible runs. */
  uuid?: () => string;
}

/**
 * Google bills HTTP calls to its own APIs and hosting as internal steps (Workflows pricing page:
 * *.googleapis.com, *.cloud.goog, *.appspot.com, Cloud Run functions, *.run.app).
 */
export function defaultIsInternalUrl(url: string): boolean {
  let host: string;
  try {
    host = new URL(url).hostname;
  } catch {
    return false;
  }
  return /(^|\.)(googleapis\.com|cloud\.goog|appspot\.com|run\.app|cloudfunctions\.net)$/.test(host);
}

/** The default HTTP port: Node's fetch, with transport failures classified as Workflows does. */
export const fetchHttp: HttpPort = async (req) => {
  const init: RequestInit = {
    method: req.method,
    headers: req.headers,
    signal: AbortSignal.timeout(req.timeoutMs),
    redirect: 'follow',
  };
  if (req.body !== undefined) init.body = req.body as unknown as NonNullable<RequestInit['body']>;
  let res: Response;
  try {
    res = await fetch(req.url, init);
  } catch (e) {
    const err = e as Error & { cause?: { code?: string } };
    if (err.name === 'TimeoutError' || err.name === 'AbortError')
      throw new HttpTransportError('timeout', `HTTP request to ${req.url} timed out`);
    const code = err.cause?.code ?? '';
    if (['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH'].includes(code))
      throw new HttpTransportError('connection-failed', `could not connect to ${req.url} (${code})`);
    throw new HttpTransportError(
      'connection',
      `connection to ${req.url} failed: ${err.cause ? code || String(err.cause) : err.message}`,
    );
  }
  let body: Uint8Array;
  try {
    body = new Uint8Array(await res.arrayBuffer());
  } catch (e) {
    throw new HttpTransportError(
      'connection',
      `reading the response of ${req.url} failed: ${(e as Error).message}`,
    );
  }
  const headers: Record<string, string> = {};
  res.headers.forEach((v, k) => {
    headers[k] = v;
  });
  return { status: res.status, headers, body };
};

/**
 * Sends calls to `https://<service>.googleapis.com/...` to the local Google edge instead, so the
 * project's workflows run unchanged: the path is kept and the original host travels in
 * `x-forwarded-host` (the edge routes on it). A function's `https://<region>-<project>.cloudfunctions.net/<name>`
 * goes to the edge's `/<region>-<project>.cloudfunctions.net/<name>`. Billing still sees the
 * original URL (internal).
 */
export function viaLocalGoogleEdge(edgeOrigin: string, inner: HttpPort = fetchHttp): HttpPort {
  const edge = edgeOrigin.replace(/\/$/, '');
  return (req) => {
    let url: URL;
    try {
      url = new URL(req.url);
    } catch {
      return inner(req);
    }
    // A function's cloud URL (https://<region>-<project>.cloudfunctions.net/<name>) is served by
    // the edge under /<host>/<name>.
    if (url.protocol === 'https:' && /^[a-z0-9-]+\.cloudfunctions\.net$/.test(url.hostname))
      return inner({ ...req, url: `${edge}/${url.hostname}${url.pathname}${url.search}` });
    if (!/(^|\.)googleapis\.com$/.test(url.hostname)) return inner(req);
    return inner({
      ...req,
      url: `${edge}${url.pathname}${url.search}`,
      headers: { ...req.headers, 'x-forwarded-host': url.hostname },
    });
  };
}
