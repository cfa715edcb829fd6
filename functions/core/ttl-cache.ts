/**
 * What a provider offers in a region (AWS Interconnect environments, Google remote transport
 * profiles) changes rarely and is read on every request: each region's answer is kept for a time
 * (`ttlMs` on the given clock), concurrent reads of one region share one call, and a failed call is
 * not kept (the next read calls again).
 */
export class TtlCache<V> {
  readonly #ttlMs: number;
  readonly #now: () => number;
  readonly #entries = new Map<string, { at: number; value: Promise<V> }>();

  constructor(ttlMs: number, now: () => number = Date.now) {
    if (!(ttlMs > 0)) throw new RangeError(`ttlMs must be positive, not ${ttlMs}`);
    this.#ttlMs = ttlMs;
    this.#now = now;
  }

  /** The value of `key`: the kept one while younger than the TTL, else what `load` gives. */
  get(key: string, load: () => Promise<V>): Promise<V> {
    const at = this.#now();
    const kept = this.#entries.get(key);
    if (kept && at - kept.at < this.#ttlMs) return kept.value;
    const value = load();
    this.#entries.set(key, { at, value });
    value.catch(() => {
      if (this.#entries.get(key)?.value === value) this.#entries.delete(key);
    });
    return value;
  }

  /** Forgets `key` (what it held proved stale): the next read loads it again. */
  forget(key: string): void {
    this.#entries.delete(key);
  }
}

/**
 * Per-region lists of what a provider offers, cached (TtlCache, default 15 min), searched with
 * `find`: a miss in a kept list loads the region once more before it counts (the offering may be
 * new since the list was kept). The list call is given at `find`, not at construction: building an
 * offering calls nothing (the static check of the AWS roles reads a call written where an object
 * is built as made by whoever builds it).
 */
export class RegionalOffering<I> {
  readonly #cache: TtlCache<I[]>;

  constructor(options: { ttlMs?: number; now?: () => number } = {}) {
    this.#cache = new TtlCache(options.ttlMs ?? 15 * 60_000, options.now);
  }

  /**
   * The first item of `region`'s list `match` accepts (undefined: none), with the list searched;
   * `list` lists the region when the cache has no fresh list of it.
   */
  async find(
    region: string,
    match: (item: I) => boolean,
    list: (region: string) => Promise<I[]>,
  ): Promise<{ found: I | undefined; seen: I[] }> {
    const load = () => list(region);
    let seen = await this.#cache.get(region, load);
    let found = seen.find(match);
    if (!found) {
      this.#cache.forget(region);
      seen = await this.#cache.get(region, load);
      found = seen.find(match);
    }
    return { found, seen };
  }
}
