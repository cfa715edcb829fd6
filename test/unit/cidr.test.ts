import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type Cidr, contains, overlappingPairs, overlaps, parseCidr } from '#core/net/cidr.ts';

const v4 = fc
  .tuple(fc.integer({ min: 0, max: 2 ** 32 - 1 }), fc.integer({ min: 0, max: 32 }))
  .map(([a, len]) => {
    const mask = len === 0 ? 0n : ((1n << 32n) - 1n) ^ ((1n << BigInt(32 - len)) - 1n);
    const n = BigInt(a) & mask;
    return parseCidr(`${[24n, 16n, 8n, 0n].map((s) => String((n >> s) & 255n)).join('.')}/${len}`);
  });

/** The obvious definition: two prefixes overlap when they share an address. */
function sharesAddress(a: Cidr, b: Cidr): boolean {
  const bits = a.family === 4 ? 32 : 128;
  const end = (c: Cidr) => c.address + (1n << BigInt(bits - c.length)) - 1n;
  return a.family === b.family && a.address <= end(b) && b.address <= end(a);
}

describe('CIDR parsing', () => {
  it('parses and canonicalises IPv4 and IPv6', () => {
    expect(parseCidr('10.0.0.0/8').text).toBe('10.0.0.0/8');
    expect(parseCidr('2001:DB8:0:0::/32').text).toBe('2001:db8::/32');
    expect(parseCidr('::/0').text).toBe('::/0');
    expect(parseCidr('fd00:0:0:1::/64').text).toBe('fd00:0:0:1::/64');
    expect(parseCidr('::ffff:10.0.0.0/104').text).toBe('::ffff:a00:0/104');
  });

  it('says what is wrong', () => {
    expect(() => parseCidr('10.0.0.1/8')).toThrow('did you mean 10.0.0.0/8?');
    expect(() => parseCidr('10.0.0.0/33')).toThrow('prefix length over 32');
    expect(() => parseCidr('256.0.0.0/8')).toThrow('invalid IPv4 address');
    expect(() => parseCidr('10.0.0/8')).toThrow('invalid IPv4 address');
    expect(() => parseCidr('1::2::3/64')).toThrow('invalid IPv6 address');
    expect(() => parseCidr('10.0.0.0')).toThrow('not a CIDR');
    expect(() => parseCidr('010.0.0.0/8')).toThrow('invalid IPv4');
  });
});

describe('CIDR overlap', () => {
  it('agrees with "shares an address" for any pair (property)', () => {
    fc.assert(
      fc.property(v4, v4, (a, b) => {
        expect(overlaps(a, b)).toBe(sharesAddress(a, b));
        expect(overlaps(a, b)).toBe(overlaps(b, a));
        if (contains(a, b) && contains(b, a)) expect(a.text).toBe(b.text);
      }),
    );
  });

  it('overlappingPairs finds exactly the pairs an all-pairs scan finds (property)', () => {
    fc.assert(
      fc.property(fc.array(v4, { maxLength: 25 }), fc.array(v4, { maxLength: 25 }), (as, bs) => {
        const key = ([x, y]: [Cidr, Cidr]) => `${x.text}|${y.text}`;
        const expected = as
          .flatMap((a) => bs.filter((b) => sharesAddress(a, b)).map((b) => key([a, b])))
          .sort();
        expect(overlappingPairs(as, bs).map(key).sort()).toEqual(expected);
      }),
    );
  });

  it('never mixes families', () => {
    expect(overlaps(parseCidr('0.0.0.0/0'), parseCidr('::/0'))).toBe(false);
  });
});
