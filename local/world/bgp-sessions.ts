/**
 * A link's BGP sessions as the link world (local/world.ts) holds them, reachable from the service
 * modules of either edge by the local cloud's clock (as `networkOf` is): Direct Connect reads them to
 * answer `DescribeVirtualInterfaces`. The link world registers itself when it starts.
 */
import type { Clock } from '#core/clock.ts';

export interface BgpSession {
  /** 1-based: the session of the connection's first, second, ... channel. */
  readonly index: number;
  readonly up: boolean;
}

export interface BgpSessionSource {
  /** The sessions of the link with this shared id; undefined when the world knows no such link. */
  bgpSessions(sharedId: string): readonly BgpSession[] | undefined;
}

const byClock = new WeakMap<Clock, BgpSessionSource>();

export function setBgpSessionSource(clock: Clock, source: BgpSessionSource): void {
  byClock.set(clock, source);
}

/** The sessions of a link, or undefined when no link world runs or it knows no such link. */
export function bgpSessionsOf(clock: Clock, sharedId: string): readonly BgpSession[] | undefined {
  return byClock.get(clock)?.bgpSessions(sharedId);
}
