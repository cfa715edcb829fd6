/**
 * The IAM front of the Pub/Sub emulator's REST API (docs/local-gcp-iam.md). The emulator sees no
 * caller, so whoever reaches Pub/Sub as a client outside the local cloud's own plumbing (the AWS
 * relay publishing to crosslink-peer-events with its federated token) comes through here: every
 * request needs a bearer token the Google edge issued (401 UNAUTHENTICATED otherwise), a publish
 * (`POST /v1/projects/{p}/topics/{t}:publish`) needs `pubsub.topics.publish` on the topic (IAM's
 * 403 otherwise), and what passes is forwarded to the emulator unchanged. Other methods are
 * forwarded after authentication only: no local client reaches them through the front.
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { VirtualClock } from '#local/clock.ts';
import { closeServer, listenLoopback } from '../listen.ts';
import { type GcpAuth, isAuthFailure } from './auth.ts';
import { GcpError } from './errors.ts';
import type { GcpIam } from './iam/policy.ts';

const PUBLISH_RE = /^\/v1\/projects\/([^/]+)\/topics\/([^/:]+):publish$/;

export interface PubsubFrontOptions {
  /** The emulator (`host:port`). */
  pubsubHost: string;
  auth: GcpAuth;
  iam: GcpIam;
  clock?: VirtualClock;
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
    const { server, port } = await listenLoopback((req, res) => this.#handle(req, res), 0, this.#o.clock);
    this.#server = server;
    this.#port = port;
  }

  async stop(): Promise<void> {
    const server = this.#server;
    if (!server) return;
    this.#server = undefined;
    await closeServer(server);
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const path = (req.url ?? '/').split('?')[0] as string;
    try {
      const caller = this.#o.auth.authenticate(
        typeof req.headers.authorization === 'string' ? req.headers.authorization : undefined,
      );
      if (isAuthFailure(caller)) {
        throw new GcpError('UNAUTHENTICATED', caller.message, {
          headers: {
            'www-authenticate': 'Bearer realm="https://accounts.google.com/", error="invalid_token"',
          },
        });
      }
      const publish = PUBLISH_RE.exec(path);
      if (publish && req.method === 'POST') {
        this.#o.iam.check(
          caller,
          'pubsub.topics.publish',
          `projects/${decodeURIComponent(publish[1] as string)}/topics/${decodeURIComponent(publish[2] as string)}`,
          'pubsub.googleapis.com',
        );
      }
      const body = Buffer.concat(chunks);
      const answer = await fetch(`http://${this.#o.pubsubHost}${req.url ?? '/'}`, {
        method: req.method ?? 'GET',
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
