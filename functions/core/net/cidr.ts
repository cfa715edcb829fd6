/** IPv4 and IPv6 prefixes as numbers, so overlap and containment are exact. */

export type Family = 4 | 6;

export interface Cidr {
  family: Family;
  /** The network address as an unsigned integer (128 bits for IPv6). */
  address: bigint;
  length: number;
  /** Canonical text: lowercase, compressed IPv6, no host bits. */
  text: string;
}

export class CidrError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CidrError';
  }
}

function parseV4(s: string): bigint | undefined {
  const parts = s.split('.');
  if (parts.length !== 4) return undefined;
  let n = 0n;
  for (const p of parts) {
    if (!/^(0|[1-9]\d{0,2})$/.test(p) || Number(p) > 255) return undefined;
    n = (n << 8n) | BigInt(p);
  }
  return n;
}

function parseV6(s: string): bigint | undefined {
  if (!/^[0-9a-fA-F:.]+$/.test(s)) return undefined;
  const halves = s.split('::');
  if (halves.length > 2) return undefined;
  const groups = (part: string): number[] | undefined => {
    if (part === '') return [];
    const out: number[] = [];
    const items = part.split(':');
    for (let i = 0; i < items.length; i++) {
      const g = items[i] as string;
      if (i === items.length - 1 && g.includes('.')) {
        const v4 = parseV4(g);
        if (v4 === undefined) return undefined;
        out.push(Number(v4 >> 16n), Number(v4 & 0xffffn));
      } else {
        if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return undefined;
        out.push(Number.parseInt(g, 16));
      }
    }
    return out;
  };
  const head = groups(halves[0] as string);
  const tail = halves.length === 2 ? groups(halves[1] as string) : [];
  if (!head || !tail) return undefined;
  const missing = 8 - head.length - tail.length;
  if (halves.length === 1 ? missing !== 0 : missing < 1) return undefined;
  const all = [...head, ...new Array<number>(halves.length === 2 ? missing : 0).fill(0), ...tail];
  return all.reduce((acc, g) => (acc << 16n) | BigInt(g), 0n);
}

export function formatAddress(family: 4 | 6, address: bigint): string {
  if (family === 4) return [24n, 16n, 8n, 0n].map((s) => String((address >> s) & 255n)).join('.');
  const g = Array.from({ length: 8 }, (_, i) => Number((address >> BigInt(112 - 16 * i)) & 0xffffn));
  // RFC 5952: compress the longest run (length >= 2) of zero groups, the first one on a tie.
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = g.map((x) => x.toString(16));
  if (best < 0) return hex.join(':');
  return `${hex.slice(0, best).join(':')}::${hex.slice(best + bestLen).join(':')}`;
}

/** Parses `10.0.0.0/16` or `2001:db8::/32`. Throws CidrError saying what is wrong. */
export function parseCidr(text: string): Cidr {
  if (typeof text !== 'string') throw new CidrError('must be a string such as 10.0.0.0/16');
  const m = /^([^/\s]+)\/(\d{1,3})$/.exec(text.trim());
  if (!m) throw new CidrError(`"${text}" is not a CIDR (expected address/length, e.g. 10.0.0.0/16)`);
  const addr = m[1] as string;
  const length = Number(m[2]);
  const family: 4 | 6 = addr.includes(':') ? 6 : 4;
  const n = family === 4 ? parseV4(addr) : parseV6(addr);
  if (n === undefined) throw new CidrError(`"${text}" has an invalid IPv${family} address`);
  const bits = family === 4 ? 32 : 128;
  if (length > bits) throw new CidrError(`"${text}" has a prefix length over ${bits}`);
  const hostMask = (1n << BigInt(bits - length)) - 1n;
  if ((n & hostMask) !== 0n) {
    const network = n & ~hostMask & ((1n << BigInt(bits)) - 1n);
    throw new CidrError(
      `"${text}" has host bits set; did you mean ${formatAddress(family, network)}/${length}?`,
    );
  }
  return { family, address: n, length, text: `${formatAddress(family, n)}/${length}` };
}

export function width(family: Family): number {
  return family === 4 ? 32 : 128;
}

export function bitsOf(c: Cidr): number {
  return width(c.family);
}

/** Like parseCidr, but returns the reason as a string instead of throwing. */
export function tryParseCidr(text: unknown): Cidr | string {
  if (typeof text !== 'string') return 'expected a CIDR string';
  try {
    return parseCidr(text);
  } catch (e) {
    return (e as Error).message;
  }
}

/** Bit `i` (0 = most significant) of the prefix's address. */
export function bitAt(c: Cidr, i: number): 0 | 1 {
  return ((c.address >> BigInt(bitsOf(c) - 1 - i)) & 1n) === 1n ? 1 : 0;
}

/** Total order: IPv4 before IPv6, then address, then length. */
export function compareCidr(a: Cidr, b: Cidr): number {
  if (a.family !== b.family) return a.family - b.family;
  if (a.address !== b.address) return a.address < b.address ? -1 : 1;
  return a.length - b.length;
}

/** True when `outer` contains `inner` (equal prefixes contain each other). */
export function contains(outer: Cidr, inner: Cidr): boolean {
  if (outer.family !== inner.family || outer.length > inner.length) return false;
  const shift = BigInt(bitsOf(outer) - outer.length);
  return outer.address >> shift === inner.address >> shift;
}

export function overlaps(a: Cidr, b: Cidr): boolean {
  return contains(a, b) || contains(b, a);
}

export function isDefaultRoute(c: Cidr): boolean {
  return c.length === 0;
}

/**
 * Every overlapping pair between two lists, found by sorting rather than comparing all pairs:
 * prefixes sorted by (family, address) overlap only with a still-open enclosing prefix.
 */
export function overlappingPairs(a: readonly Cidr[], b: readonly Cidr[]): Array<[Cidr, Cidr]> {
  type Tagged = { c: Cidr; side: 0 | 1; end: bigint };
  const tag = (c: Cidr, side: 0 | 1): Tagged => ({
    c,
    side,
    end: c.address + (1n << BigInt(bitsOf(c) - c.length)) - 1n,
  });
  const all = [...a.map((c) => tag(c, 0)), ...b.map((c) => tag(c, 1))].sort((x, y) =>
    x.c.family !== y.c.family
      ? x.c.family - y.c.family
      : x.c.address < y.c.address
        ? -1
        : x.c.address > y.c.address
          ? 1
          : x.c.length - y.c.length,
  );
  const out: Array<[Cidr, Cidr]> = [];
  const open: Tagged[] = [];
  for (const t of all) {
    // Close the prefixes that end before this one starts (or belong to the other family).
    for (let i = open.length - 1; i >= 0; i--) {
      const o = open[i] as Tagged;
      if (o.c.family !== t.c.family || o.end < t.c.address) open.splice(i, 1);
    }
    for (const o of open) if (o.side !== t.side) out.push(o.side === 0 ? [o.c, t.c] : [t.c, o.c]);
    open.push(t);
  }
  return out;
}
