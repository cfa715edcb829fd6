/**
 * EventBridge Scheduler's schedule expressions: `at(yyyy-mm-ddThh:mm:ss)` (one time), `rate(n unit)`
 * and `cron(6 fields)`, each evaluated in the schedule's `ScheduleExpressionTimezone` (an IANA name,
 * UTC by default), within its `StartDate` / `EndDate`, as the Scheduler User Guide ("Schedule
 * types") describes them:
 *
 * - a rate schedule first invokes at its `StartDate`, or at once when it has none, then every
 *   period (a day is 24 hours, whatever daylight saving time does to the wall clock);
 * - a cron schedule runs at the wall-clock times its fields name in the time zone: a time that the
 *   spring change skips is skipped, a time the autumn change repeats runs once;
 * - a one-time schedule runs at its local time and ignores `StartDate` / `EndDate`.
 *
 * The cron and rate grammar is EventBridge's (local/aws/events/schedule.ts parses it).
 */
import { InvalidScheduleError, parseSchedule } from '../events/schedule.ts';

export class InvalidExpressionError extends Error {
  /** The request member at fault: `ScheduleExpression` or `ScheduleExpressionTimezone`. */
  readonly field: string;
  constructor(field: string, message: string) {
    super(message);
    this.name = 'InvalidExpressionError';
    this.field = field;
  }
}

export interface SchedulerExpression {
  kind: 'at' | 'rate' | 'cron';
  /**
   * The first invocation time at or after `from` (epoch ms), within the schedule's start and end;
   * undefined when none is left (the schedule is complete).
   */
  next(from: number): number | undefined;
}

export interface ExpressionInput {
  expression: string;
  timezone?: string | undefined;
  /** Epoch ms. */
  startDate?: number | undefined;
  endDate?: number | undefined;
  /** When the schedule was created or last updated (epoch ms): where a rate without StartDate starts. */
  anchor: number;
}

const UNIT_MS: Record<string, number> = { minute: 60_000, hour: 3_600_000, day: 86_400_000 };

/** Whether `name` is a time zone the runtime's IANA database knows. */
export function isTimeZone(name: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: name });
    return true;
  } catch {
    return false;
  }
}

const formatters = new Map<string, Intl.DateTimeFormat>();

/** The wall-clock time in `tz` at instant `ms`, as the epoch ms of the same fields in UTC. */
export function toLocal(ms: number, tz: string): number {
  let f = formatters.get(tz);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: tz,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    });
    formatters.set(tz, f);
  }
  const p: Record<string, number> = {};
  for (const part of f.formatToParts(new Date(ms))) p[part.type] = Number(part.value);
  const utc = Date.UTC(
    p.year as number,
    (p.month as number) - 1,
    p.day as number,
    p.hour as number,
    p.minute as number,
    p.second as number,
  );
  return utc + (((ms % 1000) + 1000) % 1000);
}

/**
 * The instant at which the wall clock in `tz` shows `local` (UTC-field epoch ms): the earlier one
 * when the autumn change shows it twice, undefined when the spring change skips it.
 */
export function fromLocal(local: number, tz: string): number | undefined {
  const offsets = new Set(
    [local - 86_400_000, local, local + 86_400_000].map((probe) => toLocal(probe, tz) - probe),
  );
  const hits = [...offsets].map((o) => local - o).filter((u) => toLocal(u, tz) === local);
  return hits.length > 0 ? Math.min(...hits) : undefined;
}

/** Parses and checks an expression; throws InvalidExpressionError naming the field at fault. */
export function parseSchedulerExpression(input: ExpressionInput): SchedulerExpression {
  const { expression } = input;
  const tz = input.timezone ?? 'UTC';
  if (!isTimeZone(tz))
    throw new InvalidExpressionError(
      'ScheduleExpressionTimezone',
      `Invalid ScheduleExpressionTimezone '${tz}': not a time zone of the IANA database.`,
    );
  const bad = (why: string): never => {
    throw new InvalidExpressionError(
      'ScheduleExpression',
      `Invalid Schedule Expression ${expression}: ${why}`,
    );
  };
  const start = input.startDate ?? Number.NEGATIVE_INFINITY;
  const end = input.endDate ?? Number.POSITIVE_INFINITY;

  const at = /^at\((\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})\)$/.exec(expression);
  if (at) {
    const [y, mo, d, h, mi, s] = at.slice(1).map(Number) as [number, number, number, number, number, number];
    const local = Date.UTC(y, mo - 1, d, h, mi, s);
    const back = new Date(local);
    if (back.getUTCFullYear() !== y || back.getUTCMonth() !== mo - 1 || back.getUTCDate() !== d || h > 23)
      bad('the date or time does not exist');
    const when = fromLocal(local, tz);
    if (when === undefined) bad(`the time does not exist in ${tz} (daylight saving time skips it)`);
    return { kind: 'at', next: (from) => ((when as number) >= from ? when : undefined) };
  }
  if (expression.startsWith('at(')) bad('use at(yyyy-mm-ddThh:mm:ss)');

  if (expression.startsWith('rate(') || expression.startsWith('cron(')) {
    try {
      parseSchedule(expression);
    } catch (err) {
      if (err instanceof InvalidScheduleError) bad(err.message.replace(/^.*?': /, ''));
      throw err;
    }
  } else bad('use at(yyyy-mm-ddThh:mm:ss), rate(<n> <unit>) or cron(<6 fields>)');

  const rate = /^rate\((\d+) (minute|hour|day)s?\)$/.exec(expression);
  if (rate) {
    const period = Number(rate[1]) * (UNIT_MS[rate[2] as string] as number);
    const first = input.startDate ?? input.anchor;
    return {
      kind: 'rate',
      next(from) {
        const from0 = Math.max(from, start);
        const k = Math.max(0, Math.ceil((from0 - first) / period));
        const t = first + k * period;
        return t < end ? t : undefined;
      },
    };
  }
  const cron = parseSchedule(expression);
  return {
    kind: 'cron',
    next(from) {
      let cursor = toLocal(Math.max(from, start), tz);
      // Local times the spring change skips have no instant: the next local time is tried.
      for (let guard = 0; guard < 10_000; guard++) {
        const local = cron.next(cursor - 1);
        if (local === undefined) return undefined;
        const t = fromLocal(local, tz);
        if (t !== undefined && t >= from && t >= start) return t < end ? t : undefined;
        cursor = local + 60_000;
      }
      return undefined;
    },
  };
}
