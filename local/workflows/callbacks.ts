/**
 * Callback endpoints (`events.create_callback_endpoint` / `events.await_callback`). Each endpoint
 * queues the requests it receives, so a callback that arrives before the workflow awaits it is not
 * lost (as in the cloud); each await takes one. Timeouts run on the injected (virtual) clock.
 */
import { randomBytes } from 'node:crypto';
import type { TimerClock } from '../clock.ts';
import type { CallbackPort, CallbackRequest } from './ports.ts';
import { tagged, valueError, WorkflowsError } from './values.ts';

interface Endpoint {
  execution: string;
  method: string;
  queue: CallbackRequest[];
  waiter?: (r: CallbackRequest) => void;
}

/** A request as the HTTP layer received it. */
export interface IncomingCallback {
  method: string;
  headers: Record<string, string>;
  query: Record<string, string[]>;
  body: unknown;
  url: string;
}

export type DeliveryResult =
  | { status: 200 }
  | { status: 404; message: string }
  | { status: 400; message: string };

export class CallbackHub implements CallbackPort {
  readonly #clock: TimerClock;
  #base: string;
  readonly #endpoints = new Map<string, Endpoint>();

  /** `baseUrl` is the origin callbacks are served on (set it once the server listens). */
  constructor(clock: TimerClock, baseUrl = 'http://127.0.0.1') {
    this.#clock = clock;
    this.#base = baseUrl.replace(/\/$/, '');
  }

  set baseUrl(url: string) {
    this.#base = url.replace(/\/$/, '');
  }

  get baseUrl(): string {
    return this.#base;
  }

  create(executionName: string, method: string): { url: string } {
    const id = randomBytes(16).toString('hex');
    const path = `/v1/${executionName}/callbacks/${id}`;
    this.#endpoints.set(path, { execution: executionName, method, queue: [] });
    return { url: `${this.#base}${path}` };
  }

  /** The path part of a callback URL (the key endpoints are stored under). */
  static pathOf(url: string): string {
    try {
      return new URL(url).pathname;
    } catch {
      return url;
    }
  }

  await(url: string, timeoutMs: number, signal: AbortSignal): Promise<CallbackRequest> {
    const ep = this.#endpoints.get(CallbackHub.pathOf(url));
    if (!ep)
      return Promise.reject(
        valueError(`events.await_callback: ${url} is not a callback endpoint of this execution`),
      );
    const queued = ep.queue.shift();
    if (queued) return Promise.resolve(queued);
    if (ep.waiter)
      return Promise.reject(valueError(`events.await_callback: ${url} is already being awaited`));
    return new Promise((resolve, reject) => {
      const done = () => {
        ep.waiter = undefined;
        timer.cancel();
        signal.removeEventListener('abort', onAbort);
      };
      const onAbort = () => {
        done();
        reject(signal.reason instanceof Error ? signal.reason : new Error('cancelled'));
      };
      const timer = this.#clock.after(timeoutMs, () => {
        done();
        reject(
          tagged(
            'TimeoutError',
            `Timeout occurred while waiting for a callback: no request to ${url} within ${timeoutMs / 1000} s`,
          ),
        );
      });
      ep.waiter = (r) => {
        done();
        resolve(r);
      };
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** Delivers an HTTP request to the endpoint at `path`. */
  deliver(path: string, req: IncomingCallback): DeliveryResult {
    const ep = this.#endpoints.get(path);
    if (!ep)
      return { status: 404, message: `callback endpoint ${path} not found (or its execution has ended)` };
    if (req.method.toUpperCase() !== ep.method)
      return {
        status: 400,
        message: `this callback endpoint accepts ${ep.method} requests, not ${req.method}`,
      };
    const r: CallbackRequest = {
      http_request: {
        body: req.body,
        headers: req.headers,
        method: req.method,
        query: req.query,
        url: req.url,
      },
      received_time: new Date(this.#clock.now()).toISOString(),
      type: 'HTTP',
    };
    if (ep.waiter) ep.waiter(r);
    else ep.queue.push(r);
    return { status: 200 };
  }

  /** Whether an execution has callbacks waiting for a request (status, tests). */
  waiting(executionName: string): number {
    let n = 0;
    for (const ep of this.#endpoints.values()) if (ep.execution === executionName && ep.waiter) n++;
    return n;
  }

  /** URLs of an execution's callbacks being awaited right now. */
  waitingUrls(executionName: string): string[] {
    const out: string[] = [];
    for (const [path, ep] of this.#endpoints)
      if (ep.execution === executionName && ep.waiter) out.push(`${this.#base}${path}`);
    return out;
  }

  /** Drops an ended execution's endpoints: later requests get 404 as in the cloud. */
  close(executionName: string): void {
    for (const [path, ep] of this.#endpoints)
      if (ep.execution === executionName) this.#endpoints.delete(path);
  }
}

export { WorkflowsError };
