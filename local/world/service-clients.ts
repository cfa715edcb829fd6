/**
 * The protected service's clients: a stream of requests on the virtual clock (one every
 * `intervalMs`), each resolving the service's name through a DNS provider (Cloud DNS or Route 53,
 * dns-resolvers.ts) as a stub resolver behind a caching resolver does: an answer is kept for its
 * TTL, and a failed request does not refresh it. A request reaches the side whose address the
 * answer names (its first address) and succeeds only when that side serves (its region up, a task
 * running, not drained) and its database takes the write there; a success is one write. Every
 * request is counted, failures by reason, and each change between success and failure is kept,
 * so the time traffic was failing (RTO) and the client errors can be measured.
 */
import type { Timer, VirtualClock } from '#local/clock.ts';
import { type DnsProvider, dnsResolverOf } from './dns-resolvers.ts';
import type { ServiceWorld } from './protected-service.ts';
import { type CloudName, cloudOf } from './regions.ts';

export type FailureReason =
  | 'no-resolver'
  | 'nxdomain'
  | 'no-answer'
  | 'unreachable'
  | 'region-down'
  | 'no-capacity'
  | 'drained'
  | 'read-only'
  | 'fenced';

export interface ClientSpec {
  service: string;
  /** The name the clients resolve (`payments.example.com.`). */
  dnsName: string;
  provider: DnsProvider;
  /** Virtual ms between requests (default 1 s). */
  intervalMs?: number;
  /** Where the clients are (for location-based answers). */
  from?: { cloud: CloudName; region: string };
}

interface Outcome {
  at: number;
  ok: boolean;
  reason?: FailureReason;
  side?: CloudName;
}

/**
 * One request of `service` sent to `ip`: it reaches the side whose address that is and succeeds
 * only when that side serves (its region up, a task running, not drained) and its database takes
 * the write there (a success is one write).
 */
export function serveRequest(
  world: ServiceWorld,
  service: string,
  ip: string,
): { ok: boolean; reason?: FailureReason; side?: CloudName } {
  const at = world.endpoint(ip);
  if (!at || at.service.name !== service) return { ok: false, reason: 'unreachable' };
  const down = at.service.downReason(at.cloud);
  if (down) return { ok: false, reason: down, side: at.cloud };
  const write = at.service.db.write(at.cloud);
  if (!write.ok) return { ok: false, reason: write.reason, side: at.cloud };
  return { ok: true, side: at.cloud };
}

export class ServiceClients {
  readonly spec: Required<Omit<ClientSpec, 'from'>> & Pick<ClientSpec, 'from'>;
  readonly #clock: VirtualClock;
  readonly #world: ServiceWorld;
  #timer: Timer | undefined;
  #cache: { answers: string[]; expires: number } | undefined;
  requests = 0;
  successes = 0;
  readonly failures = new Map<FailureReason, number>();
  readonly bySide: Record<CloudName, number> = { aws: 0, gcp: 0 };
  /** Each change between success and failure (and of the side reached), oldest first. */
  readonly transitions: Outcome[] = [];
  lookups = 0;

  constructor(clock: VirtualClock, world: ServiceWorld, spec: ClientSpec) {
    world.get(spec.service);
    if (typeof spec.dnsName !== 'string' || !/^[a-z0-9.-]+\.?$/i.test(spec.dnsName)) {
      throw new RangeError(`dnsName: "${spec.dnsName}" is not a DNS name`);
    }
    if (spec.provider !== 'cloud-dns' && spec.provider !== 'route53') {
      throw new RangeError('provider: must be cloud-dns or route53');
    }
    const intervalMs = spec.intervalMs ?? 1_000;
    if (!Number.isInteger(intervalMs) || intervalMs < 10) {
      throw new RangeError('intervalMs: must be a whole number of milliseconds, at least 10');
    }
    if (spec.from) cloudOf(spec.from.cloud);
    this.#clock = clock;
    this.#world = world;
    this.spec = { ...spec, intervalMs };
  }

  start(): void {
    if (this.#timer) return;
    const tick = () => {
      this.request();
      this.#timer = this.#clock.after(this.spec.intervalMs, tick);
    };
    this.#timer = this.#clock.after(this.spec.intervalMs, tick);
  }

  stop(): void {
    this.#timer?.cancel();
    this.#timer = undefined;
  }

  /** One request now; what it reached or why it failed. */
  request(): Outcome {
    const now = this.#clock.now();
    this.requests++;
    const outcome = this.#attempt(now);
    if (outcome.ok) {
      this.successes++;
      this.bySide[outcome.side as CloudName]++;
    } else this.failures.set(outcome.reason!, (this.failures.get(outcome.reason!) ?? 0) + 1);
    const last = this.transitions[this.transitions.length - 1];
    if (!last || last.ok !== outcome.ok || last.reason !== outcome.reason || last.side !== outcome.side) {
      this.transitions.push(outcome);
    }
    return outcome;
  }

  #attempt(now: number): Outcome {
    const answers = this.#resolve(now);
    if (typeof answers === 'string') return { at: now, ok: false, reason: answers };
    return { at: now, ...serveRequest(this.#world, this.spec.service, answers[0] as string) };
  }

  /** The cached answer, or a fresh one kept for its TTL; a failure reason when there is none. */
  #resolve(now: number): string[] | FailureReason {
    if (this.#cache && this.#cache.expires > now) {
      return this.#cache.answers.length > 0 ? this.#cache.answers : 'no-answer';
    }
    const resolver = dnsResolverOf(this.#clock, this.spec.provider);
    if (!resolver) return 'no-resolver';
    this.lookups++;
    const answer = resolver.resolve(this.spec.dnsName, 'A', this.spec.from);
    if (!answer) {
      this.#cache = undefined;
      return 'nxdomain';
    }
    this.#cache = { answers: answer.answers, expires: now + answer.ttl * 1000 };
    return answer.answers.length > 0 ? answer.answers : 'no-answer';
  }

  describe() {
    const iso = (ms: number) => new Date(ms).toISOString();
    return {
      service: this.spec.service,
      dnsName: this.spec.dnsName,
      provider: this.spec.provider,
      intervalMs: this.spec.intervalMs,
      running: this.#timer !== undefined,
      requests: this.requests,
      successes: this.successes,
      failures: Object.fromEntries(this.failures),
      bySide: { ...this.bySide },
      lookups: this.lookups,
      cached: this.#cache ? { answers: this.#cache.answers, until: iso(this.#cache.expires) } : null,
      transitions: this.transitions.map((t) => ({ ...t, at: iso(t.at) })),
    };
  }
}
