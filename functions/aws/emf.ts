/**
 * CloudWatch metrics as Embedded Metric Format log lines
 * (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html),
 * written as Powertools Metrics writes them for what crosslink uses of it: a namespace, the
 * `service` dimension and an invocation's own dimensions, metrics with a unit (a name recorded twice in one invocation gives a list
 * of values), metadata, and the middy middleware that writes one line after each invocation, failed
 * or not. Powertools Metrics brings its commons, stores and validation, about 11 KB of each bundle
 * that records metrics, for one JSON line; test/unit/emf.test.ts checks that both write the same
 * line for the same calls.
 */
import type { MiddlewareObj } from '@middy/core';

/** The units crosslink's metrics use (EMF's unit names). */
export type MetricUnit = 'Count' | 'Seconds';

/** The most metrics one line defines, and values one metric holds, before the line is written. */
const MAX_METRICS = 100;
const MAX_VALUES = 100;

export class EmfMetrics {
  readonly #namespace: string;
  readonly #service: string;
  #metrics = new Map<string, { unit: MetricUnit; value: number | number[] }>();
  #metadata: Record<string, string> = {};
  #dimensions: Record<string, string> = {};

  constructor(options: { namespace: string; serviceName: string }) {
    this.#namespace = options.namespace;
    this.#service = options.serviceName;
  }

  /** Records a value; a metric already recorded this invocation keeps every value, in order. */
  addMetric(name: string, unit: MetricUnit, value: number): this {
    if (name.length < 1 || name.length > 255)
      throw new RangeError('The metric name should be between 1 and 255 characters');
    if (typeof value !== 'number') throw new RangeError(`${value} is not a valid number`);
    if (this.#metrics.size >= MAX_METRICS) this.publishStoredMetrics();
    const stored = this.#metrics.get(name);
    if (stored && stored.unit !== unit)
      throw new Error(
        `Metric "${name}" has already been added with unit "${stored.unit}", but we received unit "${unit}". Did you mean to use metric unit "${stored.unit}"?`,
      );
    if (!stored) this.#metrics.set(name, { unit, value });
    else {
      const values = [...(Array.isArray(stored.value) ? stored.value : [stored.value]), value];
      stored.value = values;
      if (values.length === MAX_VALUES) this.publishStoredMetrics();
    }
    return this;
  }

  /** A dimension of this invocation's metrics, beside `service` (forgotten once the line is written). */
  addDimension(name: string, value: string): void {
    if (name === 'service') throw new RangeError('The dimension "service" is the service name');
    this.#dimensions[name] = value;
  }

  /** A field of the line that is not a dimension (searchable in Logs Insights, not aggregated). */
  addMetadata(key: string, value: string): void {
    this.#metadata[key] = value;
  }

  /** The EMF object of what is recorded. */
  serializeMetrics(): Record<string, unknown> {
    const metrics = [...this.#metrics];
    return {
      _aws: {
        Timestamp: Date.now(),
        CloudWatchMetrics: [
          {
            Namespace: this.#namespace,
            Dimensions: [['service', ...Object.keys(this.#dimensions)]],
            Metrics: metrics.map(([name, { unit }]) => ({ Name: name, Unit: unit })),
          },
        ],
      },
      ...this.#metadata,
      service: this.#service,
      ...this.#dimensions,
      ...Object.fromEntries(metrics.map(([name, { value }]) => [name, value])),
    };
  }

  /**
   * Writes the line on stdout when a metric is recorded (a warning on stderr when none is, as
   * Powertools warns), both unprefixed (Powertools writes through its own Console, not the one
   * the Lambda runtime prefixes with time and request id), then forgets the invocation's metrics and metadata. As Powertools,
   * POWERTOOLS_METRICS_DISABLED (else POWERTOOLS_DEV) true writes nothing.
   */
  publishStoredMetrics(): void {
    if (this.#metrics.size === 0)
      process.stderr.write(
        'No application metrics to publish. The cold-start metric may be published if enabled. If application metrics should never be empty, consider using `throwOnEmptyMetrics`\n',
      );
    else if (!disabled()) process.stdout.write(`${JSON.stringify(this.serializeMetrics())}\n`);
    this.#metrics = new Map();
    this.#metadata = {};
    this.#dimensions = {};
  }
}

function disabled(env: NodeJS.ProcessEnv = process.env): boolean {
  const flag = env.POWERTOOLS_METRICS_DISABLED ?? env.POWERTOOLS_DEV;
  return ['1', 'y', 'yes', 't', 'true', 'on'].includes((flag ?? '').trim().toLowerCase());
}

/** The middy middleware that writes the invocation's metrics after it, whether it failed or not. */
export function logMetrics(metrics: EmfMetrics): MiddlewareObj {
  const publish = () => metrics.publishStoredMetrics();
  return { after: publish, onError: publish };
}
