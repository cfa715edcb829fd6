/**
 * The protected services' health endpoints over loopback HTTP (docs/protected-service.md), what the
 * probes of the vantage points call:
 *
 *   GET /services/<name>/<cloud>/<region>/healthz   200 while that side serves, else 503 and why
 *   GET /services/<name>/<cloud>/<region>/readyz    200 while it serves and can take writes or its
 *                                                   replica's lag is under the plan's RPO
 *   GET /connectivity                               200: the caller's own network works
 *
 * A probe says where it runs with the `x-crosslink-vantage` header (a vantage point id). The network
 * decides before the service does: a request from a vantage point whose own network is failing, to
 * a side whose region is out, or to a side with no task running (nothing listens) gets no answer
 * (the connection is reset), as a probe sees a network or a service that does not reach. `/connectivity` lets a probe tell its own failure from the
 * service's: it fails only when the vantage point's network does.
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { VirtualClock } from '#local/clock.ts';
import { closeServer, listenLoopback } from '../listen.ts';
import { serviceWorldOf } from './protected-service.ts';

const PATH_RE = /^\/services\/([a-z][a-z0-9-]*)\/(aws|gcp)\/([a-z0-9-]+)\/(healthz|readyz)$/;

export class ServiceHealthServer {
  readonly #clock: VirtualClock;
  #server: Server | undefined;
  #port = 0;

  constructor(clock: VirtualClock) {
    this.#clock = clock;
  }

  get url(): string {
    return `http://127.0.0.1:${this.#port}`;
  }

  async start(port = 0): Promise<string> {
    const { server, port: bound } = await listenLoopback(
      async (req, res) => this.#handle(req, res),
      port,
      this.#clock,
    );
    this.#server = server;
    this.#port = bound;
    return this.url;
  }

  async stop(): Promise<void> {
    const s = this.#server;
    this.#server = undefined;
    if (s) await closeServer(s);
  }

  #handle(req: IncomingMessage, res: ServerResponse): void {
    const world = serviceWorldOf(this.#clock);
    const vantage = req.headers['x-crosslink-vantage'];
    const path = (req.url ?? '/').split('?')[0] as string;
    const m = PATH_RE.exec(path);
    // Every probe of a side's endpoint, as the world answered it (the vantage points' view).
    const seen = (status: number | undefined, ownNetworkDown = false) => {
      if (!m) return;
      world.probed({
        ...(typeof vantage === 'string' ? { vantage } : {}),
        service: m[1] as string,
        cloud: m[2] as 'aws' | 'gcp',
        kind: m[4] as 'healthz' | 'readyz',
        ...(status === undefined ? {} : { status }),
        ...(ownNetworkDown ? { ownNetworkDown } : {}),
      });
    };
    if (typeof vantage === 'string' && world.vantageDown.has(vantage)) {
      seen(undefined, true);
      req.socket.destroy();
      return;
    }
    if (req.method !== 'GET') {
      send(res, 405, { error: `${req.method} is not served; use GET` });
      return;
    }
    if (path === '/connectivity') {
      send(res, 200, { ok: true, vantage: vantage ?? null });
      return;
    }
    if (!m) {
      send(res, 404, { error: `no health endpoint at ${path}` });
      return;
    }
    const [, name, cloud, region, kind] = m as unknown as [string, string, 'aws' | 'gcp', string, string];
    const service = world.services.get(name);
    if (!service) {
      send(res, 404, { error: `no protected service named ${name}` });
      return;
    }
    if (service.side(cloud).region !== region) {
      send(res, 404, { error: `${name} does not run on ${cloud} in ${region}` });
      return;
    }
    const answer = service.regionUp(cloud) ? service.answer(cloud, `/${kind}`) : undefined;
    seen(answer?.status);
    if (!answer) {
      req.socket.destroy();
      return;
    }
    res.writeHead(answer.status, { 'content-type': 'application/json' });
    res.end(answer.body ?? '');
  }
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const buf = Buffer.from(JSON.stringify(body));
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': String(buf.length) });
  res.end(buf);
}
