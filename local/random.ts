/** Seeded randomness for the local cloud: the same seed gives the same faults, ids and jitter. */

export interface Random {
  /** Uniform in [0, 1). */
  next(): number;
  /** `n` lower-case hex / base-36 style characters from `alphabet`. */
  chars(n: number, alphabet?: string): string;
  /** A random RFC 4122 v4 UUID (upper-case when `upper`). */
  uuid(upper?: boolean): string;
  reseed(seed: number): void;
  readonly seed: number;
}

/** mulberry32: tiny, fast, good enough for simulation (not for secrets). */
export function seededRandom(seed: number): Random {
  let state = seed >>> 0;
  let current = seed;
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const chars = (n: number, alphabet = '0123456789abcdefghijklmnopqrstuvwxyz') => {
    let s = '';
    for (let i = 0; i < n; i++) s += alphabet[Math.floor(next() * alphabet.length)];
    return s;
  };
  return {
    next,
    chars,
    uuid(upper = false) {
      const h = chars(32, '0123456789abcdef');
      const variant = '89ab'[Math.floor(next() * 4)];
      const u = `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-${variant}${h.slice(17, 20)}-${h.slice(20, 32)}`;
      return upper ? u.toUpperCase() : u;
    },
    reseed(seed: number) {
      state = seed >>> 0;
      current = seed;
    },
    get seed() {
      return current;
    },
  };
}
