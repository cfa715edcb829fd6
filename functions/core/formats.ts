/**
 * The JSON Schema formats the compiled validators check (functions/core/validators.gen.ts), alone:
 * ajv-formats' module holds every format it knows (about 8 KB in each bundle), crosslink's schemas
 * use one. `dateTime` is ajv-formats' "date-time" (full mode: RFC 3339, a time zone required, a leap
 * second only at 23:59:60 UTC), its code as ajv-formats 3 writes it (MIT, Copyright (c) 2020 Evgeny
 * Poberezkin); test/unit/formats.test.ts checks that both answer alike.
 */

function isLeapYear(year: number): boolean {
  return year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
}

const DATE = /^(\d\d\d\d)-(\d\d)-(\d\d)$/;
const DAYS = [0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

function date(str: string): boolean {
  const matches = DATE.exec(str);
  if (!matches) return false;
  const year = +(matches[1] as string);
  const month = +(matches[2] as string);
  const day = +(matches[3] as string);
  return (
    month >= 1 &&
    month <= 12 &&
    day >= 1 &&
    day <= (month === 2 && isLeapYear(year) ? 29 : (DAYS[month] as number))
  );
}

const TIME = /^(\d\d):(\d\d):(\d\d(?:\.\d+)?)(z|([+-])(\d\d)(?::?(\d\d))?)?$/i;

/** A time with its zone (the zone is required). */
function time(str: string): boolean {
  const matches = TIME.exec(str);
  if (!matches) return false;
  const hr = +(matches[1] as string);
  const min = +(matches[2] as string);
  const sec = +(matches[3] as string);
  const tz = matches[4];
  const tzSign = matches[5] === '-' ? -1 : 1;
  const tzH = +(matches[6] || 0);
  const tzM = +(matches[7] || 0);
  if (tzH > 23 || tzM > 59 || !tz) return false;
  if (hr <= 23 && min <= 59 && sec < 60) return true;
  // A leap second: 23:59:60 in UTC.
  const utcMin = min - tzM * tzSign;
  const utcHr = hr - tzH * tzSign - (utcMin < 0 ? 1 : 0);
  return (utcHr === 23 || utcHr === -1) && (utcMin === 59 || utcMin === -1) && sec < 61;
}

const DATE_TIME_SEPARATOR = /t|\s/i;

/** The "date-time" format, as Ajv's generated code calls it (`.validate`). */
export const dateTime = {
  validate(str: string): boolean {
    const parts = str.split(DATE_TIME_SEPARATOR);
    return parts.length === 2 && date(parts[0] as string) && time(parts[1] as string);
  },
};
