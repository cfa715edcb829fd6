import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type Cidr, compareCidr, contains, parseCidr, tryParseCidr } from '#core/net/cidr.ts';
import { PrefixTrie } from '#core/vpn/prefix-trie.ts';

describe('CIDR parsing', () => {
  it('normalises IPv4 and IPv6 spellings', () => {
    // Act / Assess
    expect(parseCidr('10.20.0.0/16').text).toBe('10.20.0.0/16');
    expect(parseCidr('2600:1F18:0:0::/56').text).toBe('2600:1f18::/56');
    expect(parseCidr('fd00:0:0:1:0:0:0:0/64').text).toBe('fd00:0:0:1::/64');
    expect(parseCidr('::/0').text).toBe('::/0');
    expect(parseCidr('0.0.0.0/0').length).toBe(0);
  });

  it('names what is wrong with a bad prefix', () => {
    // Act / Assess
    expect(tryParseCidr('10.20.0.1/16')).toBe('"10.20.0.1/16" has host bits set; did you mean 10.20.0.0/16?');
    expect(tryParseCidr('10.20.0.0')).toBe(
      '"10.20.0.0" is not a CIDR (expected address/length, e.g. 10.0.0.0/16)',
    );
    expect(tryParseCidr('10.20.0.0/33')).toBe('"10.20.0.0/33" has a prefix length over 32');
    expect(tryParseCidr('10.300.0.0/16')).toBe('"10.300.0.0/16" has an invalid IPv4 address');
    expect(tryParseCidr('fd00::1::/64')).toBe('"fd00::1::/64" has an invalid IPv6 address');
    expect(tryParseCidr(42)).toBe('expected a CIDR string');
  });

  it('round-trips any prefix through its text', () => {
    fc.assert(
      fc.property(arbCidr(), (c) => {
        // Act
        const again = parseCidr(c.text);
        // Assess
        expect(again).toEqual(c);
      }),
    );
  });
});

/** Any IPv4 or IPv6 prefix, host bits cleared. */
function arbCidr(): fc.Arbitrary<Cidr> {
  const v4 = fc
    .tuple(fc.integer({ min: 0, max: 2 ** 32 - 1 }), fc.integer({ min: 0, max: 32 }))
    .map(([a, len]) => {
      const bits = BigInt(a) & ~((1n << BigInt(32 - len)) - 1n);
      return parseCidr(`${[24n, 16n, 8n, 0n].map((s) => String((bits >> s) & 255n)).join('.')}/${len}`);
    });
  const v6 = fc
    .tuple(fc.bigInt({ min: 0n, max: (1n << 128n) - 1n }), fc.integer({ min: 0, max: 128 }))
    .map(([a, len]) => {
      const bits = a & ~((1n << BigInt(128 - len)) - 1n);
      const groups = Array.from({ length: 8 }, (_, i) =>
        ((bits >> BigInt(112 - 16 * i)) & 0xffffn).toString(16),
      );
      return parseCidr(`${groups.join(':')}/${len}`);
    });
  return fc.oneof(v4, v6);
}

/** Small prefixes inside 10.0.0.0/24 so random sets overlap often. */
const arbSmall = fc
  .tuple(fc.integer({ min: 0, max: 255 }), fc.integer({ min: 24, max: 32 }))
  .map(([a, len]) => parseCidr(`10.0.0.${a & ~((1 << (32 - len)) - 1) & 255}/${len}`));

/** Reference: does the union of `routes` at or inside `p` cover every address of `p`? (counts addresses) */
function coveredByEnumeration(routes: Cidr[], p: Cidr): boolean {
  const size = 1 << (32 - p.length);
  const base = Number(p.address & 255n);
  for (let i = 0; i < size; i++) {
    const addr = parseCidr(`10.0.0.${base + i}/32`);
    if (!routes.some((r) => r.length >= p.length && contains(r, addr))) return false;
  }
  return true;
}

describe('PrefixTrie', () => {
  it('agrees with a brute-force scan on covering, longest match and coverage at or below', () => {
    fc.assert(
      fc.property(fc.array(arbSmall, { maxLength: 12 }), arbSmall, (routes, p) => {
        // Prepare
        const trie = new PrefixTrie<string>();
        for (const r of routes) trie.insert(r, r.text);
        // Act
        const covering = trie.covering(p).map((e) => e.cidr.text);
        const longest = trie.longestMatch(p).map((e) => e.cidr.text);
        // Assess
        const ref = routes
          .filter((r) => contains(r, p))
          .sort((a, b) => a.length - b.length || compareCidr(a, b));
        expect([...covering].sort()).toEqual(ref.map((r) => r.text).sort());
        const maxLen = Math.max(-1, ...ref.map((r) => r.length));
        expect(longest.sort()).toEqual(
          ref
            .filter((r) => r.length === maxLen)
            .map((r) => r.text)
            .sort(),
        );
        expect(trie.coversAtOrBelow(p)).toBe(coveredByEnumeration(routes, p));
        expect(
          trie
            .atOrBelow(p)
            .map((e) => e.cidr.text)
            .sort(),
        ).toEqual(
          routes
            .filter((r) => contains(p, r))
            .map((r) => r.text)
            .sort(),
        );
      }),
      { numRuns: 500 },
    );
  });

  it('lists the longest match of every address of a prefix, as a brute-force scan of each address does', () => {
    fc.assert(
      fc.property(fc.array(arbSmall, { maxLength: 12 }), arbSmall, (routes, p) => {
        // Prepare
        const trie = new PrefixTrie<string>();
        for (const r of routes) trie.insert(r, r.text);
        // Act
        const groups = trie.matchesWithin(p).map((g) => [...new Set(g.map((e) => e.cidr.text))].join(','));
        // Assess
        const ref = new Set<string>();
        const base = Number(p.address & 255n);
        for (let i = 0; i < 1 << (32 - p.length); i++) {
          const addr = parseCidr(`10.0.0.${base + i}/32`);
          const hits = routes.filter((r) => contains(r, addr));
          const len = Math.max(-1, ...hits.map((r) => r.length));
          ref.add([...new Set(hits.filter((r) => r.length === len).map((r) => r.text))].join(','));
        }
        expect(groups.sort()).toEqual([...ref].sort());
      }),
      { numRuns: 500 },
    );
  });

  it('keeps the families apart', () => {
    // Prepare
    const trie = new PrefixTrie<number>();
    trie.insert(parseCidr('0.0.0.0/0'), 4);
    // Act / Assess
    expect(trie.covering(parseCidr('fd00::/8'))).toEqual([]);
    expect(trie.longestMatch(parseCidr('10.1.0.0/16')).map((e) => e.value)).toEqual([4]);
  });
});
