/**
 * Injectable faults, shared by every edge of the local cloud (the Google edge uses the same
 * registry with `edge: 'gcp'`). A fault targets a service and optionally one operation, fires by
 * rate (probability per call, drawn from the seeded random) and/or count (the next N matching
 * calls), and is one of:
 * - `throttle`: the service's throttling error (e.g. Interconnect `ThrottlingException` 429);
 * - `error`: the service's server error (e.g. `InterconnectServerException` 500), or `status`;
 * - `latency`: delay the response by `latencyMs` wall milliseconds;
 * - `stuck`: a resource (or every resource, `resource` omitted) never leaves `state`;
 * - `drop` / `duplicate` / `reorder`: delivery faults, asked with `delivery()`, never by `decide()`.
 *   A delivery is a Pub/Sub push (edge `gcp`, service `pubsub`, operation the subscription id or `*`)
 *   or an SQS record handed to Lambda by an event source mapping (edge `aws`, service `sqs`,
 *   operation the queue name or `*`). `drop` loses it, `duplicate` sends one more copy, `reorder`
 *   holds each copy for its own random delay in [0, `latencyMs`] (default 1500 ms) so that deliveries
 *   made together or close together arrive shuffled. Several matching faults compose: see `delivery()`.
 * - `crash`: a function crashes after its effect, asked with `crashes()`: the handler runs to its end
 *   (everything it wrote stays written), then its invocation fails as a process that died before it
 *   answered. Service `lambda` (edge `aws`, operation the function name or `*`): the invocation
 *   answers `Runtime.ExitError`, so whoever invoked it retries (an asynchronous invocation's retries,
 *   an event source mapping's redelivery, a state machine's Retry). Service `pubsub` (edge `gcp`,
 *   operation the push subscription or `*`): the push's 2xx is lost, so Pub/Sub redelivers it.
 */
import type { Random } from './random.ts';

export type FaultKind = 'throttle' | 'error' | 'latency' | 'stuck' | 'crash' | DeliveryFaultKind;

/** Faults of a delivery (a push, an SQS record to Lambda) rather than of an API call. */
export type DeliveryFaultKind = 'drop' | 'duplicate' | 'reorder';

export interface FaultSpec {
  edge?: 'aws' | 'gcp';
  /** Service name (`interconnect`, `ec2`, ...) or `*`. */
  service: string;
  /** Operation name or `*` (default). */
  operation?: string;
  kind: FaultKind;
  /** Probability in [0, 1] per matching call (default 1). */
  rate?: number;
  /** Fire on at most this many matching calls, then expire (default unlimited). */
  count?: number;
  /** For `latency`: the delay; for `reorder`: the longest hold (default REORDER_DEFAULT_MS). */
  latencyMs?: number;
  /** For `error`: HTTP status (default: the service's server error status). */
  status?: number;
  /** For `stuck`: the resource id (omit for every resource of the service) and the state it holds in. */
  resource?: string;
  state?: string;
}

export interface Fault extends FaultSpec {
  id: string;
  /** Times it fired. */
  fired: number;
}

export interface FaultDecision {
  latencyMs: number;
  fail?: { kind: 'throttle' | 'error'; status?: number; faultId: string };
}

/**
 * What happens to one delivery. `copies` is how many times it is sent (0 when dropped, 1 normally,
 * one more per `duplicate` fault that fired); `delaysMs[i]` is how long copy i is held before it is
 * sent (all 0 unless a `reorder` fault fired). `faultIds` are the faults that fired.
 */
export interface DeliveryPlan {
  drop: boolean;
  copies: number;
  delaysMs: number[];
  faultIds: string[];
}

/** The longest hold of a `reorder` fault without `latencyMs`. */
export const REORDER_DEFAULT_MS = 1_500;

/** Where each service's deliveries happen (a delivery fault's default edge). */
const DELIVERY_EDGE = new Map<string, 'aws' | 'gcp'>([
  ['pubsub', 'gcp'],
  ['sqs', 'aws'],
]);

const DELIVERY_KINDS: readonly FaultKind[] = ['drop', 'duplicate', 'reorder'];
const KINDS: readonly FaultKind[] = ['throttle', 'error', 'latency', 'stuck', 'crash', ...DELIVERY_KINDS];

/** Where a function can crash after its effect: Lambda invocations (AWS) and Pub/Sub pushes (Google). */
const CRASH_EDGE = new Map<string, 'aws' | 'gcp'>([
  ['lambda', 'aws'],
  ['pubsub', 'gcp'],
]);

export class FaultRegistry {
  #faults: Fault[] = [];
  #random: Random;
  #seq = 0;

  constructor(random: Random) {
    this.#random = random;
  }

  /** Adds a fault; throws RangeError naming the bad field. */
  add(spec: FaultSpec): Fault {
    if (!KINDS.includes(spec.kind)) throw new RangeError(`kind must be one of ${KINDS.join(', ')}`);
    if (typeof spec.service !== 'string' || spec.service.length === 0)
      throw new RangeError('service is required');
    if (spec.rate !== undefined && !(spec.rate >= 0 && spec.rate <= 1))
      throw new RangeError('rate must be in [0, 1]');
    if (spec.count !== undefined && !(Number.isInteger(spec.count) && spec.count > 0)) {
      throw new RangeError('count must be a positive integer');
    }
    if (spec.kind === 'latency' && !(typeof spec.latencyMs === 'number' && spec.latencyMs >= 0)) {
      throw new RangeError('latency faults need latencyMs >= 0');
    }
    if (spec.rate !== undefined && typeof spec.rate !== 'number')
      throw new RangeError('rate must be a number');
    if (spec.operation !== undefined && typeof spec.operation !== 'string')
      throw new RangeError('operation must be a string');
    if (
      spec.kind === 'reorder' &&
      spec.latencyMs !== undefined &&
      !(typeof spec.latencyMs === 'number' && spec.latencyMs >= 0)
    ) {
      throw new RangeError('latencyMs must be a number >= 0 (the longest hold of a reorder fault)');
    }
    if (spec.edge !== undefined && spec.edge !== 'aws' && spec.edge !== 'gcp')
      throw new RangeError('edge must be aws or gcp');
    let edge = spec.edge ?? 'aws';
    if (DELIVERY_KINDS.includes(spec.kind)) {
      // Deliveries exist in two places: Pub/Sub pushes (Google) and SQS -> Lambda (AWS).
      const home = DELIVERY_EDGE.get(spec.service);
      if (spec.service !== '*' && !home) {
        throw new RangeError(
          'service must be pubsub (push subscriptions), sqs (event source mappings) or * for delivery faults',
        );
      }
      if (home && spec.edge !== undefined && spec.edge !== home)
        throw new RangeError(`edge must be ${home} for ${spec.service} deliveries`);
      edge = spec.edge ?? home ?? 'aws';
    }
    if (spec.kind === 'crash') {
      const home = CRASH_EDGE.get(spec.service);
      if (!home)
        throw new RangeError(
          'service must be lambda (invocations) or pubsub (push deliveries) for crash faults',
        );
      if (spec.edge !== undefined && spec.edge !== home)
        throw new RangeError(`edge must be ${home} for ${spec.service} crashes`);
      edge = home;
    }
    if (spec.kind === 'stuck' && !spec.state) throw new RangeError('stuck faults need the state to hold');
    const fault: Fault = { ...spec, edge, id: `flt-${++this.#seq}`, fired: 0 };
    this.#faults.push(fault);
    return fault;
  }

  list(): Fault[] {
    return this.#faults.map((f) => ({ ...f }));
  }

  remove(id: string): boolean {
    const before = this.#faults.length;
    this.#faults = this.#faults.filter((f) => f.id !== id);
    return this.#faults.length < before;
  }

  clear(): void {
    this.#faults = [];
  }

  /** Called by an edge for every authenticated call, before the handler runs. */
  decide(edge: 'aws' | 'gcp', service: string, operation: string): FaultDecision {
    const decision: FaultDecision = { latencyMs: 0 };
    for (const f of this.#faults) {
      if (f.kind === 'stuck' || f.kind === 'crash' || DELIVERY_KINDS.includes(f.kind) || f.edge !== edge)
        continue;
      if (f.service !== '*' && f.service !== service) continue;
      if (f.operation && f.operation !== '*' && f.operation !== operation) continue;
      if (decision.fail && f.kind !== 'latency') continue;
      // Draw even at rate 1 so that adding a fault does not shift the random stream of others.
      const draw = this.#random.next();
      if (draw >= (f.rate ?? 1)) continue;
      f.fired++;
      if (f.kind === 'latency') decision.latencyMs += f.latencyMs ?? 0;
      else if (f.kind === 'throttle' || f.kind === 'error')
        decision.fail = { kind: f.kind, status: f.status, faultId: f.id };
      if (f.count !== undefined && f.fired >= f.count) this.remove(f.id);
    }
    return decision;
  }

  /**
   * Decides the fate of one delivery (a push, an SQS record). Every matching delivery fault draws
   * once (even at rate 1, so adding a fault does not shift the others' draws), in the order the faults
   * were added. A `drop` that fires wins: nothing is sent and only the drop counts as fired. Otherwise
   * each `duplicate` that fires adds a copy, and each `reorder` that fires adds to every copy a hold
   * drawn independently in [0, its latencyMs]. Replays with the seed.
   */
  delivery(edge: 'aws' | 'gcp', service: string, operation: string): DeliveryPlan {
    const fired: Fault[] = [];
    for (const f of this.#faults) {
      if (!DELIVERY_KINDS.includes(f.kind) || f.edge !== edge) continue;
      if (f.service !== '*' && f.service !== service) continue;
      if (f.operation && f.operation !== '*' && f.operation !== operation) continue;
      if (this.#random.next() < (f.rate ?? 1)) fired.push(f);
    }
    const drop = fired.find((f) => f.kind === 'drop');
    const counted = drop ? [drop] : fired;
    for (const f of counted) {
      f.fired++;
      if (f.count !== undefined && f.fired >= f.count) this.remove(f.id);
    }
    const faultIds = counted.map((f) => f.id);
    if (drop) return { drop: true, copies: 0, delaysMs: [], faultIds };
    const copies = 1 + fired.filter((f) => f.kind === 'duplicate').length;
    const delaysMs = Array.from({ length: copies }, () => 0);
    for (const f of fired) {
      if (f.kind !== 'reorder') continue;
      const max = f.latencyMs ?? REORDER_DEFAULT_MS;
      for (let i = 0; i < copies; i++)
        delaysMs[i] = (delaysMs[i] ?? 0) + Math.round(this.#random.next() * max);
    }
    return { drop: false, copies, delaysMs, faultIds };
  }

  /**
   * Whether the invocation or push that just ran (`operation`: the function or subscription) crashes
   * before it answers; returns the id of the `crash` fault that fired. Every matching fault draws once,
   * in the order they were added; the first that fires counts. Replays with the seed.
   */
  crashes(edge: 'aws' | 'gcp', service: string, operation: string): string | undefined {
    let fired: Fault | undefined;
    for (const f of this.#faults) {
      if (f.kind !== 'crash' || f.edge !== edge || f.service !== service) continue;
      if (f.operation && f.operation !== '*' && f.operation !== operation) continue;
      if (this.#random.next() < (f.rate ?? 1) && !fired) fired = f;
    }
    if (!fired) return undefined;
    fired.fired++;
    if (fired.count !== undefined && fired.fired >= fired.count) this.remove(fired.id);
    return fired.id;
  }

  /** True when a `stuck` fault holds `resource` of `service` in `state` (its timers must not move it). */
  isStuck(service: string, resource: string, state: string, edge: 'aws' | 'gcp' = 'aws'): boolean {
    return this.#faults.some(
      (f) =>
        f.kind === 'stuck' &&
        f.edge === edge &&
        (f.service === service || f.service === '*') &&
        (f.resource === undefined || f.resource === resource) &&
        f.state === state,
    );
  }
}
