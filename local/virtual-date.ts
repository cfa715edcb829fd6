/**
 * The functions' clock: `Date.now()` and `new Date()` in a Lambda sandbox (a worker thread) or a
 * Cloud Function's process (a child process) follow the local cloud's virtual clock, so the
 * product's composition roots keep `systemClock` and still see the time the clouds see.
 *
 * How the time travels: the VirtualClock's anchor (`virtual`, `wall`, `rate`: virtual time is
 * `virtual + (wallNow - wall) * rate`, `rate` 0 in manual mode) changes only on a jump, a mode or a
 * scale change, so only those travel; between them each follower computes the flow itself.
 * - Worker threads share the anchor in a SharedArrayBuffer (`shareClock` writes it, `readShared`
 *   reads it), guarded by a sequence number: a read is always of one whole anchor, at once.
 * - Child processes get it over their IPC channel (`ProcessClockFeed` sends it, the preload
 *   `virtual-date-preload.ts` keeps the last one and acknowledges it); the host waits for the
 *   acknowledgement before it forwards a request (`synced`), so a function never serves a request
 *   with a time older than the one the caller saw.
 *
 * Waits: `scheduler.wait(ms)` of node:timers/promises, the product's way to let time pass (the poll
 * of a long-running operation, a retry's backoff: functions/core/clock.ts `sleep`), ends once `ms`
 * have passed on the virtual clock or on the wall clock, whichever comes first
 * (`installVirtualWait`). So a function that polls an operation every 10 s waits 10 virtual
 * seconds, a fraction of a wall second while the clock flows fast, and never longer than it would
 * in wall time when the clock stands still (a manual clock nobody advances).
 *
 * Limits: only `Date` and `scheduler.wait` move. Timers (`setTimeout`), `performance.now()` and
 * `process.hrtime` stay on wall time, so a handler's own timeouts, the SDKs' and the Lambda
 * deadline are wall time, as the handler's code really runs; a date constructed with arguments is
 * that date. Time never goes backwards for a follower.
 */
import { registerHooks } from 'node:module';
import { scheduler } from 'node:timers/promises';
import type { ClockAnchor, VirtualClock } from './clock.ts';

/** Int32 slot 0: the sequence (odd while written); Float64 slots 1..3: virtual, wall, rate. */
const SLOTS = 4;

/** A SharedArrayBuffer that follows `clock`'s anchor from now on (until `clock` stops). */
export function shareClock(clock: VirtualClock): SharedArrayBuffer {
  const buffer = new SharedArrayBuffer(SLOTS * 8);
  const seq = new Int32Array(buffer, 0, 1);
  const fields = new Float64Array(buffer, 8, 3);
  const write = (a: ClockAnchor) => {
    Atomics.add(seq, 0, 1);
    fields[0] = a.virtual;
    fields[1] = a.wall;
    fields[2] = a.rate;
    Atomics.add(seq, 0, 1);
  };
  write(clock.anchor());
  clock.onChange(write);
  return buffer;
}

/** Reads the anchor `shareClock` keeps in `buffer` (retrying while a write is under way). */
export function readShared(buffer: SharedArrayBuffer): () => ClockAnchor {
  const seq = new Int32Array(buffer, 0, 1);
  const fields = new Float64Array(buffer, 8, 3);
  return () => {
    for (;;) {
      const before = Atomics.load(seq, 0);
      if (before % 2 === 1) continue;
      const anchor = { virtual: fields[0] as number, wall: fields[1] as number, rate: fields[2] as number };
      if (Atomics.load(seq, 0) === before) return anchor;
    }
  };
}

/**
 * Replaces `globalThis.Date` so that `Date.now()`, `new Date()` and `Date()` answer the virtual time
 * `anchor()` describes (the wall time while it answers undefined). Returns the wall clock, which
 * the caller keeps for what must stay in real time.
 */
export function installVirtualDate(anchor: () => ClockAnchor | undefined): () => number {
  const WallDate = globalThis.Date;
  const wallNow = WallDate.now.bind(WallDate);
  let highWater = Number.NEGATIVE_INFINITY;
  const now = (): number => {
    const a = anchor();
    const wall = wallNow();
    const t = a ? Math.floor(a.virtual + (wall - a.wall) * a.rate) : wall;
    if (t > highWater) highWater = t;
    return highWater;
  };
  const VirtualDate = new Proxy(WallDate, {
    construct(target, args, newTarget) {
      return Reflect.construct(target, args.length === 0 ? [now()] : args, newTarget);
    },
    apply() {
      return new WallDate(now()).toString();
    },
    get(target, key, receiver) {
      if (key === 'now') return now;
      return Reflect.get(target, key, receiver);
    },
  });
  globalThis.Date = VirtualDate;
  return wallNow;
}

/** Wall ms between looks at the virtual time while a wait is pending. */
const WAIT_TICK_MS = 10;

/**
 * Makes `scheduler.wait(ms)` (node:timers/promises) end once `ms` have passed on the virtual clock
 * (`Date.now()`, as installVirtualDate leaves it) or on the wall clock, whichever comes first. Call
 * after installVirtualDate, before the function's code loads. The virtual time is looked at every
 * 10 wall ms while a wait is pending (a worker's anchor changes in shared memory, with no event).
 * A wait with an aborted `signal` rejects with the signal's reason, as Node's does.
 */
export function installVirtualWait(): void {
  interface Pending {
    due: number;
    done(): void;
  }
  const pending = new Set<Pending>();
  let ticker: ReturnType<typeof setInterval> | undefined;
  const look = () => {
    const now = Date.now();
    for (const w of pending) if (now >= w.due) w.done();
  };
  scheduler.wait = (delay: number, options?: { signal?: AbortSignal }) =>
    new Promise<void>((resolve, reject) => {
      const signal = options?.signal;
      if (signal?.aborted) return reject(signal.reason);
      const ms = Math.max(0, Number(delay) || 0);
      const end = (settle: () => void) => {
        if (!pending.delete(w)) return;
        clearTimeout(wall);
        signal?.removeEventListener('abort', onAbort);
        if (pending.size === 0 && ticker) {
          clearInterval(ticker);
          ticker = undefined;
        }
        settle();
      };
      const w: Pending = { due: Date.now() + ms, done: () => end(resolve) };
      const onAbort = () => end(() => reject(signal?.reason));
      const wall = setTimeout(w.done, ms);
      signal?.addEventListener('abort', onAbort, { once: true });
      pending.add(w);
      ticker ??= setInterval(look, WAIT_TICK_MS);
    });
}

/** What a host and its child say to each other about the clock over the IPC channel. */
export interface ClockMessage {
  crosslinkClock: { seq: number; anchor: ClockAnchor };
}
export interface ClockAck {
  crosslinkClockAck: number;
}

interface IpcChild {
  connected: boolean;
  send(message: unknown): boolean;
  on(event: 'message', listener: (message: unknown) => void): unknown;
  off(event: 'message', listener: (message: unknown) => void): unknown;
  once(event: 'exit', listener: () => void): unknown;
}

/** Feeds `clock`'s anchor to a child process started with an IPC channel and the preload. */
export class ProcessClockFeed {
  readonly #child: IpcChild;
  readonly #unsubscribe: () => void;
  readonly #onMessage = (m: unknown) => {
    const ack = (m as Partial<ClockAck> | null)?.crosslinkClockAck;
    if (typeof ack !== 'number') return;
    this.#acked = Math.max(this.#acked, ack);
    this.#waiters = this.#waiters.filter((w) => {
      if (w.seq > this.#acked) return true;
      w.resolve();
      return false;
    });
  };
  #sent = 0;
  #acked = 0;
  #gone = false;
  #waiters: { seq: number; resolve(): void }[] = [];

  constructor(child: IpcChild, clock: VirtualClock) {
    this.#child = child;
    child.on('message', this.#onMessage);
    this.#unsubscribe = clock.onChange((anchor) => this.#send(anchor));
    child.once('exit', () => this.close());
    this.#send(clock.anchor());
  }

  #send(anchor: ClockAnchor): void {
    if (this.#gone || !this.#child.connected) return;
    const message: ClockMessage = { crosslinkClock: { seq: ++this.#sent, anchor } };
    this.#child.send(message);
  }

  /** Resolves once the child holds the latest anchor sent (at once when it is gone). */
  synced(): Promise<void> {
    if (this.#gone || this.#acked >= this.#sent) return Promise.resolve();
    const seq = this.#sent;
    return new Promise((resolve) => this.#waiters.push({ seq, resolve }));
  }

  /** Stops feeding (the child exited or is being stopped); whoever waits on `synced` goes on. */
  close(): void {
    if (this.#gone) return;
    this.#gone = true;
    this.#unsubscribe();
    this.#child.off('message', this.#onMessage);
    for (const w of this.#waiters) w.resolve();
    this.#waiters = [];
  }
}

/** The gRPC transport's modules, whose deadlines must run on the wall clock (see below). */
const WALL_TIME_MODULES = /\/node_modules\/(?:@grpc\/grpc-js|google-gax)\/.*\.[cm]?js$/;
const WALL_DATE = Symbol.for('crosslink.wallDate');

/**
 * Gives the gRPC transport (`@grpc/grpc-js` and `google-gax`, which the Firestore and Pub/Sub
 * clients call the emulators through) the wall clock's `Date` while the rest of the process sees
 * the virtual one. A call's deadline is a transport matter, and the emulators that enforce it run
 * in wall time: google-gax sets a deadline of now plus the call's timeout, grpc-js sends what is
 * left of it as `grpc-timeout`, and the emulator cancels the call (`CANCELLED: Call cancelled`)
 * when that much wall time has passed. Measured on a virtual clock that flows many times faster
 * than the wall while work is in flight, a 60 s timeout would be over in a second of wall time,
 * so a call slowed by a loaded machine would be cancelled where no cloud would cancel it. Both
 * modules read the same wall `Date`, so a deadline is made and measured on one clock. Call with
 * the wall `Date`, before installVirtualDate replaces the global one.
 */
export function keepTransportOnWallTime(wallDate: DateConstructor): void {
  (globalThis as Record<symbol, unknown>)[WALL_DATE] = wallDate;
  const shadow = `const Date = globalThis[Symbol.for('crosslink.wallDate')];`;
  registerHooks({
    load(url, context, nextLoad) {
      const loaded = nextLoad(url, context);
      if (!WALL_TIME_MODULES.test(url) || loaded.source == null) return loaded;
      const source = String(loaded.source);
      // After a leading "use strict" directive, which must stay first to keep the module strict.
      const strict = /^(['"])use strict\1;?/.exec(source);
      const at = strict ? strict[0].length : 0;
      return { ...loaded, source: `${source.slice(0, at)}${shadow}${source.slice(at)}` };
    },
  });
}
