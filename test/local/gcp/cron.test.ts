/**
 * unix-cron in a time zone, as Cloud Scheduler reads it: steps, ranges, names, both day fields,
 * and daylight saving time.
 */
import { describe, expect, it } from 'vitest';
import { CronError, nextFire, parseCron } from '#local/gcp/cron.ts';

const next = (schedule: string, after: string, tz?: string) => {
  const t = nextFire(parseCron(schedule, tz), Date.parse(after));
  return t === undefined ? undefined : new Date(t).toISOString();
};

describe('cron', () => {
  it('finds the next instant strictly after the given time', () => {
    expect(next('*/5 * * * *', '2026-06-01T00:00:00Z')).toBe('2026-06-01T00:05:00.000Z');
    expect(next('*/5 * * * *', '2026-06-01T00:04:59Z')).toBe('2026-06-01T00:05:00.000Z');
    expect(next('0 * * * *', '2026-06-01T00:00:00Z')).toBe('2026-06-01T01:00:00.000Z');
    expect(next('30 2 1 JAN *', '2026-06-01T00:00:00Z')).toBe('2027-01-01T02:30:00.000Z');
    expect(next('0 0 * * SUN', '2026-06-01T00:00:00Z')).toBe('2026-06-07T00:00:00.000Z');
    expect(next('0 0 * * 7', '2026-06-01T00:00:00Z')).toBe('2026-06-07T00:00:00.000Z');
    expect(next('15,45 8-10/2 * * *', '2026-06-01T08:20:00Z')).toBe('2026-06-01T08:45:00.000Z');
    // Both day fields restricted: either matches (the 13th, or a Friday).
    expect(next('0 0 13 * 5', '2026-06-01T00:00:00Z')).toBe('2026-06-05T00:00:00.000Z');
    expect(next('0 0 31 2 *', '2026-06-01T00:00:00Z')).toBeUndefined();
  });

  it('reads the schedule in its time zone, across daylight saving time', () => {
    // 09:00 in New York is 13:00 UTC in summer (EDT) and 14:00 UTC in winter (EST).
    expect(next('0 9 * * 1-5', '2026-06-01T00:00:00Z', 'America/New_York')).toBe('2026-06-01T13:00:00.000Z');
    expect(next('0 9 * * 1-5', '2026-12-01T00:00:00Z', 'America/New_York')).toBe('2026-12-01T14:00:00.000Z');
    // 02:30 does not exist in New York on 2026-03-08 (clocks jump from 02:00 to 03:00).
    expect(next('30 2 * * *', '2026-03-08T00:00:00Z', 'America/New_York')).toBe('2026-03-09T06:30:00.000Z');
    expect(next('0 0 * * *', '2026-06-01T00:00:00Z', 'Asia/Kolkata')).toBe('2026-06-01T18:30:00.000Z');
  });

  it('refuses bad fields and zones with the reason', () => {
    expect(() => parseCron('* * * *')).toThrow(/5 fields, not 4/);
    expect(() => parseCron('61 * * * *')).toThrow(/minute field has 61, outside 0-59/);
    expect(() => parseCron('* * * * MOO')).toThrow(CronError);
    expect(() => parseCron('*/0 * * * *')).toThrow(/bad step/);
    expect(() => parseCron('* * * * *', 'Mars/Olympus')).toThrow(/unknown time zone/);
  });
});
