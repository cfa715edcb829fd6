/**
 * EventBridge schedule expressions, `rate(5 minutes)` and `cron(0 12 * * ? *)`, in UTC, and the
 * next instant each fires after a given time (on the virtual clock the caller owns).
 */

export class InvalidScheduleError extends Error {
  constructor(expression: string, why: string) {
    super(`Parameter ScheduleExpression is not valid: '${expression}': ${why}`);
    this.name = 'InvalidScheduleError';
  }
}

export interface Schedule {
  expression: string;
  /** The first firing strictly after `after` (epoch ms); undefined when there is none (cron years ran out). */
  next(after: number): number | undefined;
}

const UNIT_MS: Record<string, number> = { minute: 60_000, hour: 3_600_000, day: 86_400_000 };

export function parseSchedule(expression: string, createdAt = 0): Schedule {
  const rate = /^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$/.exec(expression);
  if (rate) {
    const n = Number(rate[1]);
    const unit = rate[2] as string;
    if (n <= 0) throw new InvalidScheduleError(expression, 'the value must be a positive integer');
    if ((n === 1) !== !unit.endsWith('s')) {
      throw new InvalidScheduleError(
        expression,
        n === 1
          ? `use the singular unit: rate(1 ${unit.replace(/s$/, '')})`
          : `use the plural unit: rate(${n} ${unit}s)`,
      );
    }
    const period = n * (UNIT_MS[unit.replace(/s$/, '')] as number);
    // A rate rule fires one period after it is created, then every period.
    return {
      expression,
      next: (after) => createdAt + (Math.floor((after - createdAt) / period) + 1) * period,
    };
  }
  const cron = /^cron\((.*)\)$/.exec(expression);
  if (cron) return parseCron(expression, (cron[1] as string).trim());
  throw new InvalidScheduleError(expression, 'use rate(<n> <unit>) or cron(<6 fields>)');
}

const MONTHS = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];
const DAYS = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'];

interface DayRule {
  any: boolean;
  values: Set<number>;
  /** Day of month: L (last day), nW (nearest weekday), LW. Day of week: nL (last n-day), n#k. */
  last?: boolean;
  lastWeekday?: boolean;
  nearestWeekday?: number;
  lastDow?: number;
  nth?: { dow: number; k: number };
}

function parseCron(expression: string, body: string): Schedule {
  const fields = body.split(/\s+/);
  if (fields.length !== 6)
    throw new InvalidScheduleError(
      expression,
      'cron needs 6 fields: minutes hours day-of-month month day-of-week year',
    );
  const [min, hour, dom, mon, dow, year] = fields as [string, string, string, string, string, string];
  const bad = (why: string): never => {
    throw new InvalidScheduleError(expression, why);
  };
  if ((dom === '?') === (dow === '?')) bad('exactly one of day-of-month and day-of-week must be ?');
  const minutes = parseField(min, 0, 59, [], bad, 'minutes');
  const hours = parseField(hour, 0, 23, [], bad, 'hours');
  const months = parseField(mon, 1, 12, MONTHS, bad, 'month');
  const years = parseField(year, 1970, 2199, [], bad, 'year');
  const domRule = parseDayOfMonth(dom, bad);
  const dowRule = parseDayOfWeek(dow, bad);
  const dayMatches = (d: Date): boolean => {
    const y = d.getUTCFullYear();
    const m = d.getUTCMonth();
    const day = d.getUTCDate();
    const lastDay = new Date(Date.UTC(y, m + 1, 0)).getUTCDate();
    const wd = d.getUTCDay();
    if (dom !== '?') {
      if (domRule.any) return true;
      if (domRule.last) return day === lastDay;
      if (domRule.lastWeekday) return day === nearestWeekday(y, m, lastDay);
      if (domRule.nearestWeekday !== undefined)
        return day === nearestWeekday(y, m, Math.min(domRule.nearestWeekday, lastDay));
      return domRule.values.has(day);
    }
    if (dowRule.any) return true;
    if (dowRule.lastDow !== undefined) return wd === dowRule.lastDow - 1 && day + 7 > lastDay;
    if (dowRule.nth) return wd === dowRule.nth.dow - 1 && Math.ceil(day / 7) === dowRule.nth.k;
    return dowRule.values.has(wd + 1);
  };
  return {
    expression,
    next(after) {
      const start = new Date(Math.floor(after / 60_000) * 60_000 + 60_000);
      let day = Date.UTC(start.getUTCFullYear(), start.getUTCMonth(), start.getUTCDate());
      const limit = day + 366 * 86_400_000 * 30;
      for (; day < limit; day += 86_400_000) {
        const d = new Date(day);
        if (!years.has(d.getUTCFullYear())) {
          if (d.getUTCFullYear() > 2199) return undefined;
          continue;
        }
        if (!months.has(d.getUTCMonth() + 1) || !dayMatches(d)) continue;
        for (const h of [...hours].sort((a, b) => a - b)) {
          for (const m of [...minutes].sort((a, b) => a - b)) {
            const t = day + h * 3_600_000 + m * 60_000;
            if (t > after) return t;
          }
        }
      }
      return undefined;
    },
  };
}

function nearestWeekday(y: number, m: number, day: number): number {
  const wd = new Date(Date.UTC(y, m, day)).getUTCDay();
  const lastDay = new Date(Date.UTC(y, m + 1, 0)).getUTCDate();
  if (wd === 6) return day === 1 ? 3 : day - 1;
  if (wd === 0) return day === lastDay ? day - 2 : day + 1;
  return day;
}

function parseField(
  text: string,
  lo: number,
  hi: number,
  names: string[],
  bad: (w: string) => never,
  what: string,
): Set<number> {
  const out = new Set<number>();
  const value = (s: string): number => {
    const i = names.indexOf(s.toUpperCase());
    const n = i >= 0 ? i + lo : /^\d+$/.test(s) ? Number(s) : Number.NaN;
    if (!(n >= lo && n <= hi)) bad(`${what}: '${s}' is not between ${lo} and ${hi}`);
    return n;
  };
  for (const part of text.split(',')) {
    const [range, stepText] = part.split('/') as [string, string | undefined];
    const step = stepText === undefined ? 1 : Number(stepText);
    if (!(Number.isInteger(step) && step > 0)) bad(`${what}: bad increment '${part}'`);
    let a: number;
    let b: number;
    if (range === '*') [a, b] = [lo, hi];
    else if (range.includes('-')) {
      const [x, y] = range.split('-') as [string, string];
      [a, b] = [value(x), value(y)];
    } else {
      a = value(range);
      b = stepText === undefined ? a : hi;
    }
    if (a > b) bad(`${what}: range '${part}' goes backwards`);
    for (let n = a; n <= b; n += step) out.add(n);
  }
  return out;
}

function parseDayOfMonth(text: string, bad: (w: string) => never): DayRule {
  if (text === '?' || text === '*') return { any: true, values: new Set() };
  if (text === 'L') return { any: false, values: new Set(), last: true };
  if (text === 'LW') return { any: false, values: new Set(), lastWeekday: true };
  const w = /^(\d{1,2})W$/.exec(text);
  if (w) return { any: false, values: new Set(), nearestWeekday: Number(w[1]) };
  return { any: false, values: parseField(text, 1, 31, [], bad, 'day-of-month') };
}

function parseDayOfWeek(text: string, bad: (w: string) => never): DayRule {
  if (text === '?' || text === '*') return { any: true, values: new Set() };
  const l = /^([1-7]|[A-Za-z]{3})L$/.exec(text);
  if (l)
    return {
      any: false,
      values: new Set(),
      lastDow: [...parseField(l[1] as string, 1, 7, DAYS, bad, 'day-of-week')][0] as number,
    };
  const nth = /^([1-7]|[A-Za-z]{3})#([1-5])$/.exec(text);
  if (nth) {
    const dow = [...parseField(nth[1] as string, 1, 7, DAYS, bad, 'day-of-week')][0] as number;
    return { any: false, values: new Set(), nth: { dow, k: Number(nth[2]) } };
  }
  return { any: false, values: parseField(text, 1, 7, DAYS, bad, 'day-of-week') };
}
