/**
 * Feeds the network world from the link world (local/world.ts): its `routesToGcp()` /
 * `routesToAws()` become one `LinkRouteView` per up link (id = the transport id, which is the
 * crosslink link id). The link world announces changes of a link's down reasons and BGP sessions
 * (`onCarriedChange`, wired to `check()` in local/index.ts), so a fault reaches the routes at once;
 * other changes (a half's state moving on its own clock) it does not announce, so while traffic
 * flows (the network says so with `setWatching`) this source also looks again every virtual minute
 * and refreshes the network when the routes differ: counters may attribute such a change up to one
 * virtual minute late, never early. With no traffic it sets no timer (nothing to attribute; a
 * perpetual timer would also keep the clock busy for every test).
 */
import type { Timer, VirtualClock } from '#local/clock.ts';
import type { LinkRouteSource, LinkRouteView } from './network.ts';

/** The part of the link world this reads (structural, so either side can evolve). */
export interface LinkRoutesProvider {
  routesToGcp(): Array<{
    prefix: string;
    sharedId: string;
    transport: string;
    network: string;
    accountId: string;
    directConnectGatewayId: string | undefined;
  }>;
  routesToAws(): Array<{
    prefix: string;
    sharedId: string;
    transport: string;
    network: string;
    accountId: string;
    directConnectGatewayId: string | undefined;
  }>;
}

export const LINK_POLL_MS = 60_000;

function networkOf(ref: string): { project: string; network: string } | undefined {
  const m = /projects\/([^/]+)\/global\/networks\/([^/]+)$/.exec(ref);
  return m ? { project: m[1] as string, network: m[2] as string } : undefined;
}

export class WorldLinkRoutes implements LinkRouteSource {
  readonly #world: LinkRoutesProvider;
  readonly #clock: VirtualClock;
  #listeners = new Set<() => void>();
  #timer: Timer | undefined;
  #watching = false;
  #last = '';

  constructor(world: LinkRoutesProvider, clock: VirtualClock) {
    this.#world = world;
    this.#clock = clock;
  }

  links(): LinkRouteView[] {
    const byId = new Map<string, LinkRouteView>();
    const add = (r: ReturnType<LinkRoutesProvider['routesToGcp']>[number], side: 'toGcp' | 'toAws') => {
      const net = networkOf(r.network);
      if (!net || !r.directConnectGatewayId) return;
      const linkId = r.transport.split('/').pop() as string;
      const view = byId.get(linkId) ?? {
        linkId,
        up: true,
        aws: { accountId: r.accountId, dxGatewayId: r.directConnectGatewayId },
        gcp: net,
        toGcp: [] as string[],
        toAws: [] as string[],
      };
      (view[side] as string[]).push(r.prefix);
      byId.set(linkId, view);
    };
    for (const r of this.#world.routesToGcp()) add(r, 'toGcp');
    for (const r of this.#world.routesToAws()) add(r, 'toAws');
    return [...byId.values()];
  }

  onChange(listener: () => void): () => void {
    this.#listeners.add(listener);
    this.#last = JSON.stringify(this.links());
    return () => {
      this.#listeners.delete(listener);
      if (this.#listeners.size === 0) this.stop();
    };
  }

  /** Looks now (call after changing links in-process, e.g. from an admin action). */
  check(): void {
    const now = JSON.stringify(this.links());
    if (now === this.#last) return;
    this.#last = now;
    for (const l of this.#listeners) l();
  }

  setWatching(on: boolean): void {
    if (on === this.#watching) return;
    this.#watching = on;
    if (on) {
      this.#last = JSON.stringify(this.links());
      this.#arm();
    } else this.stop();
  }

  stop(): void {
    this.#timer?.cancel();
    this.#timer = undefined;
  }

  #arm(): void {
    if (this.#timer) return;
    try {
      this.#timer = this.#clock.after(LINK_POLL_MS, () => {
        this.#timer = undefined;
        this.check();
        if (this.#watching && this.#listeners.size > 0) this.#arm();
      });
    } catch {
      // The clock is stopped: the local cloud is shutting down.
    }
  }
}
