/**
 * The Google edge: one HTTP server for every simulated Google API. Each real service has its own
 * hostname (networkconnectivity.googleapis.com, cloudkms.googleapis.com, ...); here every client gets
 * the edge as its `apiEndpoint` and the edge routes by path, using the services' REST path
 * templates (which do not collide). A `/<host>/...` path prefix (e.g.
 * `/cloudkms.googleapis.com/v1/...`) or a `Host: <name>.googleapis.com` header restricts routing to
 * that service. For each call the edge authenticates the bearer token (401 UNAUTHENTICATED when it
 * is missing, unknown or expired), refuses a call to an API the project has not enabled (403
 * SERVICE_DISABLED, services/serviceusage.ts), applies injected faults (the registry shared with the AWS edge,
 * `edge: 'gcp'`), parses the body, calls the module's handler with the verified caller and serializes
 * the answer or the google.rpc error. `/_crosslink/...` is the admin API (same as the AWS edge's).
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { setTimeout as wallSleep } from 'node:timers/promises';
import type { VirtualClock } from '#local/clock.ts';
import type { FaultRegistry } from '#local/faults.ts';
import type { Random } from '#local/random.ts';
import { type AdminHandler, serveAdmin } from '../admin-http.ts';
import { closeServer, listenLoopback } from '../listen.ts';
import { type GcpAuth, isAuthFailure } from './auth.ts';
import { errorInfo, GcpError, statusForHttp } from './errors.ts';
import { METHOD_PERMISSIONS, resourceOf } from './iam/permissions.ts';
import { type GcpIam, permissionDenied } from './iam/policy.ts';
import {
  type AnyGcpService,
  type GcpRequestContext,
  type GcpRoute,
  type GcpWorld,
  type HttpMethod,
  Reply,
} from './service.ts';
import { serviceDisabled } from './services/serviceusage.ts';

const MAX_BODY = 16 * 1024 * 1024;
export const DEFAULT_GCP_PORT = 4580;

export type GcpAdminHandler = AdminHandler;

export interface GcpEdgeOptions {
  clock: VirtualClock;
  faults: FaultRegistry;
  random: Random;
  auth: GcpAuth;
  iam: GcpIam;
  services: readonly AnyGcpService[];
  project: string;
  region: string;
  settings?: Record<string, unknown>;
  log?: (message: string) => void;
}

/** One API call the edge answered (audit logs of local/gcp/audit-log.ts are made from these). */
export interface EdgeCall {
  service: string;
  host: string;
  operation: string;
  method: string;
  path: string;
  params: Record<string, string>;
  query: URLSearchParams;
  // biome-ignore lint/suspicious/noExplicitAny: the parsed JSON body, as handlers see it.
  body: any;
  caller: GcpRequestContext['caller'];
  /** HTTP status of the answer, and its JSON body (the google.rpc error on failure). */
  status: number;
  response: unknown;
  userAgent: string | undefined;
  /** Virtual ms. */
  at: number;
}

/** A handler given the raw request first: returns true when it took it (mounted APIs, function URLs). */
export type RawHandler = (req: IncomingMessage, res: ServerResponse) => boolean;

interface CompiledRoute {
  service: AnyGcpService;
  route: GcpRoute<unknown>;
  segments: { literal?: string; name?: string; rest?: boolean }[];
  verb: string | undefined;
}

/** Splits a template or a path into segments and the custom verb of the last one. */
function splitPath(path: string): { segments: string[]; verb: string | undefined } {
  const segments = path.split('/').filter((s) => s.length > 0);
  let verb: string | undefined;
  const last = segments[segments.length - 1];
  if (last !== undefined) {
    const colon = last.lastIndexOf(':');
    // `{var=**}` and `projects/-` never carry a verb; a colon inside braces is not one either.
    if (colon > 0 && !last.startsWith('{')) {
      verb = last.slice(colon + 1);
      segments[segments.length - 1] = last.slice(0, colon);
    } else if (last.startsWith('{') && last.includes('}:')) {
      verb = last.slice(last.indexOf('}:') + 2);
      segments[segments.length - 1] = last.slice(0, last.indexOf('}:') + 1);
    }
  }
  return { segments, verb };
}

function compile(service: AnyGcpService, route: GcpRoute<unknown>): CompiledRoute {
  const { segments, verb } = splitPath(route.path);
  return {
    service,
    route,
    verb,
    segments: segments.map((s) => {
      const m = /^\{([A-Za-z_][A-Za-z0-9_.]*)(=\*\*)?\}$/.exec(s);
      if (m) return { name: m[1] as string, rest: m[2] !== undefined };
      return { literal: s };
    }),
  };
}

function match(
  c: CompiledRoute,
  method: string,
  path: string,
  strict: boolean,
): Record<string, string> | undefined {
  if (c.route.method !== method) return undefined;
  const { segments, verb } = splitPath(path);
  if (verb !== c.verb) {
    // Lenient pass only: a last segment that legitimately contains ':' (an email) under a
    // template without a verb. Strict matches (the verb is the template's) win first.
    if (strict || c.verb !== undefined) return undefined;
    if (verb !== undefined) segments[segments.length - 1] = `${segments[segments.length - 1]}:${verb}`;
  }
  const params: Record<string, string> = {};
  for (let i = 0; i < c.segments.length; i++) {
    const t = c.segments[i]!;
    if (t.rest) {
      if (i >= segments.length) return undefined;
      params[t.name!] = segments.slice(i).map(decodeURIComponent).join('/');
      return params;
    }
    const s = segments[i];
    if (s === undefined) return undefined;
    if (t.literal !== undefined) {
      if (t.literal !== s) return undefined;
    } else params[t.name!] = decodeURIComponent(s);
  }
  return segments.length === c.segments.length ? params : undefined;
}

export class GcpEdge {
  readonly world: GcpWorld;
  readonly services: ReadonlyMap<string, AnyGcpService>;
  #routes: CompiledRoute[] = [];
  #server: Server | undefined;
  #admin: GcpAdminHandler | undefined;
  #states = new Map<string, { project: string; state: unknown }>();
  #port = 0;
  #listeners: ((call: EdgeCall) => void)[] = [];
  #mounts: RawHandler[] = [];

  constructor(options: GcpEdgeOptions) {
    const services = new Map<string, AnyGcpService>();
    for (const s of options.services) {
      if (services.has(s.name)) throw new Error(`two Google service modules are named ${s.name}`);
      services.set(s.name, s);
      for (const r of s.routes) {
        const compiled = compile(s, r);
        const clash = this.#routes.find(
          (o) =>
            o.route.method === r.method &&
            o.route.path.replace(/\{[^}]+\}/g, '*') === r.path.replace(/\{[^}]+\}/g, '*'),
        );
        if (clash) {
          throw new Error(
            `route ${r.method} ${r.path} of ${s.name} clashes with ${clash.service.name}'s ${clash.route.path}`,
          );
        }
        this.#routes.push(compiled);
      }
    }
    this.services = services;
    const states = this.#states;
    const settings = options.settings ?? {};
    const log = options.log ?? (() => {});
    const world: GcpWorld = {
      clock: options.clock,
      faults: options.faults,
      random: options.random,
      auth: options.auth,
      iam: options.iam,
      project: options.project,
      region: options.region,
      endpoint: () => this.endpoint,
      stateOf<S>(service: string, project: string): S {
        const key = `${service}|${project}`;
        let entry = states.get(key);
        if (!entry) {
          const mod = services.get(service);
          if (!mod) throw new Error(`no Google service module named ${service}`);
          entry = { project, state: mod.createState?.(project, world) ?? {} };
          states.set(key, entry);
        }
        return entry.state as S;
      },
      projects(service: string) {
        return [...states.entries()].filter(([k]) => k.startsWith(`${service}|`)).map(([, v]) => v.project);
      },
      settings<T>(service: string): Partial<T> {
        return (settings[service] ?? {}) as Partial<T>;
      },
      updateSettings(service: string, patch: Record<string, unknown>) {
        settings[service] = { ...(settings[service] as Record<string, unknown> | undefined), ...patch };
      },
      extensions: new Map(),
      log,
    };
    this.world = world;
  }

  setAdmin(handler: GcpAdminHandler): void {
    this.#admin = handler;
  }

  /** Tells `listener` about every answered API call (not admin or mounted ones); returns an unsubscribe. */
  onCall(listener: (call: EdgeCall) => void): () => void {
    this.#listeners.push(listener);
    return () => {
      this.#listeners = this.#listeners.filter((l) => l !== listener);
    };
  }

  /** Gives `handler` each request before routing (it reads the body itself); returns an unmount. */
  mount(handler: RawHandler): () => void {
    this.#mounts.push(handler);
    return () => {
      this.#mounts = this.#mounts.filter((h) => h !== handler);
    };
  }

  get port(): number {
    return this.#port;
  }

  get endpoint(): string {
    return `http://127.0.0.1:${this.#port}`;
  }

  /** Listens on 127.0.0.1:`port` (0 = any free port); resolves with the real port. */
  async listen(port = DEFAULT_GCP_PORT): Promise<number> {
    const { server, port: bound } = await listenLoopback(
      (req, res) => this.#handle(req, res),
      port,
      this.world.clock,
    );
    this.#server = server;
    this.#port = bound;
    this.world.auth.setEndpoint(this.endpoint);
    for (const s of this.services.values()) await s.start?.(this.world);
    return this.#port;
  }

  async close(): Promise<void> {
    const server = this.#server;
    if (!server) return;
    this.#server = undefined;
    await closeServer(server);
  }

  /** What every simulated project holds, per service (`crosslink sim status`). */
  status(): Record<string, Record<string, unknown>> {
    const out: Record<string, Record<string, unknown>> = {};
    for (const [key, entry] of this.#states) {
      const name = key.split('|')[0] as string;
      const view = this.services.get(name)?.status?.(entry.state, entry.project);
      if (view === undefined) continue;
      out[entry.project] ??= {};
      (out[entry.project] as Record<string, unknown>)[name] = view;
    }
    return out;
  }

  /** Finds the module and route for a request (exported for part B's tests of their routes). */
  resolve(
    method: string,
    rawPath: string,
    host?: string,
  ): { route: CompiledRoute; params: Record<string, string>; path: string } | undefined {
    let path = rawPath;
    let only: string | undefined;
    const prefix = /^\/([a-z0-9-]+\.googleapis\.com)(\/.*)$/.exec(path);
    if (prefix) {
      only = prefix[1];
      path = prefix[2] as string;
    } else if (host && /\.googleapis\.com$/.test(host.replace(/:\d+$/, ''))) {
      only = host.replace(/:\d+$/, '');
    }
    const candidates = only ? this.#routes.filter((r) => r.service.host === only) : this.#routes;
    for (const strict of [true, false]) {
      for (const c of candidates) {
        const params = match(c, method, path, strict);
        if (params) return { route: c, params, path };
      }
    }
    return undefined;
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const requestId = randomUUID();
    let service: AnyGcpService | undefined;
    for (const mounted of this.#mounts) if (mounted(req, res)) return;
    let seen: Omit<EdgeCall, 'status' | 'response'> | undefined;
    try {
      const rawBody = await readBody(req);
      const rawUrl = req.url ?? '/';
      const qIndex = rawUrl.indexOf('?');
      const path = qIndex < 0 ? rawUrl : rawUrl.slice(0, qIndex);
      const query = new URLSearchParams(qIndex < 0 ? '' : rawUrl.slice(qIndex + 1));
      const method = (req.method ?? 'GET').toUpperCase();

      if (path === '/_crosslink' || path.startsWith('/_crosslink/')) {
        await serveAdmin(this.#admin, { method, path, body: rawBody, query }, res, {
          log: (m) => this.world.log(m),
        });
        return;
      }

      const found = this.resolve(
        method,
        path,
        typeof req.headers.host === 'string' ? req.headers.host : undefined,
      );
      if (!found) {
        throw new GcpError(
          'NOT_FOUND',
          `The requested URL ${path} was not found on this server (no Google API route for ${method}).`,
        );
      }
      service = found.route.service;
      const route = found.route.route;

      let caller: GcpRequestContext['caller'];
      if (route.auth !== false) {
        const authz = req.headers.authorization;
        const result = this.world.auth.authenticate(typeof authz === 'string' ? authz : undefined);
        if (isAuthFailure(result)) {
          throw new GcpError('UNAUTHENTICATED', result.message, {
            details: [
              errorInfo(
                result.reason === 'missing'
                  ? 'CREDENTIALS_MISSING'
                  : result.reason === 'expired'
                    ? 'ACCESS_TOKEN_EXPIRED'
                    : 'ACCESS_TOKEN_TYPE_UNSUPPORTED',
                'googleapis.com',
                { service: service.host, method: route.operation },
              ),
            ],
            // RFC 6750 as Google answers: no error code without credentials, `invalid_token` for
            // an expired or unknown one.
            headers: {
              'www-authenticate':
                result.reason === 'missing'
                  ? 'Bearer realm="https://accounts.google.com/"'
                  : 'Bearer realm="https://accounts.google.com/", error="invalid_token"',
            },
          });
        }
        caller = result;
        this.#refuseDisabled(service, found.params);
        this.#authorize(service, route, found.path, found.params, result);
      }

      const decision = this.world.faults.decide('gcp', service.name, route.operation);
      if (decision.latencyMs > 0) await wallSleep(decision.latencyMs);
      if (decision.fail) {
        if (decision.fail.kind === 'throttle') {
          throw new GcpError(
            'RESOURCE_EXHAUSTED',
            `Quota exceeded for quota metric 'Requests' of service '${service.host}' (injected fault ${decision.fail.faultId}).`,
            { details: [errorInfo('RATE_LIMIT_EXCEEDED', 'googleapis.com', { service: service.host })] },
          );
        }
        const http = decision.fail.status ?? 503;
        throw new GcpError(
          statusForHttp(http),
          `The service is currently unavailable (injected fault ${decision.fail.faultId}).`,
          { httpStatus: http },
        );
      }

      const ctx: GcpRequestContext<unknown> = {
        service: service.name,
        operation: route.operation,
        requestId,
        method: method as HttpMethod,
        path: found.path,
        params: found.params,
        query,
        body: parseBody(rawBody, String(req.headers['content-type'] ?? '')),
        rawBody,
        headers: req.headers,
        caller,
        state: this.world.stateOf(service.name, found.params.project ?? found.params.projectsId ?? ''),
        clock: this.world.clock,
        world: this.world,
      };
      seen = {
        service: service.name,
        host: service.host,
        operation: route.operation,
        method,
        path: found.path,
        params: found.params,
        query,
        body: ctx.body,
        caller,
        userAgent: typeof req.headers['user-agent'] === 'string' ? req.headers['user-agent'] : undefined,
        at: this.world.clock.now(),
      };
      const out = await route.handler(ctx);
      if (out instanceof Reply) sendJson(res, out.status, out.body, out.headers);
      else sendJson(res, 200, out ?? {});
      this.#tell(
        seen,
        out instanceof Reply ? out.status : 200,
        out instanceof Reply ? out.body : (out ?? {}),
      );
    } catch (err) {
      let error: GcpError;
      if (err instanceof GcpError) error = err;
      else {
        this.world.log(`gcp edge: ${service?.name ?? '?'}: ${(err as Error)?.stack ?? String(err)}`);
        error = new GcpError('INTERNAL', 'Internal error encountered.');
      }
      sendJson(res, error.code, error.toJSON(), error.headers);
      if (seen) this.#tell(seen, error.code, error.toJSON());
    }
  }

  /**
   * Google's 403 SERVICE_DISABLED when the project the call is for has not enabled the service's
   * API (Service Usage state; checked before IAM, as Google's front end does). A call naming no
   * project (`projects/-`, the token endpoints) is not checked.
   */
  #refuseDisabled(service: AnyGcpService, params: Record<string, string>): void {
    const project = params.project ?? params.projectsId;
    if (!project || project === '-' || !this.services.has('serviceusage')) return;
    const refused = serviceDisabled(this.world, project, service.host);
    if (refused) throw refused;
  }

  /** IAM: the route's permission on its resource, or Google's 403 (docs/local-gcp-iam.md). */
  #authorize(
    service: AnyGcpService,
    route: GcpRoute<unknown>,
    path: string,
    params: Record<string, string>,
    caller: NonNullable<GcpRequestContext['caller']>,
  ): void {
    const entry = route.permission ?? METHOD_PERMISSIONS[`${service.name}.${route.operation}`];
    if (entry === 'service') return;
    const iam = this.world.iam;
    if (!entry) {
      if (!iam.enforce) return;
      throw permissionDenied(
        `${service.name}.${route.operation}`,
        resourceOf(path, 'self', params.project),
        service.host,
      );
    }
    iam.check(caller, entry.permission, resourceOf(path, entry.on, params.project), service.host);
  }

  #tell(call: Omit<EdgeCall, 'status' | 'response'>, status: number, response: unknown): void {
    for (const l of this.#listeners) {
      try {
        l({ ...call, status, response });
      } catch (err) {
        this.world.log(`gcp edge: call listener failed: ${(err as Error).message}`);
      }
    }
  }
}

function parseBody(raw: Buffer, contentType: string): unknown {
  if (raw.length === 0) return {};
  const text = raw.toString('utf8');
  if (contentType.includes('application/x-www-form-urlencoded')) {
    return Object.fromEntries(new URLSearchParams(text));
  }
  try {
    return JSON.parse(text);
  } catch {
    throw new GcpError('INVALID_ARGUMENT', `Invalid JSON payload received. ${text.slice(0, 40)}`);
  }
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) {
        reject(
          new GcpError('INVALID_ARGUMENT', 'Request payload size exceeds the limit.', { httpStatus: 413 }),
        );
        req.destroy();
      } else chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const buf = Buffer.from(JSON.stringify(body ?? null));
  res.writeHead(status, {
    ...headers,
    'content-type': 'application/json; charset=UTF-8',
    'content-length': String(buf.length),
  });
  res.end(buf);
}
