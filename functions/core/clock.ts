import { scheduler } from 'node:timers/promises';

/** Time, as a port: the core never reads the system clock, so the local cloud can drive it. */
export interface Clock {
  /** Milliseconds since the Unix epoch. */
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

/**
 * Lets `ms` of time pass: the wait between polls of an operation and a retry's backoff. It is
 * `scheduler.wait` of node:timers/promises, looked up at each call, so a runtime that runs the
 * functions on another clock (the local cloud's virtual one) can make these waits follow it, while
 * a timeout (`setTimeout`, `AbortSignal.timeout`) stays on the code's own time.
 */
export const sleep = (ms: number): Promise<void> => scheduler.wait(ms);

/** A clock that only moves when told to: for tests and replays. */
export class ManualClock implements Clock {
  #now: number;
  constructor(start: number | string = '2026-01-01T00:00:00Z') {
    this.#now = typeof start === 'number' ? start : Date.parse(start);
  }
  now(): number {
    return this.#now;
  }
  advance(ms: number): void {
    if (ms < 0) throw new RangeError('a clock cannot go backwards');
    this.#now += ms;
  }
  set(ms: number): void {
    this.#now = ms;
  }
}

const UNIT_MS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** Parses `90s`, `5m`, `1h30m`, `7d`, `250ms` into milliseconds; throws RangeError on anything else. */
export function parseDuration(text: string): number {
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/gy;
  let total = 0;
  let matched = 0;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    total += Number(m[1]) * (UNIT_MS[m[2] as string] as number);
    matched = re.lastIndex;
  }
  if (text.length === 0 || matched !== text.length) {
    throw new RangeError(`"${text}" is not a duration (use e.g. 90s, 5m, 1h30m, 7d)`);
  }
  return total;
}

/** The inverse of parseDuration for whole seconds: 90_000 -> `1m30s`, 1_800_000 -> `30m`. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${ms}ms`;
  const parts: string[] = [];
  let rest = Math.floor(ms / 1000);
  for (const [unit, size] of [
    ['d', 86_400],
    ['h', 3600],
    ['m', 60],
    ['s', 1],
  ] as const) {
    if (rest >= size) parts.push(`${Math.floor(rest / size)}${unit}`);
    rest %= size;
  }
  return parts.join('');
}
