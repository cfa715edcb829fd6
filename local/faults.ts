/**
 * Injectable faults, shared by every edge of the local cloud (the Google edge of #4 uses the same
 * registry with `edge: 'gcp'`). A fault targets a service and optionally one operation, fires by
 * rate (probability per call, drawn from the seeded random) and/or count (the next N matching
 * calls), and is one of:
 * - `throttle`: the service's throttling error (e.g. Interconnect `ThrottlingException` 429);
 * - `error`: the service's server error (e.g. `InterconnectServerException` 500), or `status`;
 * - `latency`: delay the response by `latencyMs` wall milliseconds;
 * - `stuck`: a resource (or every resource, `resource` omitted) never leaves `state`;
 * - `drop` / `duplicate`: a delivery (a Pub/Sub push, service `pubsub`, operation the subscription
 *   id or `*`) is lost or sent twice: asked with `delivery()`, never by `decide()`.
 */
import type { Random } from './random.ts';

export type FaultKind = 'throttle' | 'error' | 'latency' | 'stuck' | 'drop' | 'duplicate';

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

const KINDS: readonly FaultKind[] = ['throttle', 'error', 'latency', 'stuck', 'drop', 'duplicate'];

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
    if (spec.kind === 'stuck' && !spec.state) throw new RangeError('stuck faults need the state to hold');
    const fault: Fault = { ...spec, edge: spec.edge ?? 'aws', id: `flt-${++this.#seq}`, fired: 0 };
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
      if (f.kind === 'stuck' || f.kind === 'drop' || f.kind === 'duplicate' || f.edge !== edge) continue;
      if (f.service !== '*' && f.service !== service) continue;
      if (f.operation && f.operation !== '*' && f.operation !== operation) continue;
      if (decision.fail && f.kind !== 'latency') continue;
      // Draw even at rate 1 so that adding a fault does not shift the random stream of others.
      const draw = this.#random.next();
      if (draw >= (f.rate ?? 1)) continue;
      f.fired++;
      if (f.kind === 'latency') decision.latencyMs += f.latencyMs ?? 0;
      else decision.fail = { kind: f.kind, status: f.status, faultId: f.id };
      if (f.count !== undefined && f.fired >= f.count) this.remove(f.id);
    }
    return decision;
  }

  /** For one delivery (e.g. a push): `drop`, `duplicate` or undefined, by the matching faults' rates and counts. */
  delivery(edge: 'aws' | 'gcp', service: string, operation: string): 'drop' | 'duplicate' | undefined {
    for (const f of this.#faults) {
      if ((f.kind !== 'drop' && f.kind !== 'duplicate') || f.edge !== edge) continue;
      if (f.service !== '*' && f.service !== service) continue;
      if (f.operation && f.operation !== '*' && f.operation !== operation) continue;
      const draw = this.#random.next();
      if (draw >= (f.rate ?? 1)) continue;
      f.fired++;
      if (f.count !== undefined && f.fired >= f.count) this.remove(f.id);
      return f.kind;
    }
    return undefined;
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
