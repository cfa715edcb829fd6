/**
 * The IAM front between one Cloud Run function and the Firestore and Pub/Sub emulators
 * (docs/local-gcp-iam.md, "The emulators"). The emulators see no caller, so each hosted function's
 * `FIRESTORE_EMULATOR_HOST` and `PUBSUB_EMULATOR_HOST` point here, at a loopback port of its own:
 * - gRPC (HTTP/2 with prior knowledge): the method path names the service and method; each request
 *   message is read for what it names (the database, the topic, each write's kind) and checked
 *   against the local IAM (iam/grpc-permissions.ts) before it is forwarded; a refusal ends the call
 *   with gRPC status 7 PERMISSION_DENIED, IAM's message naming the permission and resource, and a
 *   google.rpc.Status with its ErrorInfo in `grpc-status-details-bin`. What passes goes to the
 *   emulator byte for byte, both ways, streams included (Listen, Write, BatchGetDocuments,
 *   RunQuery), with the answer's headers and trailers as the emulator sent them.
 * - HTTP/1.1 (Pub/Sub's REST API): the Pub/Sub front's rules (pubsub-front.ts).
 * Who calls: the bearer token's caller when the call carries a token the local Google issued;
 * otherwise the function's service account, which the front is bound to as the function's
 * metadata server is. The emulator clients send no token of their own (Firestore's sends the
 * emulator's `Bearer owner`, Pub/Sub's nothing), so the front stands where Google checks the
 * function's credentials. Firestore receives `Bearer owner` (the emulator's administrator: IAM,
 * not security rules, governs server clients); Pub/Sub receives no authorization.
 */
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import {
  type ClientHttp2Session,
  type ClientHttp2Stream,
  connect,
  constants,
  createServer as createHttp2Server,
  type Http2Server,
  type IncomingHttpHeaders,
  type OutgoingHttpHeaders,
  type ServerHttp2Stream,
} from 'node:http2';
import {
  createServer as createNetServer,
  type Server as NetServer,
  connect as netConnect,
  type Socket,
} from 'node:net';
import { Duplex } from 'node:stream';
import type { GcpAuth } from './auth.ts';
import { isAuthFailure } from './auth.ts';
import { GcpError, RPC_CODE } from './errors.ts';
import {
  FIRESTORE_SERVICE,
  FirestoreCall,
  GrpcRequestError,
  type Needed,
  PUBLISHER_SERVICE,
  publisherNeeds,
  statusDetails,
} from './iam/grpc-permissions.ts';
import type { GcpIam } from './iam/policy.ts';
import { frontCaller, PubsubFront } from './pubsub-front.ts';

export interface EmulatorFrontOptions {
  /** The Firestore emulator (`host:port`), or null when it does not run. */
  firestoreHost: string | null;
  /** The Pub/Sub emulator (`host:port`), or null when it does not run. */
  pubsubHost: string | null;
  auth: GcpAuth;
  iam: GcpIam;
  /** The function's service account: the caller of calls without a token of the local Google. */
  serviceAccount: string;
}

/** A call's end as gRPC says it: the numeric code, its message, and the ErrorInfo when IAM refused. */
interface GrpcStatus {
  code: number;
  message: string;
  info?: { reason: string; domain: string; metadata: Record<string, string> };
}

const HTTP2_PREFACE = Buffer.from('PRI * HTTP/2.0');

/** gRPC's percent-encoding of `grpc-message` (printable ASCII except '%' stays). */
function grpcMessage(message: string): string {
  return [...Buffer.from(message, 'utf8')]
    .map((b) =>
      b >= 0x20 && b <= 0x7e && b !== 0x25
        ? String.fromCharCode(b)
        : `%${b.toString(16).toUpperCase().padStart(2, '0')}`,
    )
    .join('');
}

function statusOf(err: unknown): GrpcStatus {
  if (err instanceof GcpError) {
    const info = err.details.find((d) => d['@type'] === 'type.googleapis.com/google.rpc.ErrorInfo') as
      | { reason: string; domain: string; metadata: Record<string, string> }
      | undefined;
    return {
      code: RPC_CODE[err.status],
      message: err.message,
      ...(info ? { info: { reason: info.reason, domain: info.domain, metadata: info.metadata } } : {}),
    };
  }
  if (err instanceof GrpcRequestError) return { code: RPC_CODE[err.code], message: err.message };
  return { code: RPC_CODE.INTERNAL, message: (err as Error).message };
}

function statusTrailers(s: GrpcStatus): OutgoingHttpHeaders {
  return {
    'grpc-status': String(s.code),
    'grpc-message': grpcMessage(s.message),
    'grpc-status-details-bin': statusDetails(s.code, s.message, s.info).toString('base64'),
  };
}

/** The headers without HTTP/2 pseudo-headers (`:status` kept when `keepStatus`). */
function plain(headers: IncomingHttpHeaders, keepStatus = false): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {};
  for (const [k, v] of Object.entries(headers))
    if (v !== undefined && (!k.startsWith(':') || (keepStatus && k === ':status'))) out[k] = v;
  return out;
}

/** A duplex over `socket` whose readable side starts with `first` (already read from it). */
function replaying(socket: Socket, first: Buffer): Duplex {
  const duplex = new Duplex({
    read() {
      socket.resume();
    },
    write(chunk: Buffer, _encoding, done) {
      socket.write(chunk, done);
    },
    final(done) {
      socket.end(done);
    },
    destroy(err, done) {
      socket.destroy(err ?? undefined);
      done(err);
    },
  });
  duplex.push(first);
  socket.on('data', (chunk: Buffer) => {
    if (!duplex.push(chunk)) socket.pause();
  });
  socket.once('end', () => duplex.push(null));
  socket.once('close', () => duplex.destroy());
  socket.on('error', (err) => duplex.destroy(err));
  return duplex;
}

export class EmulatorFront {
  readonly #o: EmulatorFrontOptions;
  readonly #net: NetServer;
  readonly #h2: Http2Server;
  readonly #http: HttpServer;
  readonly #rest: PubsubFront | null;
  readonly #sockets = new Set<Socket>();
  readonly #upstreams = new Map<string, ClientHttp2Session>();
  #port = 0;

  constructor(options: EmulatorFrontOptions) {
    this.#o = options;
    this.#rest = options.pubsubHost
      ? new PubsubFront({
          pubsubHost: options.pubsubHost,
          auth: options.auth,
          iam: options.iam,
          serviceAccount: options.serviceAccount,
        })
      : null;
    this.#h2 = createHttp2Server();
    this.#h2.on('stream', (stream, headers) => this.#call(stream, headers));
    this.#h2.on('sessionError', () => undefined);
    this.#http = createHttpServer((req, res) => {
      if (this.#rest) void this.#rest.handle(req, res);
      else {
        req.resume();
        res.writeHead(501, { 'content-type': 'text/plain' }).end('The Pub/Sub emulator does not run.\n');
      }
    });
    // One port for both protocols, as the emulators' own: an HTTP/2 connection opens with its
    // preface. The servers read the connection through a stream that replays its first bytes (the
    // HTTP/2 server reads a TCP socket's handle directly, past anything put back on it).
    this.#net = createNetServer({ noDelay: true }, (socket) => {
      this.#sockets.add(socket);
      socket.once('close', () => this.#sockets.delete(socket));
      socket.once('data', (first) => {
        const h2 = first.subarray(0, 3).equals(HTTP2_PREFACE.subarray(0, 3));
        (h2 ? this.#h2 : this.#http).emit('connection', replaying(socket, first));
      });
    });
  }

  /** `127.0.0.1:<port>`: what the function's emulator variables hold. */
  get host(): string {
    return `127.0.0.1:${this.#port}`;
  }

  async start(): Promise<void> {
    await new Promise<void>((ok, fail) => {
      this.#net.once('error', fail);
      this.#net.listen(0, '127.0.0.1', () => {
        this.#net.off('error', fail);
        ok();
      });
    });
    const address = this.#net.address();
    this.#port = typeof address === 'object' && address ? address.port : 0;
  }

  async stop(): Promise<void> {
    for (const s of this.#upstreams.values()) s.destroy();
    this.#upstreams.clear();
    for (const s of this.#sockets) s.destroy();
    await new Promise<void>((done) => this.#net.close(() => done()));
  }

  /** The HTTP/2 session to an emulator, opened on first use and again after it closed. */
  #session(host: string): ClientHttp2Session {
    const open = this.#upstreams.get(host);
    if (open && !open.closed && !open.destroyed) return open;
    // Small gRPC frames go out at once (no Nagle delay waiting for the peer's delayed ACK).
    const session = connect(`http://${host}`, {
      createConnection: () =>
        netConnect({
          host: host.slice(0, host.lastIndexOf(':')),
          port: Number(host.slice(host.lastIndexOf(':') + 1)),
          noDelay: true,
        }),
    });
    session.on('error', () => undefined);
    session.once('close', () => {
      if (this.#upstreams.get(host) === session) this.#upstreams.delete(host);
    });
    this.#upstreams.set(host, session);
    return session;
  }

  #call(stream: ServerHttp2Stream, headers: IncomingHttpHeaders): void {
    stream.on('error', () => undefined);
    const path = String(headers[':path'] ?? '');
    const [, service = '', method = ''] = /^\/([^/]+)\/([^/]+)$/.exec(path) ?? [];
    let needs: (message: Buffer) => Needed[];
    let upstreamHost: string | null;
    let domain: string;
    let caller: ReturnType<typeof frontCaller>;
    try {
      if (service === FIRESTORE_SERVICE) {
        const call = new FirestoreCall(method);
        needs = (m) => call.needs(m);
        upstreamHost = this.#o.firestoreHost;
        domain = 'firestore.googleapis.com';
      } else if (service === PUBLISHER_SERVICE) {
        needs = (m) => publisherNeeds(method, m);
        upstreamHost = this.#o.pubsubHost;
        domain = 'pubsub.googleapis.com';
      } else
        throw new GrpcRequestError(
          'UNIMPLEMENTED',
          `${path} is not served by the local emulators' IAM front`,
        );
      if (!upstreamHost)
        throw new GrpcRequestError('UNIMPLEMENTED', `the emulator of ${service} does not run`);
      const authorization = headers.authorization;
      caller = frontCaller(
        this.#o.auth,
        typeof authorization === 'string' ? authorization : undefined,
        this.#o.serviceAccount,
      );
      if (isAuthFailure(caller)) throw new GcpError('UNAUTHENTICATED', caller.message);
    } catch (err) {
      stream.resume();
      stream.respond(
        { ':status': 200, 'content-type': 'application/grpc', ...statusTrailers(statusOf(err)) },
        { endStream: true },
      );
      return;
    }
    const who = caller;
    const host = upstreamHost;
    let up: ClientHttp2Stream | undefined;
    let finished = false;
    let trailers: OutgoingHttpHeaders | undefined;

    /** Ends the call with `status`: trailers-only before the answer began, else in its trailers. */
    const fail = (status: GrpcStatus) => {
      if (finished) return;
      finished = true;
      if (up && !up.closed) up.close(constants.NGHTTP2_CANCEL);
      if (stream.destroyed || stream.closed) return;
      stream.resume();
      if (!stream.headersSent)
        stream.respond(
          { ':status': 200, 'content-type': 'application/grpc', ...statusTrailers(status) },
          { endStream: true },
        );
      else {
        trailers = statusTrailers(status);
        stream.end();
      }
    };

    const open = (): ClientHttp2Stream => {
      const forward: OutgoingHttpHeaders = { ...plain(headers), ':method': 'POST', ':path': path };
      delete forward.authorization;
      if (service === FIRESTORE_SERVICE) forward.authorization = 'Bearer owner';
      const u = this.#session(host).request(forward);
      u.on('response', (answer, flags) => {
        if (finished) return;
        if ((flags ?? 0) & constants.NGHTTP2_FLAG_END_STREAM || answer['grpc-status'] !== undefined) {
          finished = true;
          stream.respond(plain(answer, true), { endStream: true });
          return;
        }
        stream.respond(plain(answer, true), { waitForTrailers: true });
        u.on('data', (chunk: Buffer) => {
          if (finished) return;
          if (!stream.write(chunk)) {
            u.pause();
            stream.once('drain', () => u.resume());
          }
        });
        u.on('end', () => {
          if (!finished) {
            finished = true;
            stream.end();
          }
        });
      });
      u.on('trailers', (t) => {
        trailers = plain(t);
      });
      u.on('error', (err) =>
        fail({ code: RPC_CODE.UNAVAILABLE, message: `${service} emulator: ${err.message}` }),
      );
      u.on('close', () => {
        if (!finished)
          fail({
            code: RPC_CODE.UNAVAILABLE,
            message: `${service} emulator closed the call before its status`,
          });
      });
      return u;
    };

    stream.on('wantTrailers', () => {
      stream.sendTrailers(
        trailers ??
          statusTrailers({
            code: RPC_CODE.INTERNAL,
            message: `${service} emulator ended the call without a status`,
          }),
      );
    });
    stream.on('close', () => {
      if (up && !up.closed) up.close(constants.NGHTTP2_CANCEL);
    });

    // The request, message by message (gRPC framing: a compressed flag, a 4-byte length, the message).
    let pending: Buffer = Buffer.alloc(0);
    stream.on('data', (chunk: Buffer) => {
      if (finished) return;
      let buf: Buffer = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
      while (buf.length >= 5) {
        const length = buf.readUInt32BE(1);
        if (buf.length < 5 + length) break;
        const frame = buf.subarray(0, 5 + length);
        buf = buf.subarray(5 + length);
        try {
          if (frame[0] !== 0)
            throw new GrpcRequestError(
              'UNIMPLEMENTED',
              'compressed request messages are not read by the local IAM check',
            );
          for (const n of needs(frame.subarray(5))) this.#o.iam.check(who, n.permission, n.resource, domain);
        } catch (err) {
          fail(statusOf(err));
          return;
        }
        up ??= open();
        if (!up.write(frame)) {
          stream.pause();
          up.once('drain', () => stream.resume());
        }
      }
      pending = buf;
    });
    stream.on('end', () => {
      if (finished) return;
      if (pending.length > 0) {
        fail({ code: RPC_CODE.INVALID_ARGUMENT, message: 'the request ended inside a message' });
        return;
      }
      up ??= open();
      up.end();
    });
  }
}
