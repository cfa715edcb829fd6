import { describe, expect, it } from 'vitest';
import { VirtualClock } from '#local/clock.ts';
import { driveClock } from '../support/clock-driver.ts';

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
    await driver.stop();
    clock.stop();
  });
});
