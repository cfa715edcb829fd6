/**
 * Counters over virtual time, stored as piecewise-constant rates. The network world changes a rate
 * only when routing changes (a link comes up, a BGP peer is disabled, a flow is added), so a
 * counter is a short list of (instant, bytes per second) steps and any window can be integrated
 * exactly, whatever the clock did in between: no sampling timer, and a test that advances a day
 * gets a day's bytes.
 */

interface Step {
  /** Virtual epoch ms from which `rate` holds. */
  at: number;
  /** Units (bytes) per second. */
  rate: number;
}

/** One counter: a rate history from its creation on. */
export class RateHistory {
  readonly #steps: Step[] = [];

  constructor(at: number, rate = 0) {
    this.#steps.push({ at, rate });
  }

  /** The rate from `at` on (`at` never goes back: the clock is monotonic). */
  set(at: number, rate: number): void {
    const last = this.#steps[this.#steps.length - 1] as Step;
    if (last.rate === rate) return;
    if (at <= last.at) {
      // Same instant: the later decision wins.
      last.rate = rate;
      const prev = this.#steps[this.#steps.length - 2];
      if (prev && prev.rate === rate) this.#steps.pop();
      return;
    }
    this.#steps.push({ at, rate });
  }

  rateAt(at: number): number {
    let rate = 0;
    for (const s of this.#steps) {
      if (s.at > at) break;
      rate = s.rate;
    }
    return rate;
  }

  /** The first instant this counter existed. */
  get since(): number {
    return (this.#steps[0] as Step).at;
  }

  /** Units accumulated in [from, to) (ms epoch); nothing before the counter existed. */
  integrate(from: number, to: number): number {
    if (to <= from) return 0;
    let total = 0;
    for (let i = 0; i < this.#steps.length; i++) {
      const s = this.#steps[i] as Step;
      const end = this.#steps[i + 1]?.at ?? Number.POSITIVE_INFINITY;
      const a = Math.max(from, s.at);
      const b = Math.min(to, end);
      if (b > a) total += (s.rate * (b - a)) / 1000;
    }
    return Math.round(total);
  }

  /** Consecutive buckets of `periodMs` covering [from, to): what a metrics API returns per period. */
  buckets(from: number, to: number, periodMs: number): Array<{ start: number; end: number; value: number }> {
    if (!(periodMs > 0)) throw new RangeError('period must be positive');
    const out: Array<{ start: number; end: number; value: number }> = [];
    for (let start = from; start < to; start += periodMs) {
      const end = Math.min(start + periodMs, to);
      out.push({ start, end, value: this.integrate(start, end) });
    }
    return out;
  }
}

/** Named counters, created on first touch. */
export class CounterSet {
  readonly #counters = new Map<string, RateHistory>();

  /** Sets the rate of `key` from `at` (creating it at `at` if new). */
  set(key: string, at: number, rate: number): void {
    const c = this.#counters.get(key);
    if (c) c.set(at, rate);
    else this.#counters.set(key, new RateHistory(at, rate));
  }

  get(key: string): RateHistory | undefined {
    return this.#counters.get(key);
  }

  keys(): IterableIterator<string> {
    return this.#counters.keys();
  }

  /** Total in [from, to); 0 for a counter that never existed. */
  total(key: string, from: number, to: number): number {
    return this.#counters.get(key)?.integrate(from, to) ?? 0;
  }
}
