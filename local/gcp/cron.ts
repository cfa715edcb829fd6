/**
 * unix-cron, as Cloud Scheduler reads it: five fields (minute, hour, day of month, month, day of
 * week), each `*`, a value, a range `a-b`, a step `*\/n` / `a-b/n` / `a/n`, or a list of those;
 * month and day names (JAN, MON); day of week 0-7 with 0 and 7 Sunday. When both day fields are
 * restricted, a day matches either (vixie cron). Times are read in the job's IANA time zone, so a
 * 09:00 America/New_York job fires at 13:00 or 14:00 UTC depending on daylight saving time.
 */

export class CronError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CronError';
  }
}

const MONTHS = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];
const DAYS = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'];

interface Field {
  values: Set<number>;
  star: boolean;
}

export interface Cron {
  minute: Field;
  hour: Field;
  dom: Field;
  month: Field;
  dow: Field;
  timeZone: string;
}

function parseField(src: string, name: string, min: number, max: number, names?: string[]): Field {
  const values = new Set<number>();
  const num = (s: string): number => {
    const upper = s.toUpperCase();
    const named = names?.indexOf(upper) ?? -1;
    if (named >= 0) return named + (names === MONTHS ? 1 : 0);
    if (!/^\d+$/.test(s)) throw new CronError(`the ${name} field has ${JSON.stringify(s)}, not a number`);
    const n = Number(s);
    if (n < min || n > max) throw new CronError(`the ${name} field has ${n}, outside ${min}-${max}`);
    return n;
  };
  for (const part of src.split(',')) {
    const [range = '', stepText] = part.split('/');
    const step = stepText === undefined ? 1 : Number(stepText);
    if (!Number.isInteger(step) || step < 1)
      throw new CronError(`the ${name} field has a bad step in ${part}`);
    let lo: number;
    let hi: number;
    if (range === '*') {
      lo = min;
      hi = max;
    } else if (range.includes('-')) {
      const [a = '', b = ''] = range.split('-');
      lo = num(a);
      hi = num(b);
      if (lo > hi) throw new CronError(`the ${name} field has an empty range ${range}`);
    } else {
      lo = num(range);
      hi = stepText === undefined ? lo : max;
    }
    for (let v = lo; v <= hi; v += step) values.add(v);
  }
  return { values, star: src === '*' };
}

/** Parses a 5-field schedule in a time zone (default Etc/UTC); throws CronError. */
export function parseCron(schedule: string, timeZone = 'Etc/UTC'): Cron {
  const parts = schedule.trim().split(/\s+/);
  if (parts.length !== 5) throw new CronError(`a schedule has 5 fields, not ${parts.length}: ${schedule}`);
  try {
    new Intl.DateTimeFormat('en-US', { timeZone });
  } catch {
    throw new CronError(`unknown time zone ${timeZone}`);
  }
  const [mi, h, dom, mo, dow] = parts as [string, string, string, string, string];
  const dowField = parseField(dow, 'day-of-week', 0, 7, DAYS);
  if (dowField.values.has(7)) dowField.values.add(0);
  return {
    minute: parseField(mi, 'minute', 0, 59),
    hour: parseField(h, 'hour', 0, 23),
    dom: parseField(dom, 'day-of-month', 1, 31),
    month: parseField(mo, 'month', 1, 12, MONTHS),
    dow: dowField,
    timeZone,
  };
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function localParts(ms: number, timeZone: string) {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      weekday: 'short',
    });
    formatters.set(timeZone, f);
  }
  const out: Record<string, string> = {};
  for (const p of f.formatToParts(ms)) out[p.type] = p.value;
  return {
    month: Number(out.month),
    day: Number(out.day),
    hour: Number(out.hour),
    minute: Number(out.minute),
    dow: DAYS.indexOf((out.weekday ?? '').toUpperCase().slice(0, 3)),
  };
}

/** The first instant strictly after `after` (epoch ms) that matches, or undefined within 4 years. */
export function nextFire(cron: Cron, after: number): number | undefined {
  let t = Math.floor(after / 60_000) * 60_000 + 60_000;
  const limit = after + 4 * 366 * 86_400_000;
  while (t <= limit) {
    const p = localParts(t, cron.timeZone);
    const domOk = cron.dom.values.has(p.day);
    const dowOk = cron.dow.values.has(p.dow);
    const dayOk =
      cron.dom.star || cron.dow.star ? (cron.dom.star || domOk) && (cron.dow.star || dowOk) : domOk || dowOk;
    if (!cron.month.values.has(p.month) || !dayOk || !cron.hour.values.has(p.hour)) {
      t += (60 - p.minute) * 60_000; // next local hour
      continue;
    }
    if (cron.minute.values.has(p.minute)) return t;
    t += 60_000;
  }
  return undefined;
}
