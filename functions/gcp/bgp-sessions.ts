/**
 * The BGP sessions of a link's Google half, for the watcher's health judgement (docs/link-health.md):
 * Compute `routers.getRouterStatus` of the Cloud Router named as the transport, in its project and
 * region, every `bgpPeerStatus[]` counted up when its `status` is `UP` (`DOWN` and `UNKNOWN` not).
 * That this router holds the transport's sessions is inferred: the transport names no router. A router
 * that is not there (404) reports no session, so no judgement is made.
 */
import type { BgpSessionView } from '#core/link/health.ts';
import { fromHttp, NotFound } from './google-errors.ts';
import { projectFetch, type RetryOptions, RetryPolicy, readJson, sendAuthorized } from './retry.ts';
import type { AccessTokenSource } from './transport-client.ts';
import { parseTransportName } from './watcher.ts';

export interface TransportSessionReader {
  /** The sessions of the transport `projects/p/locations/l/transports/t`; [] when it has no router. */
  sessions(transportName: string): Promise<BgpSessionView[]>;
}

export interface RouterSessionsOptions {
  /** The credentials for a project's calls (the hub's own, a network project's impersonated). */
  authFor(project: string): AccessTokenSource;
  /** Base URL serving `/compute/v1/...` (default https://compute.googleapis.com); the local edge in tests. */
  endpoint?: string;
  fetch?: typeof fetch;
  /** The retry policy's options (retry.ts): the read is sent again on 429, 503 and a lost connection. */
  retry?: RetryOptions;
}

export class RouterSessions implements TransportSessionReader {
  readonly #o: RouterSessionsOptions;
  readonly #policy: RetryPolicy;
  constructor(options: RouterSessionsOptions) {
    this.#o = options;
    this.#policy = new RetryPolicy(options.retry);
  }

  async sessions(transportName: string): Promise<BgpSessionView[]> {
    const at = parseTransportName(transportName);
    if (!at) throw new Error(`${transportName} is not a transport name`);
    const base = (this.#o.endpoint ?? 'https://compute.googleapis.com').replace(/\/+$/, '');
    const url = `${base}/compute/v1/projects/${encodeURIComponent(at.project)}/regions/${encodeURIComponent(at.location)}/routers/${encodeURIComponent(at.id)}/getRouterStatus`;
    const res = await sendAuthorized(
      projectFetch(this.#o.authFor(at.project), at.project, this.#policy, this.#o.fetch),
      { method: 'GET', url, retry: true },
    );
    const body = (await readJson(res)) as {
      result?: { bgpPeerStatus?: { name?: string; status?: string }[] };
    };
    if (!res.ok) {
      const e = fromHttp(res.status, body);
      if (e instanceof NotFound) return [];
      throw e;
    }
    return (body?.result?.bgpPeerStatus ?? []).map((p, i) => ({
      id: p.name ?? `peer-${i + 1}`,
      up: p.status === 'UP',
    }));
  }
}
