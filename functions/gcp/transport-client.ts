/**
 * Our client for Network Connectivity TransportManager v1beta (REST), until
 * `@google-cloud/network-connectivity` is in the reachable registry: google-auth-library
 * credentials, long-running operations polled with an injectable sleep, a `requestId` (UUID) on
 * every mutation so that every call may be retried (the Google clients' one policy, retry.ts),
 * typed errors per google.rpc status (google-errors.ts), and an endpoint override.
 *
 * Activation keys: the API returns `generatedActivationKey` (and echoes `providedActivationKey`) on
 * every read. This client strips both from everything it returns, except:
 * - `createTransport()`, which issues the key (Google first): its result carries `activationKey`
 *   separately from the stripped transport, for the caller to store in Secret Manager at once;
 * - `fetchGeneratedActivationKey()`, the explicit re-read for a caller that crashed before storing it.
 */
import { randomUUID } from 'node:crypto';
import { sleep } from '#core/clock.ts';
import type { GcpTransportState } from '#core/link/model.ts';
import {
  DeadlineExceeded,
  fromHttp,
  fromOperation,
  GoogleApiError,
  NotFound,
  Unavailable,
} from './google-errors.ts';
import { type AuthorizedFetch, authorizedFetch, readJson, sendAuthorized } from './retry.ts';

export const DEFAULT_ENDPOINT = 'https://networkconnectivity.googleapis.com';

/** `Transport.State`: the core's list (functions/core/link/model.ts), which the local cloud serves too. */
export type TransportState = GcpTransportState;

/** A transport as this client returns it: never with an activation key. */
export interface Transport {
  name: string;
  createTime?: string;
  updateTime?: string;
  labels?: Record<string, string>;
  description?: string;
  remoteProfile?: string;
  bandwidth?: string;
  stackType?: 'IPV4_ONLY' | 'IPV4_IPV6';
  state?: TransportState;
  mtuLimit?: number;
  /** proto3 JSON omits `false`: absent means disabled. */
  adminEnabled?: boolean;
  network?: string;
  advertisedRoutes?: string[];
  remoteAccountId?: string;
  peeringNetwork?: string;
}

/**
 * What CreateTransport takes. Without a key: `remoteProfile` (its resource name), `bandwidth` and
 * `remoteAccountId`; with `providedActivationKey`, none of the three (the key names them).
 */
export interface NewTransport {
  network: string;
  remoteProfile?: string;
  bandwidth?: string;
  providedActivationKey?: string;
  remoteAccountId?: string;
  description?: string;
  labels?: Record<string, string>;
  advertisedRoutes?: string[];
  stackType?: 'IPV4_ONLY' | 'IPV4_IPV6';
  adminEnabled?: boolean;
}

/** The four fields UpdateTransport may change. */
export interface TransportPatch {
  description?: string;
  advertisedRoutes?: string[];
  providedActivationKey?: string;
  adminEnabled?: boolean;
}

export interface RemoteTransportProfile {
  name: string;
  description?: string;
  provider?: string;
  providerSite?: string;
  supportedBandwidths?: string[];
  sla?: 'HIGH' | 'MAXIMUM';
  flow?: 'INPUT_ONLY' | 'OUTPUT_ONLY' | 'INPUT_OR_OUTPUT';
  orderState?: 'OPEN' | 'CLOSED';
  displayName?: string;
}

export interface Operation {
  name: string;
  done?: boolean;
  metadata?: Record<string, unknown>;
  response?: Record<string, unknown>;
  error?: { code?: number; message?: string; details?: unknown[] };
}

export interface Page<T> {
  items: T[];
  nextPageToken: string | undefined;
  /** Locations that could not be reached: what they hold is unknown, not deleted. */
  unreachable: string[];
}

/** The part of a google-auth-library client we use (JWT, GoogleAuth's clients, impersonated...). */
export interface AccessTokenSource {
  getAccessToken(): Promise<{ token?: string | null }>;
  credentials?: object;
  setCredentials?(credentials: { expiry_date?: number | null }): void;
}

export interface TransportClientConfig {
  project: string;
  location: string;
  auth: AccessTokenSource;
  /** Base URL (default https://networkconnectivity.googleapis.com); the local edge in tests. */
  endpoint?: string;
  /** Waits between polls and retries (inject the virtual clock's sleep, or a fake, in tests). */
  sleep?: (ms: number) => Promise<void>;
  /** Jitter source in [0, 1). */
  random?: () => number;
  /** Retries of 429 / 503 / connection failures after the first attempt (default 5). */
  maxRetries?: number;
  retryBaseDelayMs?: number;
  retryMaxDelayMs?: number;
  /** Operation polling interval (default 10 s) and give-up time (default 30 min, summed sleeps). */
  pollIntervalMs?: number;
  pollTimeoutMs?: number;
  newRequestId?: () => string;
  fetch?: typeof fetch;
}

/** The operation did not finish within `pollTimeoutMs`. */
export class OperationTimeout extends GoogleApiError {
  readonly operation: string;
  constructor(operation: string, waitedMs: number) {
    super('DEADLINE_EXCEEDED', `operation ${operation} not done after ${waitedMs} ms of polling`);
    this.operation = operation;
  }
}

/** Drops activation keys from a transport the API returned. */
export function stripKeys(t: Record<string, unknown>): Transport {
  const { generatedActivationKey: _g, providedActivationKey: _p, '@type': _t, ...rest } = t;
  return rest as unknown as Transport;
}

export class TransportClient {
  readonly project: string;
  readonly location: string;
  readonly #endpoint: string;
  readonly #sleep: (ms: number) => Promise<void>;
  readonly #api: AuthorizedFetch;
  readonly #poll: number;
  readonly #pollTimeout: number;
  readonly #newRequestId: () => string;

  constructor(config: TransportClientConfig) {
    this.project = config.project;
    this.location = config.location;
    this.#endpoint = (config.endpoint ?? DEFAULT_ENDPOINT).replace(/\/+$/, '');
    this.#sleep = config.sleep ?? sleep;
    this.#api = authorizedFetch({
      auth: config.auth,
      fetch: config.fetch,
      sleep: this.#sleep,
      maxRetries: config.maxRetries,
      random: config.random,
      baseDelayMs: config.retryBaseDelayMs,
      maxDelayMs: config.retryMaxDelayMs,
    });
    this.#poll = config.pollIntervalMs ?? 10_000;
    this.#pollTimeout = config.pollTimeoutMs ?? 30 * 60_000;
    this.#newRequestId = config.newRequestId ?? randomUUID;
  }

  get parent(): string {
    return `projects/${this.project}/locations/${this.location}`;
  }

  transportName(id: string): string {
    return `${this.parent}/transports/${id}`;
  }

  // ---------- profiles ----------

  async listRemoteTransportProfiles(
    options: { pageSize?: number; pageToken?: string } = {},
  ): Promise<Page<RemoteTransportProfile>> {
    const res = (await this.#call('GET', `/v1beta/${this.parent}/remoteTransportProfiles`, {
      query: pageQuery(options),
    })) as {
      remoteTransportProfiles?: RemoteTransportProfile[];
      nextPageToken?: string;
      unreachable?: string[];
    };
    return {
      items: res.remoteTransportProfiles ?? [],
      nextPageToken: res.nextPageToken || undefined,
      unreachable: res.unreachable ?? [],
    };
  }

  /** A profile by its resource name (`projects/*\/locations/*\/remoteTransportProfiles/*`), or its id here. */
  async getRemoteTransportProfile(nameOrId: string): Promise<RemoteTransportProfile> {
    const name = nameOrId.startsWith('projects/')
      ? nameOrId
      : `${this.parent}/remoteTransportProfiles/${encodeURIComponent(nameOrId)}`;
    return (await this.#call('GET', `/v1beta/${name}`)) as RemoteTransportProfile;
  }

  // ---------- transports ----------

  async getTransport(id: string): Promise<Transport> {
    return stripKeys(
      (await this.#call('GET', `/v1beta/${this.transportName(id)}`)) as Record<string, unknown>,
    );
  }

  /**
   * Whether a transport exists, for a watcher that did not find it in a list: `absent` only on a
   * 404 from Get; `unknown` when its location is unreachable (503) or still failing after retries.
   */
  async transportPresence(id: string): Promise<'present' | 'absent' | 'unknown'> {
    try {
      await this.getTransport(id);
      return 'present';
    } catch (e) {
      if (e instanceof NotFound) return 'absent';
      if (e instanceof Unavailable || e instanceof DeadlineExceeded) return 'unknown';
      throw e;
    }
  }

  /** One page; `location: '-'` lists every location (then check `unreachable`). */
  async listTransports(
    options: {
      pageSize?: number;
      pageToken?: string;
      filter?: string;
      orderBy?: string;
      location?: string;
    } = {},
  ): Promise<Page<Transport>> {
    const parent = `projects/${this.project}/locations/${options.location ?? this.location}`;
    const res = (await this.#call('GET', `/v1beta/${parent}/transports`, {
      query: {
        ...pageQuery(options),
        ...(options.filter ? { filter: options.filter } : {}),
        ...(options.orderBy ? { orderBy: options.orderBy } : {}),
      },
    })) as { transports?: Record<string, unknown>[]; nextPageToken?: string; unreachable?: string[] };
    return {
      items: (res.transports ?? []).map(stripKeys),
      nextPageToken: res.nextPageToken || undefined,
      unreachable: res.unreachable ?? [],
    };
  }

  /** Every page, with the union of `unreachable`. */
  async listAllTransports(
    options: { pageSize?: number; filter?: string; orderBy?: string; location?: string } = {},
  ): Promise<{ items: Transport[]; unreachable: string[] }> {
    const items: Transport[] = [];
    const unreachable = new Set<string>();
    let pageToken: string | undefined;
    do {
      const page = await this.listTransports({ ...options, ...(pageToken ? { pageToken } : {}) });
      items.push(...page.items);
      for (const u of page.unreachable) unreachable.add(u);
      pageToken = page.nextPageToken;
    } while (pageToken);
    return { items, unreachable: [...unreachable] };
  }

  /**
   * Creates a transport and waits for its operation. The one call that issues a key: when Google
   * generates one (Google first), it is returned as `activationKey`, never inside `transport`.
   */
  async createTransport(
    id: string,
    transport: NewTransport,
    options: { requestId?: string; wait?: boolean } = {},
  ): Promise<{ transport: Transport | undefined; activationKey: string | undefined; operation: string }> {
    const requestId = options.requestId ?? this.#newRequestId();
    const op = (await this.#call('POST', `/v1beta/${this.parent}/transports`, {
      query: { transportId: id, requestId },
      body: transport,
    })) as Operation;
    if (options.wait === false) return { transport: undefined, activationKey: undefined, operation: op.name };
    const done = await this.waitOperation(op);
    const raw = (done.response ?? {}) as Record<string, unknown>;
    const key = typeof raw.generatedActivationKey === 'string' ? raw.generatedActivationKey : undefined;
    return { transport: stripKeys(raw), activationKey: key, operation: op.name };
  }

  /** Re-reads the generated key of a transport (only to recover from a crash before it was stored). */
  async fetchGeneratedActivationKey(id: string): Promise<string | undefined> {
    const raw = (await this.#call('GET', `/v1beta/${this.transportName(id)}`)) as Record<string, unknown>;
    return typeof raw.generatedActivationKey === 'string' ? raw.generatedActivationKey : undefined;
  }

  /** Updates any of the four updatable fields (the mask is exactly the fields given) and waits. */
  async updateTransport(
    id: string,
    patch: TransportPatch,
    options: { requestId?: string } = {},
  ): Promise<Transport> {
    const fields = Object.keys(patch).filter((k) => (patch as Record<string, unknown>)[k] !== undefined);
    if (fields.length === 0) throw new RangeError('updateTransport needs at least one field');
    const mask = fields.map((f) => f.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)).join(',');
    const op = (await this.#call('PATCH', `/v1beta/${this.transportName(id)}`, {
      query: { updateMask: mask, requestId: options.requestId ?? this.#newRequestId() },
      body: patch,
    })) as Operation;
    const done = await this.waitOperation(op);
    return stripKeys((done.response ?? {}) as Record<string, unknown>);
  }

  /**
   * Deletes a transport and waits until it is gone. `alreadyGone` when it did not exist (a 404 on
   * delete: safe to treat as done on a retry). Never touches the AWS half.
   */
  async deleteTransport(id: string, options: { requestId?: string } = {}): Promise<{ alreadyGone: boolean }> {
    let op: Operation;
    try {
      op = (await this.#call('DELETE', `/v1beta/${this.transportName(id)}`, {
        query: { requestId: options.requestId ?? this.#newRequestId() },
      })) as Operation;
    } catch (e) {
      if (e instanceof NotFound) return { alreadyGone: true };
      throw e;
    }
    await this.waitOperation(op);
    return { alreadyGone: false };
  }

  /** Polls an operation until `done`; throws its error as a typed error. */
  async waitOperation(op: Operation): Promise<Operation> {
    let current = op;
    let waited = 0;
    while (!current.done) {
      if (waited >= this.#pollTimeout) throw new OperationTimeout(op.name, waited);
      await this.#sleep(this.#poll);
      waited += this.#poll;
      current = (await this.#call('GET', `/v1beta/${op.name}`)) as Operation;
    }
    if (current.error) throw fromOperation(current.error);
    return current;
  }

  // ---------- transport ----------

  async #call(
    method: 'GET' | 'POST' | 'PATCH' | 'DELETE',
    path: string,
    options: { query?: Record<string, string>; body?: unknown } = {},
  ): Promise<unknown> {
    const qs =
      options.query && Object.keys(options.query).length > 0 ? `?${new URLSearchParams(options.query)}` : '';
    // Every call may be retried: reads are safe, and mutations carry their requestId.
    const res = await sendAuthorized(this.#api, {
      method,
      url: `${this.#endpoint}${path}${qs}`,
      body: options.body,
      retry: true,
    });
    const body = await readJson(res);
    if (res.ok) return body;
    throw fromHttp(res.status, body);
  }
}

function pageQuery(options: { pageSize?: number; pageToken?: string }): Record<string, string> {
  return {
    ...(options.pageSize !== undefined ? { pageSize: String(options.pageSize) } : {}),
    ...(options.pageToken ? { pageToken: options.pageToken } : {}),
  };
}
