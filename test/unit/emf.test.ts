/**
 * functions/aws/emf.ts writes the EMF line Powertools Metrics writes, for the calls crosslink makes:
 * the same object for the same metrics, units, repeated values, dimensions and metadata (the time aside), one
 * line on stdout after an invocation, a warning and no line when nothing was recorded, and nothing
 * when POWERTOOLS_METRICS_DISABLED says so.
 */
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import fc from 'fast-check';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { EmfMetrics, logMetrics } from '#aws/emf.ts';

const options = { namespace: 'crosslink', serviceName: 'crosslink-aws' };
type Call =
  | { kind: 'metric'; name: string; value: number }
  | { kind: 'meta'; key: string; value: string }
  | { kind: 'dimension'; name: string; value: string };

const call: fc.Arbitrary<Call> = fc.oneof(
  fc.record({
    kind: fc.constant('metric' as const),
    name: fc.constantFrom('ApprovalPendingSeconds', 'ApprovalEscalations', 'OrphanedHalves'),
    value: fc.integer({ min: 0, max: 10_000 }),
  }),
  fc.record({
    kind: fc.constant('meta' as const),
    key: fc.constantFrom('approvalStage', 'linkId'),
    value: fc.string({ maxLength: 8 }),
  }),
  fc.record({
    kind: fc.constant('dimension' as const),
    name: fc.constantFrom('origin', 'side'),
    value: fc.constantFrom('aws', 'gcp'),
  }),
);

/** The EMF object without its time, which each writer takes when it serializes. */
function timeless(emf: Record<string, unknown>): Record<string, unknown> {
  const { _aws, ...rest } = emf as { _aws: Record<string, unknown> } & Record<string, unknown>;
  const { Timestamp, ...aws } = _aws;
  expect(typeof Timestamp).toBe('number');
  return { _aws: aws, ...rest };
}

afterEach(() => {
  vi.restoreAllMocks();
  vi.unstubAllEnvs();
});

describe('EMF metrics', () => {
  it('serialize what Powertools Metrics serializes for the same calls', () => {
    fc.assert(
      fc.property(fc.array(call, { minLength: 1, maxLength: 12 }), (calls) => {
        const ours = new EmfMetrics(options);
        const theirs = new Metrics(options);
        for (const c of calls) {
          if (c.kind === 'metric') {
            const unit = c.name.endsWith('Seconds') ? 'Seconds' : 'Count';
            ours.addMetric(c.name, unit, c.value);
            theirs.addMetric(c.name, MetricUnit[unit], c.value);
          } else if (c.kind === 'meta') {
            ours.addMetadata(c.key, c.value);
            theirs.addMetadata(c.key, c.value);
          } else {
            ours.addDimension(c.name, c.value);
            theirs.addDimension(c.name, c.value);
          }
        }
        expect(JSON.stringify(timeless(ours.serializeMetrics()))).toBe(
          JSON.stringify(timeless(theirs.serializeMetrics() as unknown as Record<string, unknown>)),
        );
      }),
    );
  });

  it('refuse a metric recorded again with another unit, as Powertools does', () => {
    const ours = new EmfMetrics(options).addMetric('OrphanedHalves', 'Count', 1);
    const theirs = new Metrics(options);
    theirs.addMetric('OrphanedHalves', MetricUnit.Count, 1);
    let message = '';
    try {
      theirs.addMetric('OrphanedHalves', MetricUnit.Seconds, 1);
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).not.toBe('');
    expect(() => ours.addMetric('OrphanedHalves', 'Seconds', 1)).toThrow(message);
  });

  it('write one line after an invocation, failed or not, then start empty; only a warning when nothing was recorded', async () => {
    const out = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    const err = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    const m = new EmfMetrics(options);
    const middleware = logMetrics(m);
    m.addMetric('OrphanedHalves', 'Count', 2);
    await middleware.after?.({} as never);
    m.addMetric('ApprovalEscalations', 'Count', 1);
    await middleware.onError?.({} as never);
    await middleware.after?.({} as never);
    const lines = out.mock.calls.map(([line]) => JSON.parse(String(line)) as Record<string, unknown>);
    expect(lines.map((l) => Object.keys(l).filter((k) => k !== '_aws' && k !== 'service'))).toEqual([
      ['OrphanedHalves'],
      ['ApprovalEscalations'],
    ]);
    expect(err.mock.calls.map(([line]) => String(line))).toEqual([
      expect.stringMatching(/^No application metrics to publish\..*\n$/),
    ]);
  });

  it('write nothing when POWERTOOLS_METRICS_DISABLED is true', () => {
    vi.stubEnv('POWERTOOLS_METRICS_DISABLED', 'true');
    const out = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    new EmfMetrics(options).addMetric('OrphanedHalves', 'Count', 1).publishStoredMetrics();
    expect(out).not.toHaveBeenCalled();
  });
});
