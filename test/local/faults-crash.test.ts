import { afterEach, describe, expect, it } from 'vitest';
import { LambdaRuntime } from '#local/aws/lambda/runtime.ts';
import { VirtualClock } from '#local/clock.ts';
import { FaultRegistry } from '#local/faults.ts';
import { seededRandom } from '#local/random.ts';

const START = Date.parse('2026-06-01T00:00:00Z');

describe('crash faults: the function did its work, then died before it answered', () => {
  let runtime: LambdaRuntime | undefined;
  afterEach(async () => {
    await runtime?.close();
    runtime = undefined;
  });

  it('are refused with the field and the reason when the service or edge cannot crash', () => {
    // Prepare
    const registry = new FaultRegistry(seededRandom(1));

    // Act / Assess
    expect(() => registry.add({ service: 'interconnect', kind: 'crash' })).toThrow(
      'service must be lambda (invocations) or pubsub (push deliveries) for crash faults',
    );
    expect(() => registry.add({ service: 'lambda', edge: 'gcp', kind: 'crash' })).toThrow(
      'edge must be aws for lambda crashes',
    );
    expect(registry.add({ service: 'pubsub', kind: 'crash' }).edge).toBe('gcp');
  });

  it('fire for their function only, count, expire after `count`, and never fail an API call', () => {
    // Prepare
    const registry = new FaultRegistry(seededRandom(7));
    const crash = registry.add({ service: 'lambda', operation: 'peerEvents', kind: 'crash', count: 2 });

    // Act
    const other = registry.crashes('aws', 'lambda', 'watcher');
    const fired = [1, 2, 3].map(() => registry.crashes('aws', 'lambda', 'peerEvents'));
    const call = registry.decide('aws', 'lambda', 'Invoke');

    // Assess
    expect(other).toBeUndefined();
    expect(fired).toEqual([crash.id, crash.id, undefined]);
    expect(registry.list()).toEqual([]);
    expect(call).toEqual({ latencyMs: 0 });
  });

  it('fire by rate from the seeded random: the same seed crashes the same invocations', () => {
    // Prepare
    const draws = (seed: number) => {
      const registry = new FaultRegistry(seededRandom(seed));
      registry.add({ service: 'pubsub', operation: 'sub', kind: 'crash', rate: 0.3 });
      return Array.from({ length: 200 }, () => registry.crashes('gcp', 'pubsub', 'sub') !== undefined);
    };

    // Act
    const [a, b, c] = [draws(11), draws(11), draws(12)];

    // Assess
    expect(a).toEqual(b);
    expect(a).not.toEqual(c);
    const rate = a.filter(Boolean).length / a.length;
    expect(rate).toBeGreaterThan(0.2);
    expect(rate).toBeLessThan(0.4);
  });

  it('let a Lambda handler run to its end, then answer Runtime.ExitError; the retry of an event invocation runs it again', async () => {
    // Prepare
    const clock = new VirtualClock({ mode: 'manual', start: START });
    const faults = new FaultRegistry(seededRandom(3));
    runtime = new LambdaRuntime({ clock, accountId: '000000000000', region: 'us-east-1', faults });
    const effects: string[] = [];
    const handler = (name: string) => async (event: unknown) => {
      effects.push(`${name} ${(event as { n: number }).n}`);
      return { ok: true };
    };
    runtime.register({ name: 'consumer', handler: handler('consumer') });
    runtime.register({ name: 'later', handler: handler('later') });
    faults.add({ service: 'lambda', operation: 'consumer', kind: 'crash', count: 1 });
    faults.add({ service: 'lambda', operation: 'later', kind: 'crash', count: 1 });

    // Act
    const crashed = await runtime.invoke('consumer', { n: 1 });
    const next = await runtime.invoke('consumer', { n: 2 });
    runtime.invokeAsync('later', { n: 3 });
    for (let i = 0; i < 50 && effects.length < 4; i++) {
      await new Promise((r) => setTimeout(r, 10));
      await clock.advance(60_000);
    }

    // Assess
    expect(crashed.functionError).toBe('Unhandled');
    expect(crashed.payload).toMatchObject({
      errorType: 'Runtime.ExitError',
      errorMessage: expect.stringMatching(
        /^RequestId: \S+ Error: Runtime exited with error: signal: killed$/,
      ),
    });
    expect(next).toMatchObject({ payload: { ok: true } });
    expect(next.functionError).toBeUndefined();
    // Each crashed invocation did its work; the event invocation that crashed was retried, and ran again.
    expect(effects).toEqual(['consumer 1', 'consumer 2', 'later 3', 'later 3']);
    expect(runtime.invocations.map((i) => `${i.functionName} ${i.outcome}`)).toEqual([
      'consumer error',
      'consumer ok',
      'later error',
      'later ok',
    ]);
  });
});
