/**
 * Time in tests: the local cloud's own VirtualClock in manual mode (one clock for the engines, the
 * local cloud and the tests), and wall-time waits for conditions that need real I/O first.
 */
import { settle, VirtualClock } from '#local/clock.ts';

export { settle };

/** The instant manual clocks of unit tests start at, unless a test says otherwise. */
export const TEST_EPOCH = Date.parse('2026-01-01T00:00:00Z');

/** A VirtualClock that moves only through `advance` / `fireNext` / `runUntil`. */
export function manualClock(start = TEST_EPOCH): VirtualClock {
  return new VirtualClock({ mode: 'manual', start });
}

/**
 * Wall ms a wait on a condition may take before it fails: a guard against a hang only, which a
 * machine loaded by other runs never reaches (a test has 120 s in all).
 */
export const HANG_GUARD_MS = 60_000;

/** Polls `fn` until it returns a truthy value (wall time, bounded) or fails with its last error. */
export async function eventually<T>(
  fn: () => T | Promise<T>,
  timeoutMs = HANG_GUARD_MS,
): Promise<NonNullable<T>> {
  const end = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v as NonNullable<T>;
      last = new Error('condition stayed false');
    } catch (err) {
      last = err;
    }
    if (Date.now() > end) throw last;
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Waits (wall time, up to `ms`) until `what()` holds: for conditions that need real I/O first. */
export async function until(what: () => boolean, ms = HANG_GUARD_MS): Promise<void> {
  const deadline = Date.now() + ms;
  while (!what()) {
    if (Date.now() > deadline) throw new Error('condition never held');
    await settle();
    if (!what()) await new Promise((r) => setTimeout(r, 1));
  }
}
