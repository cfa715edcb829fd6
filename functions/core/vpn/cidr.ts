/**
 * Small CIDR utilities for the VPN planner: IPv4 and IPv6 prefixes as (family, bits, length), with the
 * address held in a bigint so both families share one code path. Kept inside the planner on purpose;
 * it needs only parsing, containment and bit access.
 */

export type Family = 4 | 6;

/** A normalised prefix: host bits are zero, `text` is the canonical spelling. */
export interface Cidr {
  readonly family: Family;
  readonly bits: bigint;
  readonly length: number;
  readonly text: string;
}

const WIDTH: Record<Family, number> = { 4: 32, 6: 128 };

export function width(family: Family): number {
  return WIDTH[family];
}

function parseV4(addr: string): bigint | string {
  const parts = addr.split('.');
  if (parts.length !== 4) return 'an IPv4 address has four dotted parts';
  let v = 0n;
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p) || Number(p) > 255) return `"${p}" is not an IPv4 octet`;
    v = (v << 8n) | BigInt(Number(p));
  }
  return v;
}

function parseV6(addr: string): bigint | string {
  const halves = addr.split('::');
  if (halves.length > 2) return '"::" may appear once';
  const groups = (s: string) => (s === '' ? [] : s.split(':'));
  const head = groups(halves[0] as string);
  const tail = halves.length === 2 ? groups(halves[1] as string) : [];
  const missing = 8 - head.length - tail.length;
  if (halves.length === 1 ? missing !== 0 : missing < 1) return 'an IPv6 address has eight groups';
  const all = [...head, ...Array<string>(halves.length === 2 ? missing : 0).fill('0'), ...tail];
  let v = 0n;
  for (const g of all) {
    if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return `"${g}" is not an IPv6 group`;
    v = (v << 16n) | BigInt(Number.parseInt(g, 16));
  }
  return v;
}

function formatV4(bits: bigint): string {
  return [24n, 16n, 8n, 0n].map((s) => String((bits >> s) & 255n)).join('.');
}

function formatV6(bits: bigint): string {
  const g: number[] = [];
  for (let s = 112n; s >= 0n; s -= 16n) g.push(Number((bits >> s) & 0xffffn));
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
  const hex = g.map((n) => n.toString(16));
  if (best < 0) return hex.join(':');
  return `${hex.slice(0, best).join(':')}::${hex.slice(best + bestLen).join(':')}`;
}

/** Parses `10.0.0.0/16` or `2600:1f18::/56`; returns the reason as a string when it is not a prefix. */
export function tryParseCidr(text: unknown): Cidr | string {
  if (typeof text !== 'string') return 'expected a CIDR string';
  const slash = text.indexOf('/');
  if (slash < 0) return `"${text}" has no /length`;
  const addr = text.slice(0, slash);
  const lenText = text.slice(slash + 1);
  const family: Family = addr.includes(':') ? 6 : 4;
  const w = WIDTH[family];
  if (!/^\d{1,3}$/.test(lenText) || Number(lenText) > w) return `"${text}" has a length outside 0-${w}`;
  const length = Number(lenText);
  const bits = family === 4 ? parseV4(addr) : parseV6(addr);
  if (typeof bits === 'string') return `"${text}": ${bits}`;
  const hostMask = (1n << BigInt(w - length)) - 1n;
  if ((bits & hostMask) !== 0n) return `"${text}" has host bits set`;
  const canonical = `${family === 4 ? formatV4(bits) : formatV6(bits)}/${length}`;
  return { family, bits, length, text: canonical };
}

/** Parses a prefix or throws a RangeError naming the problem. */
export function parseCidr(text: string): Cidr {
  const c = tryParseCidr(text);
  if (typeof c === 'string') throw new RangeError(c);
  return c;
}

/** Bit `i` (0 = most significant) of the prefix's address. */
export function bitAt(c: Cidr, i: number): 0 | 1 {
  return ((c.bits >> BigInt(WIDTH[c.family] - 1 - i)) & 1n) === 1n ? 1 : 0;
}

/** Whether `outer` contains `inner` (a prefix contains itself). */
export function contains(outer: Cidr, inner: Cidr): boolean {
  if (outer.family !== inner.family || outer.length > inner.length) return false;
  const shift = BigInt(WIDTH[outer.family] - outer.length);
  return outer.bits >> shift === inner.bits >> shift;
}

/** Total order: IPv4 before IPv6, then address, then length. */
export function compareCidr(a: Cidr, b: Cidr): number {
  if (a.family !== b.family) return a.family - b.family;
  if (a.bits !== b.bits) return a.bits < b.bits ? -1 : 1;
  return a.length - b.length;
}
