/**
 * Cloud DNS's health checking of the targets of routing policies: every `intervalMs` (virtual, 5 s by
 * default) a checker probes each health-checked address of every record set with `GET /healthz`
 * through the world's endpoints (local/world/endpoints.ts `probeEndpoint`), on the internal load
 * balancer's `port` or, for an external endpoint, port 443: it passes on a 200 (the protected
 * service's side there: its region up, a task running, not drained); no answer (nothing at the
 * address, its region out) or another status fails. A target turns unhealthy after `unhealthyThreshold` failures in a row and healthy again
 * after `healthyThreshold` passes in a row (2 and 2, as a Google health check's defaults); its first
 * probe sets its state. The checker runs only while some record set has health-checked targets.
 */
import type { VirtualClock } from '#local/clock.ts';
import { probeEndpoint } from '#local/world/endpoints.ts';

export interface HealthSettings {
  intervalMs: number;
  healthyThreshold: number;
  unhealthyThreshold: number;
}

/** Where Google's health checkers probe from: outside the regions of the targets. */
const CHECKERS = { cloud: 'external', region: 'google-health-checkers' } as const;

/**
 * The port probed when the target names none: an external endpoint's port is its health check's,
 * and the local Compute has no health check resource, so it is the service's HTTPS port.
 */
export const DEFAULT_PORT = 443;

export const DEFAULT_HEALTH: HealthSettings = {
  intervalMs: 5_000,
  healthyThreshold: 2,
  unhealthyThreshold: 2,
};

interface TargetHealth {
  healthy: boolean;
  /** Probes in a row that disagreed with `healthy`. */
  streak: number;
  /** Virtual ms of the last change of `healthy`. */
  since: number;
  lastProbe: number;
  detail: string;
}

export class DnsHealthChecker {
  readonly #clock: VirtualClock;
  readonly #targets: () => { ip: string; port: number }[];
  #ports = new Map<string, number>();
  readonly #settings: () => HealthSettings;
  readonly #state = new Map<string, TargetHealth>();
  #timer: { cancel(): void } | undefined;

  constructor(
    clock: VirtualClock,
    targets: () => { ip: string; port: number }[],
    settings: () => HealthSettings,
  ) {
    this.#clock = clock;
    this.#targets = targets;
    this.#settings = settings;
  }

  /** Whether `ip` is healthy now (an address never probed is probed first). */
  healthy(ip: string): boolean {
    if (!this.#state.has(ip)) this.refresh();
    if (!this.#state.has(ip)) this.#probe(ip);
    return (this.#state.get(ip) as TargetHealth).healthy;
  }

  /** Probes new targets at once and keeps the checker running while there are targets. */
  refresh(): void {
    const targets = this.#known();
    for (const ip of targets) if (!this.#state.has(ip)) this.#probe(ip);
    for (const ip of [...this.#state.keys()]) if (!targets.includes(ip)) this.#state.delete(ip);
    if (targets.length > 0 && !this.#timer) this.#schedule();
  }

  /** The addresses to probe now, remembering each one's port. */
  #known(): string[] {
    const targets = this.#targets();
    this.#ports = new Map(targets.map((t) => [t.ip, t.port]));
    return targets.map((t) => t.ip);
  }

  view(): Record<string, { healthy: boolean; since: string; detail: string }> {
    return Object.fromEntries(
      [...this.#state].map(([ip, h]) => [
        ip,
        { healthy: h.healthy, since: new Date(h.since).toISOString(), detail: h.detail },
      ]),
    );
  }

  stop(): void {
    this.#timer?.cancel();
    this.#timer = undefined;
  }

  #schedule(): void {
    this.#timer = this.#clock.after(this.#settings().intervalMs, () => {
      this.#timer = undefined;
      const targets = this.#known();
      for (const ip of [...this.#state.keys()]) if (!targets.includes(ip)) this.#state.delete(ip);
      for (const ip of targets) this.#probe(ip);
      if (targets.length > 0) this.#schedule();
    });
  }

  #probe(ip: string): void {
    const now = this.#clock.now();
    const port = this.#ports.get(ip) ?? DEFAULT_PORT;
    const answer = probeEndpoint(this.#clock, { address: ip, port, path: '/healthz' }, CHECKERS);
    const pass = answer?.status === 200;
    const detail = answer ? `HTTP ${answer.status} on port ${port}` : `no answer on port ${port}`;
    const h = this.#state.get(ip);
    if (!h) {
      this.#state.set(ip, { healthy: pass, streak: 0, since: now, lastProbe: now, detail });
      return;
    }
    h.lastProbe = now;
    h.detail = detail;
    if (pass === h.healthy) {
      h.streak = 0;
      return;
    }
    h.streak++;
    const s = this.#settings();
    if (h.streak >= (pass ? s.healthyThreshold : s.unhealthyThreshold)) {
      h.healthy = pass;
      h.streak = 0;
      h.since = now;
    }
  }
}
