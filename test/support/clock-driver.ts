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

export interface ClockDriver {
  /** Jumps to a timer made so far. */
  readonly jumps: number;
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
  let jumps = 0;
  const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));
  const loop = (async () => {
    /** Wall time since virtual time last moved. */
    let since = Date.now();
    while (running && !clock.stopped) {
      await pause(pollMs);
      const now = Date.now();
      const { inFlight, lastActive } = clock.activity;
      if (inFlight > 0 || now - lastActive < quietMs || clock.nextDue === undefined) {
        if (now - since < flowStepMs) continue;
        await clock.advance((now - since) * busyRate);
        since = now;
        continue;
      }
      await clock.fireNext();
      jumps++;
      since = Date.now();
    }
  })();
  return {
    get jumps() {
      return jumps;
    },
    stop: async () => {
      running = false;
      await loop;
    },
  };
}
