/**
 * A manual clock for engine tests: time moves only through `advance` / `runUntil`, and timers fire
 * in due order with `now()` at their due time. (The local cloud's VirtualClock in manual mode
 * behaves the same; this one keeps the engine's unit tests free of the local cloud.)
 */
import type { WorkflowClock } from '#local/workflows/ports.ts';

interface Timer {
  due: number;
  seq: number;
  fn: () => unknown;
}

export class TestClock implements WorkflowClock {
  #now: number;
  #timers: Timer[] = [];
  #seq = 0;
  constructor(start = Date.parse('2026-01-01T00:00:00Z')) {
    this.#now = start;
  }
  now(): number {
    return this.#now;
  }
  after(ms: number, fn: () => unknown): { cancel(): void } {
    const t: Timer = { due: this.#now + Math.max(0, ms), seq: this.#seq++, fn };
    this.#timers.push(t);
    this.#timers.sort((a, b) => a.due - b.due || a.seq - b.seq);
    return { cancel: () => (this.#timers = this.#timers.filter((x) => x !== t)) };
  }
  get pending(): number {
    return this.#timers.length;
  }
  /** Due times of waiting timers, relative to now (ms). */
  get waits(): number[] {
    return this.#timers.map((t) => t.due - this.#now);
  }
  async advance(ms: number): Promise<void> {
    const target = this.#now + ms;
    for (;;) {
      await settle();
      const t = this.#timers[0];
      if (!t || t.due > target) break;
      this.#timers.shift();
      this.#now = Math.max(this.#now, t.due);
      await t.fn();
    }
    this.#now = target;
    await settle();
  }
  /**
   * Fires timers one by one until `promise` settles. With no timer pending the execution waits on
   * real I/O (an HTTP response): that gets up to `ioWaitMs` of wall time, then the run is stuck.
   */
  async runUntil<T>(promise: Promise<T>, maxMs = 400 * 86_400_000, ioWaitMs = 10_000): Promise<T> {
    let done = false;
    const p = promise.finally(() => {
      done = true;
    });
    const start = this.#now;
    for (;;) {
      await settle();
      if (done) return p;
      let t = this.#timers[0];
      if (!t) {
        const deadline = Date.now() + ioWaitMs;
        while (!done && this.#timers.length === 0 && Date.now() < deadline)
          await new Promise((r) => setTimeout(r, 2));
        if (done) return p;
        t = this.#timers[0];
        if (!t) throw new Error('the execution waits on nothing the clock can fire (a callback?)');
      }
      if (t.due - start > maxMs) throw new Error('the execution did not finish in the allowed virtual time');
      await this.advance(t.due - this.#now);
    }
  }
}

/** Lets promise continuations run (a few macrotask turns). */
export async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise<void>((r) => setImmediate(r));
}

/** Waits (wall time, up to `ms`) until `what()` holds: for conditions that need real I/O first. */
export async function until(what: () => boolean, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!what()) {
    if (Date.now() > deadline) throw new Error('condition never held');
    await settle();
    if (!what()) await new Promise((r) => setTimeout(r, 1));
  }
}
