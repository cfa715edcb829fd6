/**
 * A link's data-path health from what a cloud exposes about it (docs/link-health.md): the BGP
 * sessions of the link's peering and the connection's own state, in words of neither cloud. Each
 * side's watcher maps its cloud's answer (Direct Connect `bgpPeers[].bgpStatus`, Cloud Router
 * `bgpPeerStatus[].status`) into `DataPathView`; the rules here are the same for both, so both sides
 * judge one shared set of sessions alike.
 *
 * Rules: every session up -> healthy (ACTIVE); some down -> impaired (DEGRADED); all down -> down
 * (DOWN). No session reported, or the connection itself not up, says nothing about BGP: no judgement
 * (a connection that is not up is the half observation's business, which takes the link DOWN).
 */
import type { LinkHealth } from './model.ts';

export interface BgpSessionView {
  /** The session as its cloud names it (peer id, peer name). */
  readonly id: string;
  readonly up: boolean;
}

export interface DataPathView {
  /** Whether the connection itself is up (AWS `available`, Google `ACTIVE`). */
  readonly connectionUp: boolean;
  readonly sessions: readonly BgpSessionView[];
}

export interface HealthJudgement {
  readonly status: LinkHealth;
  /** Which sessions are down, in a sentence: it becomes `LinkStateChanged.reason`. */
  readonly detail: string;
}

export function judgeHealth(view: DataPathView): HealthJudgement | undefined {
  if (!view.connectionUp || view.sessions.length === 0) return undefined;
  const down = view.sessions
    .filter((s) => !s.up)
    .map((s) => s.id)
    .sort();
  const n = view.sessions.length;
  if (down.length === 0) return { status: 'healthy', detail: `${n} of ${n} BGP sessions up` };
  if (down.length === n) return { status: 'down', detail: `every BGP session down (${down.join(', ')})` };
  return { status: 'impaired', detail: `${down.length} of ${n} BGP sessions down (${down.join(', ')})` };
}
