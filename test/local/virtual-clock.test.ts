import { describe, expect, it } from 'vitest';
import { VirtualClock } from '#local/clock.ts';

describe('VirtualClock', () => {
  it('stands still in manual mode and fires timers in due order on advance, each at its own instant', async () => {
    // Prepare
    const clock = new VirtualClock({ mode: 'manual', start: 0 });
    const seen: [string, number][] = [];
    clock.after(120_000, () => seen.push(['b', clock.now()]));
    clock.after(60_000, () => {
      seen.push(['a', clock.now()]);
      // A timer scheduled by a timer inside the window fires in the same advance.
      clock.after(30_000, () => seen.push(['a+30s', clock.now()]));
    });
    // Act
    await clock.advance(150_000);
    // Assess
    expect(seen).toEqual([
      ['a', 60_000],
      ['a+30s', 90_000],
      ['b', 120_000],
    ]);
    expect(clock.now()).toBe(150_000);
    clock.stop();
  });

  it('resolves sleep() only when virtual time passes it', async () => {
    const clock = new VirtualClock({ mode: 'manual', start: 0 });
    let woke = false;
    const p = clock.sleep(5_000).then(() => {
      woke = true;
    });
    await clock.advance(4_999);
    expect(woke).toBe(false);
    await clock.advance(1);
    await p;
    expect(woke).toBe(true);
    clock.stop();
  });

  it('flows at scale x wall time in scaled mode and fires timers on the wall clock', async () => {
    let wall = 1_000;
    const clock = new VirtualClock({ mode: 'scaled', scale: 60, start: 0, wall: () => wall });
    wall += 1_000;
    expect(clock.now()).toBe(60_000);
    clock.setScale(1);
    wall += 1_000;
    expect(clock.now()).toBe(61_000);
    clock.stop();
  });

  it('fires a scaled timer after the scaled wall delay', async () => {
    const clock = new VirtualClock({ mode: 'scaled', scale: 600 });
    const t0 = Date.now();
    await clock.sleep(60_000); // one virtual minute = 100 wall ms
    const took = Date.now() - t0;
    expect(took).toBeGreaterThanOrEqual(90);
    expect(took).toBeLessThan(30_000); // only "it fires": an upper bound in wall time would flake on a shared machine
    clock.stop();
  });

  it('refuses to go backwards and cancels timers', async () => {
    const clock = new VirtualClock({ mode: 'manual', start: 0 });
    await expect(clock.advance(-1)).rejects.toThrow(RangeError);
    let fired = false;
    const t = clock.after(10, () => {
      fired = true;
    });
    t.cancel();
    await clock.advance(100);
    expect(fired).toBe(false);
    expect(clock.pending).toBe(0);
    clock.stop();
  });
});

describe('VirtualClock, concurrent advances', () => {
  it('a second advance during a firing loop waits until its own window has fired', async () => {
    const clock = new VirtualClock({ mode: 'manual', start: 0 });
    const fired: number[] = [];
    let release: () => void = () => {};
    clock.after(
      10,
      () =>
        new Promise<void>((r) => {
          release = r;
        }),
    );
    clock.after(50, () => fired.push(clock.now()));
    const first = clock.advance(20); // stops at the timer due at 10, which waits for release()
    await new Promise((r) => setImmediate(r));
    let secondDone = false;
    const second = (async () => {
      // Outside any timer: must not return before the timer due at 50 fired.
      await new Promise((r) => setImmediate(r));
      await clock.advance(0);
    })();
    const third = clock.advance(60).then(() => {
      secondDone = true;
    });
    release();
    await Promise.all([first, second, third]);
    expect(secondDone).toBe(true);
    expect(fired).toEqual([50]);
    clock.stop();
  });

  it('an advance from inside a timer extends the running loop instead of deadlocking', async () => {
    const clock = new VirtualClock({ mode: 'manual', start: 0 });
    const fired: string[] = [];
    clock.after(10, async () => {
      fired.push('a');
      await clock.advance(100);
    });
    clock.after(80, () => fired.push('b'));
    await clock.advance(20);
    expect(fired).toEqual(['a', 'b']);
    clock.stop();
  });
});

describe('VirtualClock, callbacks that wait on virtual time', () => {
  it('a timer callback that sleeps on the clock makes progress within the same advance', async () => {
    const clock = new VirtualClock({ mode: 'manual', start: 0 });
    const seen: [string, number][] = [];
    clock.at(1_000, async () => {
      seen.push(['start', clock.now()]);
      await clock.sleep(500);
      seen.push(['woke', clock.now()]);
    });
    clock.at(3_000, () => seen.push(['later', clock.now()]));
    const done = clock.advance(5_000).then(() => 'done');
    const timeout = new Promise((r) => setTimeout(() => r('deadlock'), 1_000));
    expect(await Promise.race([done, timeout])).toBe('done');
    expect(seen).toEqual([
      ['start', 1_000],
      ['woke', 1_500],
      ['later', 3_000],
    ]);
    expect(clock.now()).toBe(5_000);
    clock.stop();
  });

  it('a callback whose promise rejects is reported and does not stop the clock', async () => {
    const clock = new VirtualClock({ mode: 'manual', start: 0 });
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(w.message);
    process.on('warning', onWarning);
    try {
      let fired = false;
      clock.after(10, async () => {
        await clock.sleep(5);
        throw new Error('boom');
      });
      clock.after(50, () => {
        fired = true;
      });
      await clock.advance(100);
      await new Promise((r) => setImmediate(r));
      expect(fired).toBe(true);
      expect(warnings.some((m) => m.includes('boom'))).toBe(true);
    } finally {
      process.off('warning', onWarning);
      clock.stop();
    }
  });
});

describe('VirtualClock, time never goes backwards', () => {
  it('a timer that fires late in scaled mode sees the current time, not its past due time', async () => {
    let wall = 0;
    const clock = new VirtualClock({ mode: 'scaled', scale: 1, start: 0, wall: () => wall });
    const seen: number[] = [];
    clock.at(1_000, () => seen.push(clock.now()));
    wall = 5_000; // the wall timeout ran late: virtual time is already 5 s
    const before = clock.now();
    await clock.advance(0);
    expect(before).toBe(5_000);
    expect(seen).toEqual([5_000]);
    expect(clock.now()).toBeGreaterThanOrEqual(before);
    clock.stop();
  });

  it('a due time in the past fires at the current time in manual mode', async () => {
    const clock = new VirtualClock({ mode: 'manual', start: 10_000 });
    const seen: number[] = [];
    clock.at(1_000, () => seen.push(clock.now()));
    await clock.advance(0);
    expect(seen).toEqual([10_000]);
    clock.stop();
  });

  it('the pin does not outlast the synchronous part of a callback', async () => {
    let wall = 0;
    const clock = new VirtualClock({ mode: 'scaled', scale: 1, start: 0, wall: () => wall });
    let release: () => void = () => {};
    const gate = new Promise<void>((r) => {
      release = r;
    });
    let after = 0;
    clock.at(1_000, async () => {
      await gate;
      after = clock.now();
    });
    wall = 1_000;
    const adv = clock.advance(0);
    await new Promise((r) => setImmediate(r));
    wall = 3_000;
    expect(clock.now()).toBe(3_000);
    release();
    await adv;
    await new Promise((r) => setImmediate(r));
    expect(after).toBe(3_000);
    clock.stop();
  });
});

describe('VirtualClock, driving it to the next timer', () => {
  it('fireNext jumps to the earliest timer and fires it, and says false when none waits', async () => {
    const clock = new VirtualClock({ mode: 'manual', start: 0 });
    const seen: number[] = [];
    clock.after(90_000, () => seen.push(clock.now()));
    clock.after(30_000, () => seen.push(clock.now()));
    expect(clock.nextDue).toBe(30_000);
    expect(clock.waits).toEqual([30_000, 90_000]);
    expect(await clock.fireNext()).toBe(true);
    expect(seen).toEqual([30_000]);
    expect(clock.now()).toBe(30_000);
    expect(await clock.fireNext()).toBe(true);
    expect(await clock.fireNext()).toBe(false);
    expect(seen).toEqual([30_000, 90_000]);
    clock.stop();
  });

  it('runUntil fires timers one by one until the work is done, and refuses work that outlasts maxMs', async () => {
    const clock = new VirtualClock({ mode: 'manual', start: 0 });
    const work = async () => {
      await clock.sleep(60_000);
      await clock.sleep(3_600_000);
      return clock.now();
    };
    expect(await clock.runUntil(work())).toBe(3_660_000);
    await expect(clock.runUntil(work(), { maxMs: 60_000 })).rejects.toThrow(/allowed virtual time/);
    clock.stop();
  });

  it('runUntil says the work is stuck when nothing is due and nothing settles', async () => {
    const clock = new VirtualClock({ mode: 'manual', start: 0 });
    await expect(clock.runUntil(new Promise(() => {}), { ioWaitMs: 20 })).rejects.toThrow(/waits on nothing/);
    clock.stop();
  });
});

describe('VirtualClock, its anchor for followers', () => {
  it('tells listeners every jump, mode and scale change, and the anchor recomputes its time', async () => {
    let wall = 1_000;
    const clock = new VirtualClock({ mode: 'manual', start: 50_000, wall: () => wall });
    const seen: { virtual: number; wall: number; rate: number }[] = [];
    const off = clock.onChange((a) => seen.push(a));
    clock.after(10_000, () => {});
    await clock.advance(20_000);
    // The timer's instant, then the end of the jump.
    expect(seen.map((a) => a.virtual)).toEqual([60_000, 70_000]);
    expect(seen.at(-1)).toEqual({ virtual: 70_000, wall: 1_000, rate: 0 });
    clock.setMode('scaled');
    expect(seen.at(-1)).toEqual({ virtual: 70_000, wall: 1_000, rate: 60 });
    wall = 2_000;
    const a = clock.anchor();
    expect(a.virtual + (wall - a.wall) * a.rate).toBe(clock.now());
    clock.setScale(10);
    expect(seen.at(-1)).toEqual({ virtual: 130_000, wall: 2_000, rate: 10 });
    off();
    await clock.advance(1);
    expect(seen).toHaveLength(4);
    clock.stop();
  });
});
