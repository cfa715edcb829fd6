import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '#core/clock.ts';
import {
  executionName,
  isLinkId,
  isValidDynamoKey,
  isValidExecutionName,
  isValidFirestoreId,
  isValidGoogleResourceId,
  linkIdProblem,
  mintEventId,
  mintLinkId,
  parseExecutionName,
  ulid,
  ulidTime,
} from '#core/ids.ts';

const times = fc.integer({ min: 0, max: 2 ** 48 - 1 });
const randomness = fc.uint8Array({ minLength: 10, maxLength: 10 });

describe('link ids', () => {
  it('are lk- plus a lowercase ULID, 29 characters, carrying the clock time', () => {
    // Prepare
    const clock = new ManualClock('2026-11-26T00:00:00Z');
    // Act
    const id = mintLinkId(clock);
    // Assess
    expect(id).toHaveLength(29);
    expect(id).toMatch(/^lk-[0-9a-z]{26}$/);
    expect(isLinkId(id)).toBe(true);
    expect(ulidTime(id)).toBe(clock.now());
  });

  it('fit every place a link id must go, for any time and randomness', () => {
    fc.assert(
      fc.property(times, randomness, fc.integer({ min: 1, max: 10_000 }), (t, r, attempt) => {
        const id = `lk-${ulid(t, r)}`;
        expect(isLinkId(id)).toBe(true);
        expect(isValidGoogleResourceId(id)).toBe(true);
        expect(isValidDynamoKey(id)).toBe(true);
        expect(isValidFirestoreId(id)).toBe(true);
        for (const stage of ['provisioning', 'decommissioning'] as const) {
          const name = executionName(id, stage, attempt);
          expect(isValidExecutionName(name)).toBe(true);
          expect(parseExecutionName(name)).toEqual({ linkId: id, stage, attempt });
        }
      }),
    );
  });

  it('sort by time: a later mint sorts after an earlier one', () => {
    fc.assert(
      fc.property(times, times, randomness, randomness, (a, b, ra, rb) => {
        fc.pre(a !== b);
        const [x, y] = [ulid(a, ra), ulid(b, rb)];
        expect(x < y).toBe(a < b);
      }),
    );
  });

  it('refuse anything else with a reason', () => {
    for (const bad of [
      'LK-01ARZ3NDEKTSV4RRFFQ69G5FAV',
      'lk-01ARZ3NDEKTSV4RRFFQ69G5FAV',
      'lk-01arz3ndektsv4rrffq69g5fa',
      'lk-81arz3ndektsv4rrffq69g5fav',
      'lk-01arz3ndektsv4rrffq69g5fau',
      42,
    ]) {
      expect(linkIdProblem(bad), String(bad)).toBeDefined();
    }
    expect(() => executionName('lk-nope', 'provisioning', 1)).toThrow(/link id/);
    expect(() => executionName(mintLinkId(new ManualClock()), 'provisioning', 0)).toThrow(/attempt/);
  });

  it('event ids are uppercase ULIDs', () => {
    expect(mintEventId(new ManualClock())).toMatch(/^[0-7][0-9A-HJKMNP-TV-Z]{25}$/);
  });
});

describe('the rules of the places ids go', () => {
  it('Google resource ids: lowercase start, no trailing hyphen, at most 63', () => {
    expect(isValidGoogleResourceId('a')).toBe(true);
    expect(isValidGoogleResourceId('1abc')).toBe(false);
    expect(isValidGoogleResourceId('abc-')).toBe(false);
    expect(isValidGoogleResourceId('Abc')).toBe(false);
    expect(isValidGoogleResourceId('a'.repeat(63))).toBe(true);
    expect(isValidGoogleResourceId('a'.repeat(64))).toBe(false);
  });

  it('execution names: at most 80, no whitespace, special or control characters', () => {
    expect(isValidExecutionName('a'.repeat(80))).toBe(true);
    expect(isValidExecutionName('a'.repeat(81))).toBe(false);
    for (const bad of ['a b', 'a:b', 'a/b', 'a{b', 'a\u0001b', 'a\u0085b', ''])
      expect(isValidExecutionName(bad), JSON.stringify(bad)).toBe(false);
  });

  it('Firestore ids: no slash, not . or .., not __x__', () => {
    for (const bad of ['a/b', '.', '..', '__x__']) expect(isValidFirestoreId(bad)).toBe(false);
    expect(isValidFirestoreId('lk-x')).toBe(true);
  });
});
