/**
 * A minimal manual clock with timers, the shape the engines need (`now`, `at`). Unit tests of the
 * engines use it; the integration tests use the local cloud's VirtualClock in manual mode.
 */
export class ManualTimers {
  #now: number;
  #timers: { due: number; seq: number; fn: () => unknown }[] = [];
  #seq = 0;
  constructor(start = Date.parse('2026-01-01T00:00:00Z')) {
    this.#now = start;
  }
  now(): number {
    return this.#now;
  }
  at(due: number, fn: () => unknown): { cancel(): void } {
    const t = { due, seq: this.#seq++, fn };
    this.#timers.push(t);
    return {
      cancel: () => {
        this.#timers = this.#timers.filter((x) => x !== t);
      },
    };
  }
  get pending(): number {
    return this.#timers.length;
  }
  /** Moves time forward, firing due timers in order and letting their continuations run. */
  async advance(ms: number): Promise<void> {
    const target = this.#now + ms;
    await settle();
    for (;;) {
      this.#timers.sort((a, b) => a.due - b.due || a.seq - b.seq);
      const next = this.#timers[0];
      if (!next || next.due > target) break;
      this.#timers.shift();
      this.#now = Math.max(this.#now, next.due);
      await next.fn();
      await settle();
    }
    this.#now = target;
    await settle();
  }
}

/** Lets pending promise continuations and immediates run. */
export async function settle(rounds = 5): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise<void>((r) => setImmediate(r));
}

/** Polls `fn` until it returns a truthy value (wall time, bounded) or fails with its last error. */
export async function eventually<T>(fn: () => T | Promise<T>, timeoutMs = 3000): Promise<NonNullable<T>> {
  const end = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v as NonNullable<T>;
      last = new Error('condition stayed false');
    } catch (err) {
      last = err;
    }
    if (Date.now() > end) throw last;
    await new Promise((r) => setTimeout(r, 5));
  }
}
