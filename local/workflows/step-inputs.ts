/**
 * What a step declares before it runs, resolved and checked: a for loop's items and a try step's
 * retry policy. Each takes the caller's resolver for \`\${...}\` expressions, so the rules for what
 * is accepted sit apart from the interpreter's control flow.
 */

import type { ForDef, RetryDef, Step } from './definition.ts';
import { MAX_STEPS } from './outcome.ts';
import {
  isMap,
  type MapValue,
  safeStringify,
  typeError,
  typeName,
  type Value,
  valueError,
} from './values.ts';

/** Resolves the \`\${...}\` inside a definition value in the step's scope. */
export type Resolve = (v: unknown) => Promise<Value>;

/** The items a for loop (or a parallel for) runs over: its \`range\` counted out, or its \`in\` list. */
export async function loopItems(step: Step, loop: ForDef, resolve: Resolve): Promise<Value[]> {
  if (loop.range !== undefined) {
    const r = await resolve(loop.range);
    if (!Array.isArray(r) || r.length !== 2 || typeof r[0] !== 'number' || typeof r[1] !== 'number')
      throw typeError(
        `for range in step "${step.name}" must be [start, end] numbers, got ${safeStringify(r)}`,
      );
    const out: Value[] = [];
    for (let x = r[0]; x <= r[1]; x++) {
      out.push(x);
      if (out.length > MAX_STEPS) throw valueError(`for range in step "${step.name}" is too large`);
    }
    return out;
  }
  const items = await resolve(loop.in);
  if (!Array.isArray(items))
    throw typeError(
      `for "in" in step "${step.name}" must be a list, got ${typeName(items)} (use keys() for a map)`,
    );
  return items;
}

/**
 * A try step's retry policy as values: the given policy map, or the step's own predicate,
 * max_retries and backoff; the API's defaults filled in (1s initial delay, 60s cap, x1.25).
 */
export async function retryPolicy(retry: RetryDef, resolve: Resolve) {
  let raw: Value;
  if (retry.policy !== undefined) raw = await resolve(retry.policy);
  else {
    raw = {
      predicate: await resolve(retry.predicate),
      max_retries: retry.maxRetries === undefined ? null : await resolve(retry.maxRetries),
      backoff: retry.backoff
        ? {
            initial_delay: await resolve(retry.backoff.initialDelay ?? null),
            max_delay: await resolve(retry.backoff.maxDelay ?? null),
            multiplier: await resolve(retry.backoff.multiplier ?? null),
          }
        : null,
    };
  }
  if (!isMap(raw)) throw typeError(`a retry policy must be a map, got ${typeName(raw)}`);
  const max = raw.max_retries ?? 0;
  if (typeof max !== 'number' || !Number.isInteger(max) || max < 0)
    throw valueError(`retry max_retries must be a non-negative integer, got ${safeStringify(max)}`);
  const b = isMap(raw.backoff ?? null) ? (raw.backoff as MapValue) : {};
  const n = (v: Value | undefined, d: number, what: string) => {
    if (v === undefined || v === null) return d;
    if (typeof v !== 'number' || v < 0)
      throw valueError(`retry backoff ${what} must be a non-negative number`);
    return v;
  };
  return {
    predicate: raw.predicate ?? null,
    maxRetries: max,
    initialDelay: n(b.initial_delay, 1, 'initial_delay'),
    maxDelay: n(b.max_delay, 60, 'max_delay'),
    multiplier: n(b.multiplier, 1.25, 'multiplier'),
  };
}
