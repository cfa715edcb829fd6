import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { LambdaRuntime } from '#local/aws/lambda/runtime.ts';
import { VirtualClock } from '#local/clock.ts';
import { ProcessClockFeed } from '#local/virtual-date.ts';

const START = Date.parse('2031-05-01T00:00:00Z');
const HOUR = 3_600_000;
const FIXTURES = join(import.meta.dirname, '..', 'fixtures', 'clock');
const PRELOAD = pathToFileURL(join(import.meta.dirname, '..', '..', 'local', 'virtual-date-preload.ts')).href;

/** Advances `clock` ten virtual minutes at a time, a few wall ms apart, until `work` settles. */
async function advanceUntil<T>(clock: VirtualClock, work: Promise<T>): Promise<T> {
  let settled = false;
  void work.then(
    () => {
      settled = true;
    },
    () => {
      settled = true;
    },
  );
  while (!settled) {
    await clock.advance(10 * 60_000);
    await new Promise((r) => setTimeout(r, 20));
  }
  return work;
}

describe('a Lambda sandbox follows the virtual clock', () => {
  let runtime: LambdaRuntime | undefined;
  let clock: VirtualClock | undefined;
  afterEach(async () => {
    await runtime?.close();
    clock?.stop();
  });

  it('sees virtual time in Date.now(), new Date() and Date(), jumps with the clock, and keeps a wall deadline', async () => {
    clock = new VirtualClock({ mode: 'manual', start: START });
    runtime = new LambdaRuntime({ clock, accountId: '000000000000', region: 'us-east-1' });
    runtime.register({
      name: 'now',
      handler: { file: join(FIXTURES, 'now-handler.ts'), export: 'handler' },
      timeout: 30,
    });
    const first = (await runtime.invoke('now', {})).payload as Record<string, unknown>;
    expect(first).toMatchObject({
      now: START,
      constructed: new Date(START).toISOString(),
      isDate: true,
      given: 0,
    });
    expect(new Date(first.called as string).getTime()).toBe(START);
    // The deadline is wall time: a handler that just started has nearly its whole 30 s.
    expect(first.remainingMs).toBeGreaterThan(20_000);
    await clock.advance(5 * HOUR);
    const later = (await runtime.invoke('now', {})).payload as Record<string, unknown>;
    expect(later).toMatchObject({
      now: START + 5 * HOUR,
      constructed: new Date(START + 5 * HOUR).toISOString(),
    });
    // This process keeps the wall clock.
    expect(Math.abs(Date.now() - START)).toBeGreaterThan(HOUR);
  });

  it("lets the product's sleep pass on the virtual clock: an hour's wait ends when the clock has moved an hour", async () => {
    clock = new VirtualClock({ mode: 'manual', start: START });
    runtime = new LambdaRuntime({ clock, accountId: '000000000000', region: 'us-east-1' });
    runtime.register({
      name: 'wait',
      handler: { file: join(FIXTURES, 'wait-handler.ts'), export: 'handler' },
      timeout: 60,
    });
    const waited = runtime.invoke('wait', { ms: HOUR });
    const seen = (await advanceUntil(clock, waited)).payload as Record<string, number>;
    expect((seen.after as number) - (seen.before as number)).toBeGreaterThanOrEqual(HOUR);
    expect(seen.wallMs).toBeLessThan(60_000);
  });

  it('flows at the clock scale in scaled mode', async () => {
    clock = new VirtualClock({ mode: 'scaled', scale: 600, start: START });
    runtime = new LambdaRuntime({ clock, accountId: '000000000000', region: 'us-east-1' });
    runtime.register({
      name: 'now',
      handler: { file: join(FIXTURES, 'now-handler.ts'), export: 'handler' },
      timeout: 30,
    });
    const seen = (await runtime.invoke('now', {})).payload as { now: number };
    const virtualNow = clock.now();
    // Both read the same flowing time (within the invocation's wall duration times the scale).
    expect(seen.now).toBeGreaterThan(START);
    expect(seen.now).toBeLessThanOrEqual(virtualNow);
    expect(virtualNow - seen.now).toBeLessThan(600 * 2_000);
  });
});

describe('a function process follows the virtual clock through the preload', () => {
  let child: ChildProcess | undefined;
  let clock: VirtualClock | undefined;
  afterEach(() => {
    child?.kill('SIGKILL');
    clock?.stop();
  });

  /** Sends `question` to the child and resolves with its message whose `answer` is `n`. */
  const answerOf = <T>(c: ChildProcess, question: object, n: number): Promise<T> => {
    const answer = new Promise<T>((resolve) => {
      const on = (m: { answer?: number }) => {
        if (m.answer !== n) return;
        c.off('message', on);
        resolve(m as T);
      };
      c.on('message', on);
    });
    c.send(question);
    return answer;
  };
  const ask = (c: ChildProcess, n: number) => answerOf<{ now: number; iso: string }>(c, { ask: n }, n);

  it('sees the anchor the host sends, once acknowledged, at every jump', async () => {
    clock = new VirtualClock({ mode: 'manual', start: START });
    child = spawn(process.execPath, ['--import', PRELOAD, join(FIXTURES, 'now-child.ts')], {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const feed = new ProcessClockFeed(child, clock);
    await feed.synced();
    expect(await ask(child, 1)).toMatchObject({ now: START, iso: new Date(START).toISOString() });
    await clock.advance(26 * HOUR);
    await feed.synced();
    expect((await ask(child, 2)).now).toBe(START + 26 * HOUR);
    feed.close();
  });

  it("keeps the gRPC transport's deadlines on the wall clock, as the emulators that enforce them", async () => {
    clock = new VirtualClock({ mode: 'manual', start: START });
    child = spawn(process.execPath, ['--import', PRELOAD, join(FIXTURES, 'grpc-deadline-child.ts')], {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const feed = new ProcessClockFeed(child, clock);
    await feed.synced();
    type Seen = { now: number; wall: number; grpcLeft: number };
    const before = await answerOf<Seen>(child, { ask: 1 }, 1);
    // The function sees the virtual time, years from the wall's; grpc-js measures on the wall.
    expect(before.now).toBe(START);
    expect(Math.abs(before.wall - Date.now())).toBeLessThan(60_000);
    expect(before.grpcLeft).toBeGreaterThan(59_000);
    expect(before.grpcLeft).toBeLessThanOrEqual(60_000);
    // A day on the virtual clock uses none of a call's deadline.
    await clock.advance(24 * HOUR);
    await feed.synced();
    const after = await answerOf<Seen>(child, { ask: 2 }, 2);
    expect(after.now).toBe(START + 24 * HOUR);
    expect(after.grpcLeft).toBeGreaterThan(59_000);
    feed.close();
  });

  const waitIn = (c: ChildProcess, question: { wait?: number; abort?: number; n: number }) =>
    answerOf<Record<string, number | string>>(c, question, question.n);

  it("lets the product's sleep pass on the virtual clock, or on the wall clock when the virtual one stands still", async () => {
    clock = new VirtualClock({ mode: 'manual', start: START });
    child = spawn(process.execPath, ['--import', PRELOAD, join(FIXTURES, 'wait-child.ts')], {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const feed = new ProcessClockFeed(child, clock);
    await feed.synced();
    // An hour's wait ends once the clock has moved an hour, in far less wall time.
    const hour = await advanceUntil(clock, waitIn(child, { wait: HOUR, n: 1 }));
    expect((hour.after as number) - (hour.before as number)).toBeGreaterThanOrEqual(HOUR);
    expect(hour.wallMs).toBeLessThan(60_000);
    // With the clock standing still, a short wait ends on the wall clock: never longer than in wall time.
    const still = await waitIn(child, { wait: 300, n: 2 });
    expect(still.after).toBe(still.before);
    expect(still.wallMs).toBeGreaterThanOrEqual(290);
    // An aborted wait rejects with the signal's reason.
    expect((await waitIn(child, { abort: HOUR, n: 3 })).error).toBe('called off');
    feed.close();
  });

  it('does not keep a process alive: the channel is unreferenced', async () => {
    clock = new VirtualClock({ mode: 'manual', start: START });
    child = spawn(process.execPath, ['--import', PRELOAD, '-e', 'setTimeout(() => {}, 50)'], {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const feed = new ProcessClockFeed(child, clock);
    const [code] = await once(child, 'exit');
    expect(code).toBe(0);
    // Nothing waits on a process that is gone.
    await clock.advance(HOUR);
    await feed.synced();
  });
});
