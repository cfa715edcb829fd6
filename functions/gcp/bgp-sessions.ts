/**
 * The BGP sessions of a link's Google half, for the watcher's health judgement (docs/link-health.md):
 * Compute `routers.getRouterStatus` of the Cloud Router named as the transport, in its project and
 * region, every `bgpPeerStatus[]` counted up when its `status` is `UP` (`DOWN` and `UNKNOWN` not).
 * That this router holds the transport's sessions is inferred: the transport names no router. A router
 * that is not there (404) reports no session, so no judgement is made.
 */
import type { BgpSessionView } from '#core/link/health.ts';
import { fromHttp, NotFound } from './google-errors.ts';
import { ProjectApi, type ProjectApiOptions, readJson } from './retry.ts';
import { parseTransportName } from './watcher.ts';

export interface TransportSessionReader {
  /** The sessions of the transport `projects/p/locations/l/transports/t`; [] when it has no router. */
  sessions(transportName: string): Promise<BgpSessionView[]>;
}

export type RouterSessionsOptions = ProjectApiOptions;

export class RouterSessions implements TransportSessionReader {
  readonly #api: ProjectApi;
  constructor(options: RouterSessionsOptions) {
    this.#api = new ProjectApi(options, 'https://compute.googleapis.com', '/compute/v1/projects/');
  }

  async sessions(transportName: string): Promise<BgpSessionView[]> {
    const at = parseTransportName(transportName);
    if (!at) throw new Error(`${transportName} is not a transport name`);
    const res = await this.#api.send(
      at.project,
      'GET',
      `regions/${encodeURIComponent(at.location)}/routers/${encodeURIComponent(at.id)}/getRouterStatus`,
      true,
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
