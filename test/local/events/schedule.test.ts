import { describe, expect, it } from 'vitest';
import { InvalidScheduleError, parseSchedule } from '#local/aws/events/schedule.ts';

const t = (iso: string) => Date.parse(iso);
const iso = (ms: number | undefined) => (ms === undefined ? undefined : new Date(ms).toISOString());

describe('schedule expressions', () => {
  it('fires a rate one period after creation, then every period', () => {
    const created = t('2026-01-01T00:00:30Z');
    const s = parseSchedule('rate(5 minutes)', created);
    expect(iso(s.next(created))).toBe('2026-01-01T00:05:30.000Z');
    expect(iso(s.next(t('2026-01-01T00:05:30Z')))).toBe('2026-01-01T00:10:30.000Z');
    expect(iso(parseSchedule('rate(1 day)', created).next(created))).toBe('2026-01-02T00:00:30.000Z');
  });

  it.each([
    // Documentation examples: 10:15 UTC every day; 18:00 Mon-Fri; every 10 min on weekdays; 8:00 first day of month
    ['cron(15 10 * * ? *)', '2026-01-01T11:00:00Z', '2026-01-02T10:15:00.000Z'],
    ['cron(0 18 ? * MON-FRI *)', '2026-01-02T18:00:00Z', '2026-01-05T18:00:00.000Z'],
    ['cron(0/10 * ? * MON-FRI *)', '2026-01-02T23:55:00Z', '2026-01-05T00:00:00.000Z'],
    ['cron(0 8 1 * ? *)', '2026-01-01T08:00:00Z', '2026-02-01T08:00:00.000Z'],
    ['cron(0/5 8-17 ? * MON-FRI *)', '2026-01-05T17:55:00Z', '2026-01-06T08:00:00.000Z'],
    ['cron(0 9 ? * 2#1 *)', '2026-01-06T00:00:00Z', '2026-02-02T09:00:00.000Z'],
    ['cron(0 0 L * ? *)', '2026-02-01T00:00:00Z', '2026-02-28T00:00:00.000Z'],
    ['cron(30 12 ? * 6L 2026)', '2026-01-01T00:00:00Z', '2026-01-30T12:30:00.000Z'],
    ['cron(0 0 1 1 ? 2026)', '2026-01-01T00:00:00Z', undefined],
  ])('%s after %s is %s', (expr, after, expected) => {
    expect(iso(parseSchedule(expr).next(t(after)))).toBe(expected);
  });

  it.each([
    'rate(1 minutes)',
    'rate(5 minute)',
    'rate(0 minutes)',
    'cron(* * * * * *)',
    'cron(0 12 * * ?)',
    'cron(61 * * * ? *)',
    'every 5 minutes',
  ])('refuses %s', (expr) => {
    expect(() => parseSchedule(expr)).toThrow(InvalidScheduleError);
  });
});
