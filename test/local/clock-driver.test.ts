import { describe, expect, it } from 'vitest';
import { VirtualClock } from '#local/clock.ts';
import { driveClock, kindOf } from '../support/clock-driver.ts';

const HOUR = 3_600_000;

describe('the clock driver of whole-system tests', () => {
  it('lets virtual time flow at the busy rate while work is in flight, and jumps to the next timer once nothing runs', async () => {
    const clock = new VirtualClock({ mode: 'manual', start: 0 });
    let fired = 0;
    clock.after(HOUR, () => fired++);
    let finish: () => void = () => {};
    clock.track(new Promise<void>((r) => (finish = r)), 'a function');
    const driver = driveClock(clock, { busyRate: 10, quietMs: 20, flowStepMs: 20 });
    const wallStart = Date.now();
    await new Promise((r) => setTimeout(r, 300));
    // Busy: about ten virtual ms per wall ms, the hour's timer far away.
    const flowed = clock.now();
    expect(flowed).toBeGreaterThan(0);
    expect(flowed).toBeLessThanOrEqual((Date.now() - wallStart) * 10);
    expect(fired).toBe(0);
    expect(driver.jumps).toBe(0);
    finish();
    await new Promise((r) => setTimeout(r, 300));
    // Idle: the hour passed at once, its timer fired at its instant.
    expect(fired).toBe(1);
    expect(clock.now()).toBeGreaterThanOrEqual(HOUR);
    expect(clock.now()).toBeLessThan(HOUR + 60_000);
    expect(driver.jumps).toBe(1);
    // Its accounting: the busy stretch flowed, the rest of the hour was one jump; the function was in flight.
    const t = driver.times();
    expect(t.jumps).toBe(1);
    expect(t.flowedVirtualMs).toBeGreaterThanOrEqual(flowed);
    expect(t.flowedVirtualMs + t.jumpedVirtualMs).toBe(clock.now());
    expect(t.jumpedVirtualMs).toBeGreaterThan(HOUR - 60_000);
    expect(t.busyWith['a function']).toBeGreaterThan(200);
    expect(t.busyWallMs).toBeGreaterThanOrEqual(t.busyWith['a function'] as number);
    expect(t.quietWallMs).toBeGreaterThan(0);
    await driver.stop();
    clock.stop();
  });

  it('names work by its kind, ids and numbers left out, so runs of one kind add up', () => {
    expect(kindOf('GET 127.0.0.1:4566/links/lk-01m976h238ate4ay0m82skrrgh?side=gcp')).toBe(
      'GET #.#.#.#:#/links/lk-*',
    );
    expect(kindOf('lambda crosslink-dev-watcher')).toBe('lambda crosslink-dev-watcher');
  });
});
