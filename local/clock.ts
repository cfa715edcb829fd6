/**
 * The virtual clock of the local cloud, and the one clock of every engine and test. Every simulated
 * delay (a connection provisioning, a Wait state, a schedule, a retry interval) is a timer on this
 * clock, so a test can jump an hour ahead and see exactly what an hour would have done, and
 * `npm start` can run a day in 24 minutes. The engines (Step Functions, Workflows, schedulers, the
 * world) take it as a `TimerClock`; the functions' processes follow it through `virtual-date.ts`.
 *
 * Two modes:
 * - `scaled`: virtual time flows at `scale` times wall time (default 60: one simulated minute per
 *   wall second; 1 = real time). `advance` still jumps ahead on top of the flow.
 * - `manual`: virtual time stands still until `advance` (tests).
 *
 * Timers fire in due order; a timer due at T sees `now() === T` while it runs, even when `advance`
 * jumps past it, so chains of timers (pending -> available after 2 minutes, then -> down) land on
 * the same instants they would in real time. `now()` never decreases: a timer that fires late
 * (scaled mode, or a due time already past) sees the current time, and the pin lasts only for the
 * callback's synchronous part.
 */
import type { Clock } from '#core/clock.ts';

export type ClockMode = 'scaled' | 'manual';

/** What an engine needs from the clock: the time, and timers on it. VirtualClock is the one implementation. */
export interface TimerClock extends Clock {
  /** Runs `fn` when virtual time reaches `due` (epoch ms); throws once the clock is stopped. */
  at(due: number, fn: () => unknown): Timer;
  /** Runs `fn` after `ms` of virtual time. */
  after(ms: number, fn: () => unknown): Timer;
  /** True once the clock was stopped (the cloud is shutting down): `at` would throw. */
  readonly stopped: boolean;
}

/**
 * Where virtual time stands, as another thread or process computes it: `virtual + (wallNow - wall) *
 * rate`, where `rate` is 0 in manual mode and the scale in scaled mode.
 */
export interface ClockAnchor {
  virtual: number;
  wall: number;
  rate: number;
}

export interface VirtualClockOptions {
  mode?: ClockMode;
  /** Virtual ms per wall ms in scaled mode. */
  scale?: number;
  /** Virtual epoch ms at start; defaults to the wall time at construction. */
  start?: number;
  /** Wall clock source (injectable for the clock's own tests). */
  wall?: () => number;
}

/** A scheduled callback; `cancel()` is idempotent. */
export interface Timer {
  readonly due: number;
  cancel(): void;
}

interface Entry {
  due: number;
  seq: number;
  fn: () => unknown;
  cancelled: boolean;
}

export const DEFAULT_SCALE = 60;

const isThenable = (v: unknown): v is PromiseLike<unknown> =>
  (typeof v === 'object' || typeof v === 'function') &&
  v !== null &&
  typeof (v as { then?: unknown }).then === 'function';

/** Lets pending promise continuations and immediates run (a few macrotask turns). */
export async function settle(rounds = 5): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise<void>((r) => setImmediate(r));
}

/** A failing timer must not stop the clock; the owner logs through its own channel. */
function timerFailed(err: unknown): void {
  process.emitWarning(`virtual clock timer failed: ${(err as Error)?.message ?? String(err)}`);
}

export class VirtualClock implements TimerClock {
  #mode: ClockMode;
  #scale: number;
  #wall: () => number;
  /** Virtual time at the last re-anchoring, and the wall time then. */
  #anchorVirtual: number;
  #anchorWall: number;
  #timers: Entry[] = [];
  #seq = 0;
  #wallTimer: NodeJS.Timeout | undefined;
  /** The running firing loop, and how far it goes. */
  #loop: Promise<void> | undefined;
  #loopTarget = Number.NEGATIVE_INFINITY;
  #stopped = false;
  #listeners = new Set<(anchor: ClockAnchor) => void>();
  #inFlight = new Map<number, string>();
  #workSeq = 0;
  #lastActive = Number.NEGATIVE_INFINITY;

  /** True once `stop()` ran: nothing more can be scheduled (the local cloud is shutting down). */
  get stopped(): boolean {
    return this.#stopped;
  }
  /** While a timer's synchronous part runs, `now()` is pinned to its instant. */
  #pinned: number | undefined;
  /** The latest time `now()` answered: it never answers less. */
  #highWater = Number.NEGATIVE_INFINITY;

  constructor(options: VirtualClockOptions = {}) {
    this.#mode = options.mode ?? 'scaled';
    this.#scale = options.scale ?? DEFAULT_SCALE;
    if (!(this.#scale > 0)) throw new RangeError('clock scale must be a positive number');
    this.#wall = options.wall ?? Date.now;
    this.#anchorWall = this.#wall();
    this.#anchorVirtual = options.start ?? this.#anchorWall;
  }

  get mode(): ClockMode {
    return this.#mode;
  }

  get scale(): number {
    return this.#scale;
  }

  /** Virtual milliseconds since the Unix epoch. */
  now(): number {
    const t = this.#pinned ?? this.#flowing();
    if (t > this.#highWater) this.#highWater = t;
    return this.#highWater;
  }

  /** Runs `fn` when virtual time reaches `due` (epoch ms). A due time in the past fires on the next tick. */
  at(due: number, fn: () => unknown): Timer {
    if (this.#stopped) throw new Error('the clock is stopped');
    const entry: Entry = { due, seq: this.#seq++, fn, cancelled: false };
    this.#timers.push(entry);
    this.#timers.sort((a, b) => a.due - b.due || a.seq - b.seq);
    this.#arm();
    return {
      due,
      cancel: () => {
        if (entry.cancelled) return;
        entry.cancelled = true;
        this.#timers = this.#timers.filter((t) => t !== entry);
        this.#arm();
      },
    };
  }

  /** Runs `fn` after `ms` of virtual time. */
  after(ms: number, fn: () => unknown): Timer {
    return this.at(this.now() + Math.max(0, ms), fn);
  }

  /** Resolves after `ms` of virtual time (never, if the clock is stopped first). */
  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      this.after(ms, resolve);
    });
  }

  /** Number of timers waiting (status, tests). */
  get pending(): number {
    return this.#timers.length;
  }

  /**
   * Jumps virtual time forward by `ms`, firing every timer due on the way in order, including
   * timers those timers schedule inside the window. Resolves once they have all fired. A callback's
   * promise is not awaited (it may itself wait on virtual time, which only this loop moves): its
   * continuations run between firings, and a rejection is reported like a synchronous throw.
   */
  async advance(ms: number): Promise<void> {
    if (!(ms >= 0)) throw new RangeError('a clock cannot go backwards');
    const target = this.now() + ms;
    // From a timer's synchronous part the running loop carries on to the new target (#fireUntil).
    if (this.#pinned === undefined) await settle();
    await this.#fireUntil(target);
    this.#anchorWall = this.#wall();
    this.#anchorVirtual = Math.max(target, this.#flowing());
    this.#changed();
    this.#arm();
    await settle();
  }

  /** The due time of the earliest waiting timer, if any. */
  get nextDue(): number | undefined {
    return this.#timers[0]?.due;
  }

  /** Due times of the waiting timers, relative to now (ms), earliest first. */
  get waits(): number[] {
    const now = this.now();
    return this.#timers.map((t) => t.due - now);
  }

  /** Jumps to the earliest waiting timer and fires it (and what falls due with it); false when none waits. */
  async fireNext(): Promise<boolean> {
    const due = this.nextDue;
    if (due === undefined) return false;
    await this.advance(Math.max(0, due - this.now()));
    return true;
  }

  /**
   * Fires timers one by one (manual mode) until `promise` settles. When no timer waits, the work
   * waits on real I/O (an HTTP response, a worker): that gets up to `ioWaitMs` of wall time for a
   * timer to appear or the promise to settle, then the run is stuck. `maxMs` bounds the virtual
   * time it may take.
   */
  async runUntil<T>(promise: Promise<T>, options: { maxMs?: number; ioWaitMs?: number } = {}): Promise<T> {
    const maxMs = options.maxMs ?? 400 * 86_400_000;
    const ioWaitMs = options.ioWaitMs ?? 10_000;
    let done = false;
    const p = promise.finally(() => {
      done = true;
    });
    const start = this.now();
    for (;;) {
      await settle();
      if (done) return p;
      if (this.#timers.length === 0) {
        const deadline = Date.now() + ioWaitMs;
        while (!done && this.#timers.length === 0 && Date.now() < deadline)
          await new Promise((r) => setTimeout(r, 2));
        if (done) return p;
        if (this.#timers.length === 0)
          throw new Error('the work waits on nothing the clock can fire (a callback?)');
      }
      const due = this.nextDue as number;
      if (due - start > maxMs) throw new Error('the work did not finish in the allowed virtual time');
      await this.advance(Math.max(0, due - this.now()));
    }
  }

  /**
   * Counts `work` (a request being served, a function running) as wall-time activity until it
   * settles, and returns it. Whoever drives a manual clock jumps it only while nothing is in flight
   * (test/support/clock-driver.ts): a jump in the middle of a request would fire timeouts that real
   * time would not have reached.
   */
  track<T>(work: Promise<T>, what = 'work'): Promise<T> {
    const id = this.#workSeq++;
    this.#inFlight.set(id, what);
    this.#lastActive = this.#wall();
    const done = () => {
      this.#inFlight.delete(id);
      this.#lastActive = this.#wall();
    };
    work.then(done, done);
    return work;
  }

  /** Work `track` counts that has not settled yet (and what each is), and the wall time it last started or ended. */
  get activity(): { inFlight: number; lastActive: number; what: string[] } {
    return {
      inFlight: this.#inFlight.size,
      lastActive: this.#lastActive,
      what: [...this.#inFlight.values()],
    };
  }

  /** Where virtual time stands now, for a thread or process that follows it (virtual-date.ts). */
  anchor(): ClockAnchor {
    return {
      virtual: this.#anchorVirtual,
      wall: this.#anchorWall,
      rate: this.#mode === 'manual' ? 0 : this.#scale,
    };
  }

  /** Tells `listener` the new anchor whenever virtual time moves other than by flowing; returns the unsubscribe. */
  onChange(listener: (anchor: ClockAnchor) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  #changed(): void {
    if (this.#listeners.size === 0) return;
    const anchor = this.anchor();
    for (const l of this.#listeners) l(anchor);
  }

  /** Changes the time scale (scaled mode) without a jump in virtual time. */
  setScale(scale: number): void {
    if (!(scale > 0)) throw new RangeError('clock scale must be a positive number');
    this.#reanchor();
    this.#scale = scale;
    this.#changed();
    this.#arm();
  }

  /** Switches between `scaled` and `manual` without a jump in virtual time. */
  setMode(mode: ClockMode): void {
    this.#reanchor();
    this.#mode = mode;
    this.#changed();
    this.#arm();
  }

  /** Cancels every timer and stops firing: the local cloud calls this on shutdown. */
  stop(): void {
    this.#stopped = true;
    this.#timers = [];
    if (this.#wallTimer) clearTimeout(this.#wallTimer);
    this.#wallTimer = undefined;
  }

  describe(): { mode: ClockMode; scale: number; now: string; pendingTimers: number } {
    return {
      mode: this.#mode,
      scale: this.#scale,
      now: new Date(this.now()).toISOString(),
      pendingTimers: this.#timers.length,
    };
  }

  #flowing(): number {
    if (this.#mode === 'manual') return this.#anchorVirtual;
    return this.#anchorVirtual + (this.#wall() - this.#anchorWall) * this.#scale;
  }

  #reanchor(): void {
    this.#anchorVirtual = this.#flowing();
    this.#anchorWall = this.#wall();
  }

  /**
   * Fires due timers up to `target`. One firing loop at a time: a second caller extends the running
   * loop's target and waits for it, except from inside a timer callback's synchronous part: there it
   * returns at once and the loop carries on to the new target.
   */
  async #fireUntil(target: number): Promise<void> {
    if (this.#loop) {
      this.#loopTarget = Math.max(this.#loopTarget, target);
      if (this.#pinned === undefined) await this.#loop;
      return;
    }
    this.#loopTarget = target;
    this.#loop = this.#runLoop();
    try {
      await this.#loop;
    } finally {
      this.#loop = undefined;
    }
  }

  async #runLoop(): Promise<void> {
    for (;;) {
      const next = this.#timers[0];
      if (!next || next.due > this.#loopTarget) break;
      this.#timers.shift();
      // Virtual time reaches the timer's instant and stays there while it runs.
      if (this.#flowing() < next.due) {
        this.#anchorVirtual = next.due;
        this.#anchorWall = this.#wall();
        this.#changed();
      }
      // A timer that fires late (scaled mode: the wall timeout ran behind, or a due time in the
      // past) runs at the current time, not at its due time: time never goes backwards.
      this.#pinned = Math.max(next.due, this.#flowing());
      try {
        // Not awaited: a callback that waits on virtual time (`await clock.sleep(500)`) needs this
        // loop to fire the timer it waits for. Its continuation runs between firings, unpinned.
        const result = next.fn();
        if (isThenable(result)) result.then(undefined, timerFailed);
      } catch (err) {
        timerFailed(err);
      } finally {
        this.#pinned = undefined;
      }
      // Let promise continuations (e.g. after a `sleep`) schedule their next timers.
      await settle();
    }
  }

  /** Keeps one wall-clock timeout armed for the earliest virtual timer (scaled mode only). */
  #arm(): void {
    if (this.#wallTimer) clearTimeout(this.#wallTimer);
    this.#wallTimer = undefined;
    if (this.#stopped || this.#mode === 'manual' || this.#loop) return;
    const next = this.#timers[0];
    if (!next) return;
    const wallDelay = Math.max(0, Math.ceil((next.due - this.#flowing()) / this.#scale));
    // Cap so very distant timers re-check after a scale change instead of overflowing setTimeout.
    this.#wallTimer = setTimeout(
      () => {
        this.#wallTimer = undefined;
        void this.#fireUntil(this.#flowing()).then(() => this.#arm());
      },
      Math.min(wallDelay, 2 ** 31 - 1),
    );
    this.#wallTimer.unref();
  }
}
