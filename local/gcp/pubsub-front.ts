/**
 * The IAM front of the Pub/Sub emulator's REST API (docs/local-gcp-iam.md). The emulator sees no
 * caller, so whoever reaches Pub/Sub as a client outside the local cloud's own plumbing (the AWS
 * relay publishing to crosslink-peer-events with its federated token) comes through here: every
 * request needs a bearer token the Google edge issued (401 UNAUTHENTICATED otherwise), a publish
 * (`POST /v1/projects/{p}/topics/{t}:publish`) needs `pubsub.topics.publish` on the topic (IAM's
 * 403 otherwise), and what passes is forwarded to the emulator. A topic's `:testIamPermissions`
 * is answered here from the local IAM (the emulator has none and answers 501), so a client's check
 * of its own grant sees what Pub/Sub would say. Every other method is refused (403): no client
 * reaches it through the front, and the emulator could not check it. The path is matched decoded
 * (`topics/t%3Apublish` is a publish) and forwarded as matched.
 *
 * A function's own front (emulator-front.ts) serves its REST calls here too, bound to the
 * function's service account: a call without a token of the local Google is that account's, as
 * the emulator clients send none (`frontCaller`).
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { VirtualClock } from '#local/clock.ts';
import type { FaultRegistry } from '#local/faults.ts';
import { closeServer, listenLoopback } from '../listen.ts';
import { type AuthFailure, CLOUD_PLATFORM_SCOPE, type GcpAuth, isAuthFailure } from './auth.ts';
import { GcpError } from './errors.ts';
import { type GcpIam, principalsOf } from './iam/policy.ts';
import type { Caller } from './service.ts';

const TOPIC_METHOD_RE = /^\/v1\/projects\/([^/]+)\/topics\/([^/:]+):(publish|testIamPermissions)$/;

export interface PubsubFrontOptions {
  /** The emulator (`host:port`). */
  pubsubHost: string;
  auth: GcpAuth;
  iam: GcpIam;
  clock?: VirtualClock;
  /** The service account whose calls arrive without a token (a function's front); none: a token is required. */
  serviceAccount?: string;
  /**
   * Whether the network from the caller's side to Pub/Sub is cut now (the relay between the clouds
   * partitioned, for the front the AWS relay publishes through): the connection is dropped.
   */
  partitioned?: () => boolean;
  /**
   * Faults of publishes from outside Google (edge `gcp`, service `pubsub`, operation `Publish`):
   * `throttle` answers 429 RESOURCE_EXHAUSTED, `error` 503 UNAVAILABLE (or `status`), `latency`
   * holds the answer, as Pub/Sub unreachable or overloaded would for the AWS relay.
   */
  faults?: FaultRegistry;
}

/**
 * The caller of a call to an emulator front: the bearer token's, when it is one the local Google
 * issued; with no token (or the emulator clients' placeholder `Bearer owner`, which Firestore's
 * client sends to its emulator), the front's bound service account; otherwise why not.
 */
export function frontCaller(
  auth: GcpAuth,
  authorization: string | undefined,
  serviceAccount: string | undefined,
): Caller | AuthFailure {
  const token = /^Bearer\s+(\S+)$/i.exec(authorization?.trim() ?? '')?.[1];
  if ((authorization === undefined || token === 'owner') && serviceAccount !== undefined)
    return {
      email: serviceAccount,
      kind: 'service-account',
      identity: auth.accounts.get(serviceAccount)?.name,
      scopes: [CLOUD_PLATFORM_SCOPE],
    };
  return auth.authenticate(authorization);
}

export class PubsubFront {
  readonly #o: PubsubFrontOptions;
  #server: Server | undefined;
  #port = 0;

  constructor(options: PubsubFrontOptions) {
    this.#o = options;
  }

  /** `host:port` of the front (what a client puts where it would put the emulator's). */
  get host(): string {
    return `127.0.0.1:${this.#port}`;
  }

  async start(): Promise<void> {
    const { server, port } = await listenLoopback((req, res) => this.handle(req, res), 0, this.#o.clock);
    this.#server = server;
    this.#port = port;
  }

  async stop(): Promise<void> {
    const server = this.#server;
    if (!server) return;
    this.#server = undefined;
    await closeServer(server);
  }

  /** Answers one request (what the front's own server, or a function's front, calls). */
  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (this.#o.partitioned?.()) {
      req.socket.destroy();
      return;
    }
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const [rawPath = '/', query] = (req.url ?? '/').split('?');
    try {
      const caller = frontCaller(
        this.#o.auth,
        typeof req.headers.authorization === 'string' ? req.headers.authorization : undefined,
        this.#o.serviceAccount,
      );
      if (isAuthFailure(caller)) {
        throw new GcpError('UNAUTHENTICATED', caller.message, {
          headers: {
            'www-authenticate': 'Bearer realm="https://accounts.google.com/", error="invalid_token"',
          },
        });
      }
      let path: string;
      try {
        path = decodeURIComponent(rawPath);
      } catch {
        throw new GcpError('INVALID_ARGUMENT', `Malformed path: ${rawPath}`);
      }
      const m = req.method === 'POST' ? TOPIC_METHOD_RE.exec(path) : null;
      if (!m)
        throw new GcpError(
          'PERMISSION_DENIED',
          `${req.method} ${path} is not served by the local Pub/Sub IAM front (publish and a topic's testIamPermissions are)`,
        );
      const [, project, topic, method] = m as unknown as [string, string, string, string];
      const resource = `projects/${project}/topics/${topic}`;
      const body = Buffer.concat(chunks);
      if (method === 'testIamPermissions') {
        let asked: unknown;
        try {
          asked = (JSON.parse(body.toString('utf8') || '{}') as { permissions?: unknown }).permissions;
        } catch {
          throw new GcpError('INVALID_ARGUMENT', 'The request body is not JSON.');
        }
        if (!Array.isArray(asked) || asked.some((p) => typeof p !== 'string'))
          throw new GcpError('INVALID_ARGUMENT', 'permissions: a list of permission names is required.');
        const principals = principalsOf(caller);
        const held = (asked as string[]).filter((p) => this.#o.iam.decide(principals, p, resource).allowed);
        const buf = Buffer.from(JSON.stringify(held.length > 0 ? { permissions: held } : {}));
        res.writeHead(200, {
          'content-type': 'application/json; charset=UTF-8',
          'content-length': String(buf.length),
        });
        res.end(buf);
        return;
      }
      this.#o.iam.check(caller, 'pubsub.topics.publish', resource, 'pubsub.googleapis.com');
      const fault = this.#o.faults?.decide('gcp', 'pubsub', 'Publish');
      if (fault?.latencyMs) await new Promise((r) => setTimeout(r, fault.latencyMs));
      if (fault?.fail?.kind === 'throttle')
        throw new GcpError('RESOURCE_EXHAUSTED', 'Quota exceeded for publish requests.');
      if (fault?.fail)
        throw new GcpError('UNAVAILABLE', 'The service is currently unavailable.', {
          ...(fault.fail.status ? { httpStatus: fault.fail.status } : {}),
        });
      const forward = `/v1/projects/${encodeURIComponent(project)}/topics/${encodeURIComponent(topic)}:publish${query === undefined ? '' : `?${query}`}`;
      const answer = await fetch(`http://${this.#o.pubsubHost}${forward}`, {
        method: 'POST',
        headers: { 'content-type': String(req.headers['content-type'] ?? 'application/json') },
        ...(body.length > 0 ? { body } : {}),
      });
      const text = Buffer.from(await answer.arrayBuffer());
      res.writeHead(answer.status, {
        'content-type': answer.headers.get('content-type') ?? 'application/json',
        'content-length': String(text.length),
      });
      res.end(text);
    } catch (err) {
      const e =
        err instanceof GcpError
          ? err
          : new GcpError('UNAVAILABLE', `Pub/Sub emulator: ${(err as Error).message}`);
      const buf = Buffer.from(JSON.stringify(e.toJSON()));
      res.writeHead(e.code, {
        ...e.headers,
        'content-type': 'application/json; charset=UTF-8',
        'content-length': String(buf.length),
      });
      res.end(buf);
    }
  }
}
