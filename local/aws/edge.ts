/**
 * The AWS edge: one HTTP server for every simulated AWS service. It finds the service and
 * operation (X-Amz-Target, rpcv2-cbor path, or query `Action`), verifies SigV4 against the local
 * identities, applies faults, parses the input in the service's protocol, calls the module's
 * handler with the verified principal, and serializes the output or the error as the real service
 * would. `/_crosslink/...` is the admin API (no SigV4; the edge binds to 127.0.0.1 only).
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { setTimeout as wallSleep } from 'node:timers/promises';
import type { VirtualClock } from '#local/clock.ts';
import type { FaultRegistry } from '#local/faults.ts';
import type { Random } from '#local/random.ts';
import { type AdminHandler, serveAdmin } from '../admin-http.ts';
import { closeServer, listenLoopback } from '../listen.ts';
import { regionOutagesOf } from '../world/region-outages.ts';
import type { CredentialStore, Principal } from './credentials.ts';
import { AwsError, authError } from './errors.ts';
import { emitCloudTrailEvent } from './events/cloudtrail.ts';
import { authorize, type IamEnforcement } from './iam/enforce.ts';
import {
  defaultErrorShapes,
  parseInput,
  RawResponse,
  serializeError,
  serializeOutput,
  type WireResponse,
} from './protocols.ts';
import { ALWAYS_SENSITIVE, redact, scrub } from './redact.ts';
import type { AnyAwsService, Protocol, RequestContext, World } from './service.ts';
import { AuthRefusal, parseAuth, type SignedRequest, verifySignature } from './sigv4.ts';

/**
 * The services whose API does not answer in a region that is out (`sim region outage aws <region>`,
 * local/world/region-outages.ts): EC2, whose regional reads the VPN runs make in every region of the
 * policy. The others keep answering in an out region (the DR scenarios read CloudWatch and DynamoDB
 * in the hub's region while it is out: what is out there is the protected service, ARC's endpoint
 * and Route 53's checkers).
 */
const REGION_BOUND = new Set(['ec2']);

const MAX_BODY = 16 * 1024 * 1024;

export type { AdminHandler } from '../admin-http.ts';

export interface AwsEdgeOptions {
  clock: VirtualClock;
  faults: FaultRegistry;
  random: Random;
  credentials: CredentialStore;
  services: readonly AnyAwsService[];
  defaultRegion?: string;
  /** Per-service settings (e.g. `{interconnect: {delays: {...}}}`). */
  settings?: Record<string, unknown>;
  log?: (message: string) => void;
  /**
   * IAM policy evaluation for every authenticated call (docs/local-aws-iam.md). Absent: no call is
   * refused for want of a permission.
   */
  iam?: IamEnforcement;
  /**
   * Ports for the edge's endpoints of their own (`World.openEndpoint`: ARC's cluster endpoints), taken
   * in the order they are opened; past the list, free ones. A caller that starts one cloud after
   * another and packages their addresses (seeded chaos) gets the same addresses each time.
   */
  endpointPorts?: readonly number[];
}

/** One authenticated call as the edge saw it: for observers such as CloudTrail-style events. */
export interface CallRecord {
  /** Virtual time the call was answered. */
  time: number;
  requestId: string;
  service: string;
  operation: string;
  protocol: Protocol;
  principal: Principal;
  region: string;
  input: unknown;
  output?: unknown;
  error?: { code: string; message: string; status: number };
}

export type CallListener = (call: CallRecord) => void;

interface Route {
  service: AnyAwsService;
  operation: string;
  protocol: Protocol;
  /** rest-json: values of the path template's labels. */
  pathParams?: Record<string, string>;
}

/** Matches a rest-json path template; returns its labels' values or undefined. */
function matchTemplate(template: string, path: string): Record<string, string> | undefined {
  const want = template.split('/');
  const got = path.split('/');
  const params: Record<string, string> = {};
  for (let i = 0; i < want.length; i++) {
    const w = want[i] as string;
    const label = /^\{([A-Za-z0-9_]+)(\+?)\}$/.exec(w);
    if (label) {
      const rest = label[2] === '+';
      const value = rest ? got.slice(i).join('/') : got[i];
      if (value === undefined || value === '') return undefined;
      try {
        params[label[1] as string] = rest
          ? value.split('/').map(decodeURIComponent).join('/')
          : decodeURIComponent(value);
      } catch {
        return undefined;
      }
      if (rest) return params;
    } else if (w !== got[i]) return undefined;
  }
  return want.length === got.length ? params : undefined;
}

export class AwsEdge {
  readonly world: World;
  readonly services: ReadonlyMap<string, AnyAwsService>;
  #server: Server | undefined;
  #admin: AdminHandler | undefined;
  #byTarget = new Map<string, AnyAwsService>();
  #byCbor = new Map<string, AnyAwsService>();
  #states = new Map<string, { accountId: string; region: string; state: unknown }>();
  #port = 0;
  #listeners = new Set<CallListener>();
  #iam: IamEnforcement | undefined;
  /** Endpoints of their own (`World.openEndpoint`), closed with the edge. */
  #endpoints = new Set<Server>();
  /** The ports asked for them, and how many were opened (the index into it). */
  readonly #endpointPorts: readonly number[];
  #opened = 0;

  constructor(options: AwsEdgeOptions) {
    this.#endpointPorts = options.endpointPorts ?? [];
    const services = new Map<string, AnyAwsService>();
    for (const s of options.services) {
      if (services.has(s.name)) throw new Error(`two AWS service modules are named ${s.name}`);
      services.set(s.name, s);
      if (s.targetPrefix) this.#byTarget.set(s.targetPrefix, s);
      if (s.cborServiceName) this.#byCbor.set(s.cborServiceName, s);
    }
    this.services = services;
    this.#iam = options.iam;
    const states = this.#states;
    const settings = options.settings ?? {};
    const log = options.log ?? (() => {});
    const world: World = {
      clock: options.clock,
      faults: options.faults,
      random: options.random,
      credentials: options.credentials,
      defaultRegion: options.defaultRegion ?? 'us-east-1',
      stateOf<S>(service: string, accountId: string, region: string): S {
        const key = `${service}|${accountId}|${region}`;
        let entry = states.get(key);
        if (!entry) {
          const mod = services.get(service);
          if (!mod) throw new Error(`no AWS service module named ${service}`);
          entry = { accountId, region, state: mod.createState?.({ accountId, region }, world) ?? {} };
          states.set(key, entry);
        }
        return entry.state as S;
      },
      scopes(service: string) {
        return [...states.entries()]
          .filter(([k]) => k.startsWith(`${service}|`))
          .map(([, v]) => ({ accountId: v.accountId, region: v.region }));
      },
      settings<T>(service: string): Partial<T> {
        return (settings[service] ?? {}) as Partial<T>;
      },
      log,
      async deliver(arn, payload) {
        const [, , service = '', region = '', accountId = ''] = arn.split(':');
        const mod = [...services.values()].find((s) => s.signingName === service && s.deliver);
        if (!mod?.deliver) throw new Error(`unsupported target ${arn}`);
        await mod.deliver(world, { arn, accountId, region }, payload);
      },
      ...(options.iam && { iam: options.iam }),
      openEndpoint: (via, reachable) => this.#openEndpoint(via, reachable),
    };
    this.world = world;
  }

  /** Observes every authenticated call (after it is answered); returns an unsubscribe function. */
  onCall(listener: CallListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  #emit(call: CallRecord): void {
    for (const l of this.#listeners) {
      try {
        l(call);
      } catch (err) {
        this.world.log(`aws edge: call listener failed: ${(err as Error).message}`);
      }
    }
  }

  /** Mounts the admin API under /_crosslink/. */
  setAdmin(handler: AdminHandler): void {
    this.#admin = handler;
  }

  get port(): number {
    return this.#port;
  }

  get endpoint(): string {
    return `http://127.0.0.1:${this.#port}`;
  }

  /** Listens on 127.0.0.1:`port` (0 = any free port); resolves with the real port. */
  async listen(port = 4566): Promise<number> {
    const { server, port: bound } = await listenLoopback(
      (req, res) => this.#handle(req, res),
      port,
      this.world.clock,
    );
    this.#server = server;
    this.#port = bound;
    return this.#port;
  }

  async #openEndpoint(
    via: string,
    reachable: () => boolean,
  ): Promise<{ url: string; close(): Promise<void> }> {
    const { server, port } = await listenLoopback(
      async (req, res) => {
        // A connection kept alive from before the outage is dropped too.
        if (!reachable()) {
          req.socket.destroy();
          return;
        }
        await this.#handle(req, res, via);
      },
      this.#endpointPorts[this.#opened++] ?? 0,
      this.world.clock,
    );
    server.on('connection', (socket) => {
      if (!reachable()) socket.destroy();
    });
    this.#endpoints.add(server);
    return {
      url: `http://127.0.0.1:${port}`,
      close: async () => {
        this.#endpoints.delete(server);
        await closeServer(server);
      },
    };
  }

  async close(): Promise<void> {
    for (const s of this.#endpoints) await closeServer(s);
    this.#endpoints.clear();
    const server = this.#server;
    if (!server) return;
    this.#server = undefined;
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
    for (const [key, entry] of this.#states) {
      const mod = this.services.get(key.split('|')[0] as string);
      if (mod?.dispose) await mod.dispose(entry.state);
    }
  }

  /** What every simulated account holds, per region and service (`crosslink sim status`). */
  status(): Record<string, Record<string, Record<string, unknown>>> {
    const out: Record<string, Record<string, Record<string, unknown>>> = {};
    for (const [key, entry] of this.#states) {
      const name = key.split('|')[0] as string;
      const mod = this.services.get(name);
      const view = mod?.status ? mod.status(entry.state, entry) : undefined;
      if (view === undefined) continue;
      out[entry.accountId] ??= {};
      const account = out[entry.accountId] as Record<string, Record<string, unknown>>;
      account[entry.region] ??= {};
      (account[entry.region] as Record<string, unknown>)[name] = view;
    }
    return out;
  }

  async #handle(req: IncomingMessage, res: ServerResponse, via?: string): Promise<void> {
    const requestId = randomUUID();
    let protocol: Protocol = 'json1.0';
    let service: AnyAwsService | undefined;
    try {
      const body = await readBody(req);
      const rawUrl = req.url ?? '/';
      const qIndex = rawUrl.indexOf('?');
      const path = qIndex < 0 ? rawUrl : rawUrl.slice(0, qIndex);
      const rawQuery = qIndex < 0 ? '' : rawUrl.slice(qIndex + 1);
      const query = new URLSearchParams(rawQuery);
      const method = req.method ?? 'GET';

      if (path === '/_crosslink' || path.startsWith('/_crosslink/')) {
        await serveAdmin(this.#admin, { method, path, body, query }, res, {
          log: (m) => this.world.log(m),
          clientError: (err) => (err instanceof AwsError ? { code: err.code } : undefined),
        });
        return;
      }

      const contentType = String(req.headers['content-type'] ?? '');
      const route = this.#route(method, path, query, body, contentType, req.headers);
      protocol = route.protocol;
      service = route.service;

      const signed: SignedRequest = { method, path, query: rawQuery, headers: req.headers, body };
      const principal = this.#authenticate(signed, route);
      const region = parseAuth(signed).region;

      if (REGION_BOUND.has(route.service.name) && regionOutagesOf(this.world.clock).isOut('aws', region))
        throw new AwsError(
          'Unavailable',
          `${route.service.name} in ${region} is not answering (region outage)`,
          {
            status: 503,
          },
        );
      const decision = this.world.faults.decide('aws', route.service.name, route.operation);
      if (decision.latencyMs > 0) await wallSleep(decision.latencyMs);
      if (decision.fail) {
        const shapes = { ...defaultErrorShapes(protocol), ...route.service.errors };
        const shape = decision.fail.kind === 'throttle' ? shapes.throttling : shapes.server;
        const msg =
          decision.fail.kind === 'throttle'
            ? 'Rate exceeded'
            : 'An internal error occurred. Please retry your request (injected fault).';
        throw new AwsError(shape.code, msg, { status: decision.fail.status ?? shape.status });
      }

      let input = parseInput(protocol, body, query, contentType);
      if (protocol === 'rest-json' || protocol === 'rest-xml')
        input = { ...(input as object), path: route.pathParams ?? {}, headers: req.headers };
      if (this.#iam) {
        await authorize(this.#iam, {
          signingName: route.service.signingName,
          operation: route.operation,
          input,
          principal,
          region,
          world: this.world,
        });
      }
      const ctx: RequestContext<unknown> = {
        service: route.service.name,
        operation: route.operation,
        protocol,
        requestId,
        principal,
        accountId: principal.accountId,
        region,
        state: this.world.stateOf(route.service.name, principal.accountId, region),
        clock: this.world.clock,
        world: this.world,
        headers: req.headers,
        rawBody: body,
        ...(via !== undefined && { via }),
      };
      const handler = route.service.operations[route.operation] as (i: unknown, c: unknown) => unknown;
      // Sensitive members never reach observers in clear (CloudTrail hides them too), and their
      // values are scrubbed from error messages, the caller's included.
      const sensitive = new Set([...ALWAYS_SENSITIVE, ...(route.service.sensitiveMembers ?? [])]);
      const secrets: string[] = [];
      const base = {
        requestId,
        service: route.service.name,
        operation: route.operation,
        protocol,
        principal,
        region,
        input: redact(input, sensitive, secrets),
      };
      let output: unknown;
      try {
        output = await handler(input, ctx);
      } catch (err) {
        if (err instanceof AwsError) {
          err.message = scrub(err.message, secrets);
          this.#emit({
            ...base,
            time: this.world.clock.now(),
            error: { code: err.code, message: err.message, status: err.status },
          });
        }
        throw err;
      }
      const shown = redact(output, sensitive);
      this.#emit({ ...base, time: this.world.clock.now(), output: shown });
      if (route.service.cloudTrailEvents?.includes(route.operation)) {
        // As CloudTrail does: the verified caller, parameters and response with sensitive members hidden.
        emitCloudTrailEvent(this.world, {
          service: route.service.name,
          eventName: route.operation,
          principal,
          region,
          requestParameters: base.input,
          responseElements: shown instanceof RawResponse ? null : shown,
          requestId,
        }).catch((err: unknown) =>
          this.world.log(
            `aws edge: CloudTrail event for ${route.operation} failed: ${(err as Error).message}`,
          ),
        );
      }
      if (output instanceof RawResponse) {
        send(res, {
          status: output.status,
          headers: { 'x-amzn-requestid': requestId, ...output.headers },
          body: output.body,
        });
        return;
      }
      send(
        res,
        serializeOutput(output, {
          protocol,
          operation: route.operation,
          requestId,
          xmlNamespace: route.service.xmlNamespace,
        }),
      );
    } catch (err) {
      let error: AwsError;
      const hint = (err as { protocolHint?: Protocol }).protocolHint;
      if (hint) protocol = hint;
      if (err instanceof AwsError) error = err;
      else {
        this.world.log(`aws edge: ${service?.name ?? '?'}: ${(err as Error)?.stack ?? String(err)}`);
        const shape = { ...defaultErrorShapes(protocol), ...service?.errors }.server;
        error = new AwsError(shape.code, 'An internal error occurred.', {
          status: shape.status,
          fault: 'server',
        });
      }
      send(
        res,
        serializeError(error, {
          protocol,
          requestId,
          errorNamespace: service?.errorNamespace,
          xmlNamespace: service?.xmlNamespace,
        }),
      );
    }
  }

  #route(
    method: string,
    path: string,
    query: URLSearchParams,
    body: Buffer,
    contentType: string,
    headers: IncomingMessage['headers'],
  ): Route {
    const target = headers['x-amz-target'];
    if (typeof target === 'string' && target.length > 0) {
      const dot = target.lastIndexOf('.');
      const prefix = target.slice(0, dot);
      const operation = target.slice(dot + 1);
      const protocol: Protocol = contentType.includes('1.1') ? 'json1.1' : 'json1.0';
      const service = this.#byTarget.get(prefix);
      if (!service || dot < 0 || !Object.hasOwn(service.operations, operation)) {
        throw new AwsError('UnknownOperationException', `Unknown operation ${target}`, { status: 400 });
      }
      return { service, operation, protocol: service.protocol === 'json1.1' ? 'json1.1' : protocol };
    }
    const cbor = /^\/service\/([^/]+)\/operation\/([^/]+)$/.exec(path);
    if (cbor && method === 'POST') {
      const service = this.#byCbor.get(cbor[1] as string);
      const operation = cbor[2] as string;
      if (!service || !Object.hasOwn(service.operations, operation)) {
        throw new AwsError('UnknownOperationException', `Unknown operation ${cbor[1]}.${operation}`, {
          status: 404,
        });
      }
      return { service, operation, protocol: 'rpcv2-cbor' };
    }
    const restMatches: Route[] = [];
    for (const service of this.services.values()) {
      for (const r of service.routes ?? []) {
        if (r.method.toUpperCase() !== method.toUpperCase()) continue;
        if (r.query !== undefined && !query.has(r.query)) continue;
        const pathParams = matchTemplate(r.path, path);
        if (pathParams) {
          const protocol = service.protocol === 'rest-xml' ? 'rest-xml' : 'rest-json';
          restMatches.push({ service, operation: r.operation, protocol, pathParams });
          break;
        }
      }
    }
    if (restMatches.length > 0) {
      // One host serves every service: when two modules bind the same path, the credential scope decides.
      let scope: string | undefined;
      try {
        scope = parseAuth({ method, path, query: query.toString(), headers, body }).service;
      } catch {
        scope = undefined;
      }
      return restMatches.find((m) => m.service.signingName === scope) ?? (restMatches[0] as Route);
    }
    let action = query.get('Action');
    if (!action && contentType.includes('x-www-form-urlencoded')) {
      action = new URLSearchParams(body.toString('utf8')).get('Action');
    }
    if (action) {
      const queryServices = [...this.services.values()].filter(
        (s) => s.protocol === 'query' || s.protocol === 'ec2-query',
      );
      // The credential scope names the service (sts, ec2, monitoring...); unsigned calls fall back
      // to whichever module has the action, so they can still be refused in the right shape.
      let signingName: string | undefined;
      try {
        signingName = parseAuth({ method, path, query: query.toString(), headers, body }).service;
      } catch {
        signingName = undefined;
      }
      const service =
        queryServices.find((s) => s.signingName === signingName) ??
        queryServices.find((s) => Object.hasOwn(s.operations, action));
      if (!service || !Object.hasOwn(service.operations, action)) {
        const err = new AwsError('InvalidAction', `The action ${action} is not valid for this web service.`, {
          status: 400,
        });
        throw Object.assign(err, { protocolHint: service?.protocol ?? 'query' });
      }
      return { service, operation: action, protocol: service.protocol };
    }
    throw new AwsError('UnknownOperationException', `No AWS operation at ${method} ${path}`, { status: 404 });
  }

  #authenticate(req: SignedRequest, route: Route): Principal {
    try {
      const auth = parseAuth(req);
      const record = this.world.credentials.get(auth.accessKeyId);
      if (!record) {
        const msg =
          route.protocol === 'ec2-query'
            ? 'AWS was not able to validate the provided access credentials'
            : 'The security token included in the request is invalid.';
        throw new AuthRefusal('unknown-key', msg);
      }
      if (record.sessionToken !== undefined && auth.sessionToken !== record.sessionToken) {
        throw new AuthRefusal('unknown-key', 'The security token included in the request is invalid.');
      }
      if (record.expiresAt !== undefined && this.world.clock.now() > record.expiresAt) {
        throw new AuthRefusal('expired-token', 'The security token included in the request is expired');
      }
      if (auth.service !== route.service.signingName) {
        throw new AuthRefusal(
          'bad-signature',
          `Credential should be scoped to correct service: '${route.service.signingName}'.`,
        );
      }
      verifySignature(req, auth, record.secretAccessKey, [Date.now(), this.world.clock.now()], {
        unsignedPayload: route.service.unsignedPayload === true,
      });
      return record.principal;
    } catch (err) {
      if (err instanceof AuthRefusal) throw authError(route.protocol, err.failure, err.message);
      throw err;
    }
  }
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) {
        reject(new AwsError('RequestEntityTooLargeException', 'Request body too large', { status: 413 }));
        req.destroy();
      } else chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function send(res: ServerResponse, wire: WireResponse): void {
  res.writeHead(wire.status, { ...wire.headers, 'content-length': String(wire.body.length) });
  res.end(wire.body);
}
