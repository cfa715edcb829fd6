/**
 * functions/core/formats.ts `dateTime` answers as ajv-formats' "date-time" (full mode), which the
 * run-time compiler (functions/core/schema.ts) uses: the compiled validators and the CLI's agree.
 */
import { fullFormats } from 'ajv-formats/dist/formats.js';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { dateTime } from '#core/formats.ts';

const reference = (fullFormats['date-time'] as { validate: (s: string) => boolean }).validate;

const two = fc.integer({ min: 0, max: 99 }).map((n) => String(n).padStart(2, '0'));
/** Strings shaped like RFC 3339 date-times, valid or near it (days past the month, 60 seconds, odd zones). */
const dateTimeLike = fc
  .tuple(
    fc.integer({ min: 0, max: 9999 }).map((n) => String(n).padStart(4, '0')),
    two,
    two,
    fc.constantFrom('T', 't', ' ', '_'),
    two,
    two,
    two,
    fc.constantFrom('', '.5', '.123456'),
    fc.constantFrom('Z', 'z', '', '+01:00', '-23:59', '+24:00', '+0100', '-00:60', '+5'),
  )
  .map(([y, mo, d, sep, h, mi, s, frac, tz]) => `${y}-${mo}-${d}${sep}${h}:${mi}:${s}${frac}${tz}`);

describe('the date-time format', () => {
  it.each([
    ['2026-01-01T00:00:00.000Z', true],
    ['2024-02-29T12:00:00+01:00', true],
    ['2023-02-29T12:00:00Z', false],
    ['2026-12-31T23:59:60Z', true],
    ['2026-12-31T22:59:60-01:00', true],
    ['2026-12-31T23:58:60Z', false],
    ['2026-01-01T00:00:00', false],
    ['2026-01-01', false],
  ])('%s: %s', (value, valid) => {
    expect(dateTime.validate(value)).toBe(valid);
    expect(reference(value)).toBe(valid);
  });

  it('answers as ajv-formats does, for date-time-like and arbitrary strings', () => {
    fc.assert(
      fc.property(fc.oneof(dateTimeLike, fc.string()), (value) => {
        expect(dateTime.validate(value)).toBe(reference(value));
      }),
      { numRuns: 5000 },
    );
  });
});
