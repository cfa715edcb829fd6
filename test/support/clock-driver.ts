/**
 * Drives a manual VirtualClock through a whole-system test, as time would pass for the system:
 * - while something runs in wall time (a request at an edge, a function: VirtualClock.track), or
 *   did within the last `quietMs`, virtual time flows at `busyRate` times the wall time that passed,
 *   so a function that waits on something virtual (a long-running operation it polls every 10
 *   virtual seconds: its `sleep` follows the clock, local/virtual-date.ts) sees it come at that rate;
 * - once nothing runs, it jumps to the next timer and fires it: a Wait of an hour costs no wall time,
 *   and no timer fires early while a function, a relay hop or a request is still running.
 * The tests wait on events (a state reached, a message seen), never on a duration. A message between
 * two tracked steps (published to the Pub/Sub emulator, not yet handed to the push proxy's held
 * pull) is not in flight; `quietMs` covers that hop. It takes a few milliseconds on an idle machine
 * and a hundred or more on a loaded one: a jump taken inside it fires a timer (a deadline, a
 * timeout) the system would not have reached, so the default errs long.
 */
import type { VirtualClock } from '#local/clock.ts';

/**
 * Where a driven test's time went: virtual time moved by flowing (something ran) and by jumps
 * (nothing ran), and the wall time spent with something in flight, in the quiet window before a
 * jump, and in the jumps themselves (the timers' synchronous parts).
 */
export interface ClockTimes {
  jumps: number;
  flowedVirtualMs: number;
  jumpedVirtualMs: number;
  busyWallMs: number;
  quietWallMs: number;
  jumpWallMs: number;
  /**
   * Wall ms during which each kind of work was in flight (what VirtualClock.track names it, ids
   * and query strings left out), most first when read: what kept the clock from jumping.
   */
  busyWith: Record<string, number>;
}

/** A tracked work's name without its ids, numbers and query string, so runs of one kind add up. */
export function kindOf(what: string): string {
  return what
    .replace(/\?.*$/, '')
    .replace(/\b(lk|op|ex)-[0-9a-z]+/gi, '$1-*')
    .replace(/[0-9a-f]{8}-[0-9a-f-]{27,}/gi, '*')
    .replace(/\d+/g, '#')
    .slice(0, 80);
}

export interface ClockDriver {
  /** Jumps to a timer made so far. */
  readonly jumps: number;
  /** The accounting since the driver started (a copy). */
  times(): ClockTimes;
  /** Stops driving; resolves once the step under way (if any) has ended. */
  stop(): Promise<void>;
}

export interface ClockDriverOptions {
  /** Wall ms with nothing in flight before a jump (default 150). */
  quietMs?: number;
  /** Wall ms between looks at the activity (default 10). */
  pollMs?: number;
  /**
   * Wall ms between advances while something runs (default 50): each advance sends the functions'
   * processes a new anchor (local/virtual-date.ts), so not at every look.
   */
  flowStepMs?: number;
  /**
   * Virtual ms per wall ms while something runs (default 60, the local cloud's own default scale). 1
   * is real time: exact, but a function polling an operation every 10 seconds then needs minutes of
   * wall time for minutes of provisioning.
   */
  busyRate?: number;
}

export function driveClock(clock: VirtualClock, options: ClockDriverOptions = {}): ClockDriver {
  const quietMs = options.quietMs ?? 150;
  const pollMs = options.pollMs ?? 10;
  const busyRate = options.busyRate ?? 60;
  const flowStepMs = options.flowStepMs ?? 50;
  let running = true;
  const t: ClockTimes = {
    jumps: 0,
    flowedVirtualMs: 0,
    jumpedVirtualMs: 0,
    busyWallMs: 0,
    quietWallMs: 0,
    jumpWallMs: 0,
    busyWith: {},
  };
  const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));
  const loop = (async () => {
    /** Wall time since virtual time last moved. */
    let since = Date.now();
    let looked = since;
    while (running && !clock.stopped) {
      await pause(pollMs);
      const now = Date.now();
      const { inFlight, lastActive, what } = clock.activity;
      const busy = inFlight > 0 || now - lastActive < quietMs || clock.nextDue === undefined;
      // The wall time since the last look: busy while something ran, quiet while waiting to jump.
      if (inFlight > 0 || clock.nextDue === undefined) t.busyWallMs += now - looked;
      else t.quietWallMs += now - looked;
      for (const kind of new Set(what.map(kindOf))) t.busyWith[kind] = (t.busyWith[kind] ?? 0) + now - looked;
      looked = now;
      if (busy) {
        if (now - since < flowStepMs) continue;
        const before = clock.now();
        await clock.advance((now - since) * busyRate);
        t.flowedVirtualMs += clock.now() - before;
        since = now;
        continue;
      }
      const before = clock.now();
      await clock.fireNext();
      t.jumps++;
      t.jumpedVirtualMs += clock.now() - before;
      since = Date.now();
      t.jumpWallMs += since - now;
      looked = since;
    }
  })();
  return {
    get jumps() {
      return t.jumps;
    },
    times: () => ({
      ...t,
      busyWith: Object.fromEntries(Object.entries(t.busyWith).sort(([, a], [, b]) => b - a)),
    }),
    stop: async () => {
      running = false;
      await loop;
    },
  };
}
