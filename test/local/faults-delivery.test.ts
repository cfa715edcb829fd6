import { describe, expect, it } from 'vitest';
import { type DeliveryPlan, FaultRegistry, REORDER_DEFAULT_MS } from '#local/faults.ts';
import { seededRandom } from '#local/random.ts';

function plans(registry: FaultRegistry, n: number, operation = 'sub'): DeliveryPlan[] {
  return Array.from({ length: n }, () => registry.delivery('gcp', 'pubsub', operation));
}

describe('delivery faults', () => {
  it('leave a delivery alone when none matches: one copy, no hold', () => {
    // Prepare
    const registry = new FaultRegistry(seededRandom(1));
    registry.add({ edge: 'gcp', service: 'pubsub', operation: 'other', kind: 'duplicate' });
    registry.add({ edge: 'aws', service: '*', kind: 'drop' });

    // Act
    const plan = registry.delivery('gcp', 'pubsub', 'sub');

    // Assess
    expect(plan).toEqual({ drop: false, copies: 1, delaysMs: [0], faultIds: [] });
  });

  it('reorder holds each copy of a duplicated delivery independently, within latencyMs', () => {
    // Prepare
    const registry = new FaultRegistry(seededRandom(42));
    const dup = registry.add({ edge: 'gcp', service: 'pubsub', kind: 'duplicate' });
    const shuffle = registry.add({
      edge: 'gcp',
      service: 'pubsub',
      operation: 'sub',
      kind: 'reorder',
      latencyMs: 800,
    });

    // Act
    const out = plans(registry, 20);

    // Assess
    for (const p of out) {
      expect(p.drop).toBe(false);
      expect(p.copies).toBe(2);
      expect(p.delaysMs).toHaveLength(2);
      for (const d of p.delaysMs) expect(d).toBeGreaterThanOrEqual(0);
      for (const d of p.delaysMs) expect(d).toBeLessThanOrEqual(800);
      expect(p.faultIds).toEqual([dup.id, shuffle.id]);
    }
    // The holds really vary: between deliveries and between the two copies of one delivery.
    expect(new Set(out.map((p) => p.delaysMs[0])).size).toBeGreaterThan(10);
    expect(out.some((p) => p.delaysMs[0] !== p.delaysMs[1])).toBe(true);
    expect(registry.list().map((f) => f.fired)).toEqual([20, 20]);
  });

  it('replays the same decisions with the same seed, and others with another', () => {
    // Prepare
    const run = (seed: number) => {
      const registry = new FaultRegistry(seededRandom(seed));
      registry.add({ edge: 'gcp', service: 'pubsub', kind: 'duplicate', rate: 0.5 });
      registry.add({ edge: 'gcp', service: 'pubsub', kind: 'reorder' });
      return plans(registry, 30);
    };

    // Act
    const [a, b, c] = [run(9), run(9), run(10)];

    // Assess
    expect(a).toEqual(b);
    expect(a).not.toEqual(c);
    const copies = a.map((p) => p.copies);
    expect(copies).toContain(1);
    expect(copies).toContain(2);
    for (const p of a) for (const d of p.delaysMs) expect(d).toBeLessThanOrEqual(REORDER_DEFAULT_MS);
  });

  it('a firing drop wins: nothing is sent and only the drop counts', () => {
    // Prepare
    const registry = new FaultRegistry(seededRandom(3));
    const dup = registry.add({ edge: 'aws', service: 'sqs', kind: 'duplicate' });
    const drop = registry.add({ edge: 'aws', service: 'sqs', operation: 'q', kind: 'drop', count: 1 });

    // Act
    const first = registry.delivery('aws', 'sqs', 'q');
    const second = registry.delivery('aws', 'sqs', 'q');

    // Assess: the drop expired after one delivery; the duplicate fired only on the second.
    expect(first).toEqual({ drop: true, copies: 0, delaysMs: [], faultIds: [drop.id] });
    expect(second).toEqual({ drop: false, copies: 2, delaysMs: [0, 0], faultIds: [dup.id] });
    expect(registry.list()).toEqual([expect.objectContaining({ id: dup.id, fired: 1 })]);
  });

  it('never fires delivery faults on API calls, nor API faults on deliveries', () => {
    // Prepare
    const registry = new FaultRegistry(seededRandom(5));
    registry.add({ edge: 'aws', service: 'sqs', kind: 'reorder' });
    registry.add({ edge: 'aws', service: 'sqs', kind: 'throttle' });

    // Act
    const call = registry.decide('aws', 'sqs', 'SendMessage');
    const plan = registry.delivery('aws', 'sqs', 'q');

    // Assess
    expect(call.fail?.kind).toBe('throttle');
    expect(plan.copies).toBe(1);
    expect(plan.faultIds).toHaveLength(1);
    expect(registry.list().map((f) => [f.kind, f.fired])).toEqual([
      ['reorder', 1],
      ['throttle', 1],
    ]);
  });

  it('refuses a bad reorder or edge naming the field', () => {
    // Prepare
    const registry = new FaultRegistry(seededRandom(1));

    // Act + Assess
    expect(() => registry.add({ service: 'sqs', kind: 'reorder', latencyMs: -1 })).toThrow(/latencyMs/);
    expect(() => registry.add({ service: 'sqs', kind: 'reorder', edge: 'azure' as 'aws' })).toThrow(/edge/);
    expect(() => registry.add({ service: 'ec2', kind: 'duplicate' })).toThrow(/service must be pubsub/);
    expect(() => registry.add({ service: 'pubsub', kind: 'drop', edge: 'aws' })).toThrow(/edge must be gcp/);
    expect(() => registry.add({ service: 'sqs', kind: 'shuffle' as 'reorder' })).toThrow(
      /kind must be one of.*reorder/,
    );
    expect(registry.list()).toEqual([]);
    // A delivery fault on pubsub defaults to the Google edge, where pushes happen.
    expect(registry.add({ service: 'pubsub', kind: 'reorder' }).edge).toBe('gcp');
  });
});
