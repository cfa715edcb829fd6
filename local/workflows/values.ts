/**
 * Workflows values and errors. Values are plain JSON-like data (null, boolean, number, string, list,
 * map) plus `Bytes` (what `text.encode`, `json.encode` and `base64.decode` return) and function
 * references (what `${http.default_retry_predicate}` evaluates to).
 *
 * Errors raised inside a workflow carry a Workflows error value: usually a map
 * `{message, tags, ...}` whose tags (`KeyError`, `TypeError`, `HttpError`, ...) drive `except` and
 * retry predicates exactly as in the cloud; a `raise` of a string carries the string.
 */

/** Binary data (Workflows type `bytes`). */
export class Bytes {
  readonly data: Uint8Array;
  constructor(data: Uint8Array) {
    this.data = data;
  }
}

/** A reference to a callable: a standard library function or a subworkflow. */
export class FunctionRef {
  readonly name: string;
  constructor(name: string) {
    this.name = name;
  }
}

export type Value =
  | null
  | boolean
  | number
  | string
  | Bytes
  | FunctionRef
  | Value[]
  | { [key: string]: Value };

export type MapValue = { [key: string]: Value };

export function isMap(v: unknown): v is MapValue {
  return (
    typeof v === 'object' &&
    v !== null &&
    !Array.isArray(v) &&
    !(v instanceof Bytes) &&
    !(v instanceof FunctionRef)
  );
}

/** The Workflows type name, as `get_type()` reports it. */
export function typeName(v: Value | undefined): string {
  if (v === null || v === undefined) return 'null';
  if (typeof v === 'boolean') return 'boolean';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'double';
  if (typeof v === 'string') return 'string';
  if (Array.isArray(v)) return 'list';
  if (v instanceof Bytes) return 'bytes';
  if (v instanceof FunctionRef) return 'function';
  return 'map';
}

/** An error raised inside a workflow: `value` is what `except: as: e` binds. */
export class WorkflowsError extends Error {
  readonly value: Value;
  constructor(value: Value) {
    super(errorMessage(value));
    this.name = 'WorkflowsError';
    this.value = value;
  }

  get tags(): string[] {
    const v = this.value;
    if (isMap(v) && Array.isArray(v.tags)) return v.tags.filter((t): t is string => typeof t === 'string');
    return [];
  }
}

function errorMessage(v: Value): string {
  if (typeof v === 'string') return v;
  if (isMap(v) && typeof v.message === 'string') {
    const tags = Array.isArray(v.tags) ? v.tags.join(', ') : '';
    return tags ? `${tags}: ${v.message}` : v.message;
  }
  return safeStringify(v);
}

/** Raises a tagged error the way the Workflows runtime does: `{message, tags: [tag], ...extra}`. */
export function tagged(tag: string, message: string, extra: MapValue = {}): WorkflowsError {
  return new WorkflowsError({ message, tags: [tag], ...extra });
}

export const typeError = (message: string) => tagged('TypeError', message);
export const valueError = (message: string) => tagged('ValueError', message);
export const keyError = (message: string) => tagged('KeyError', message);
export const indexError = (message: string) => tagged('IndexError', message);

/** JSON text of a value; bytes become base64, function references their name. */
export function safeStringify(v: Value | undefined, indent?: number): string {
  return JSON.stringify(toJson(v ?? null), null, indent) ?? 'null';
}

/** A value as plain JSON (for results, logs and the Executions API). */
export function toJson(v: Value): unknown {
  if (v instanceof Bytes) return Buffer.from(v.data).toString('base64');
  if (v instanceof FunctionRef) return `<function ${v.name}>`;
  if (Array.isArray(v)) return v.map(toJson);
  if (isMap(v)) {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) out[k] = toJson(x);
    return out;
  }
  return v;
}

/** Plain JSON (an execution argument, a decoded body) as a value; rejects what JSON cannot hold. */
export function fromJson(v: unknown): Value {
  if (v === null || v === undefined) return null;
  if (typeof v === 'boolean' || typeof v === 'string') return v;
  if (typeof v === 'number') return v;
  if (Array.isArray(v)) return v.map(fromJson);
  if (typeof v === 'object') {
    const out: MapValue = {};
    for (const [k, x] of Object.entries(v as Record<string, unknown>)) out[k] = fromJson(x);
    return out;
  }
  throw typeError(`cannot use a ${typeof v} as a workflow value`);
}

/** Deep equality with Workflows rules: 1 == 1.0, maps by keys, lists by position. */
export function equal(a: Value, b: Value): boolean {
  if (a === b) return true;
  if (a === null || b === null) return false;
  if (Array.isArray(a))
    return Array.isArray(b) && a.length === b.length && a.every((x, i) => equal(x, b[i] as Value));
  if (a instanceof Bytes) return b instanceof Bytes && Buffer.from(a.data).equals(Buffer.from(b.data));
  if (a instanceof FunctionRef) return b instanceof FunctionRef && a.name === b.name;
  if (isMap(a)) {
    if (!isMap(b)) return false;
    const ka = Object.keys(a);
    if (ka.length !== Object.keys(b).length) return false;
    return ka.every((k) => Object.hasOwn(b, k) && equal(a[k] as Value, b[k] as Value));
  }
  return false;
}

/** Approximate memory a value takes, in bytes, for the 512 KB variable limit. */
export function sizeOf(v: Value | undefined): number {
  if (v === null || v === undefined) return 4;
  if (typeof v === 'boolean') return 4;
  if (typeof v === 'number') return 8;
  if (typeof v === 'string') return Buffer.byteLength(v) + 2;
  if (v instanceof Bytes) return v.data.byteLength;
  if (v instanceof FunctionRef) return v.name.length;
  if (Array.isArray(v)) {
    let n = 2;
    for (const x of v) n += sizeOf(x) + 1;
    return n;
  }
  let n = 2;
  for (const [k, x] of Object.entries(v)) n += Buffer.byteLength(k) + 3 + sizeOf(x);
  return n;
}

/** A deep copy, so a list or map held by two variables does not alias (Workflows has value semantics). */
export function clone(v: Value): Value {
  if (Array.isArray(v)) return v.map(clone);
  if (isMap(v)) {
    const out: MapValue = {};
    for (const [k, x] of Object.entries(v)) out[k] = clone(x);
    return out;
  }
  return v;
}

/** A literal from the definition (YAML data) as a value. */
export function toValue(v: unknown): Value {
  if (v === undefined) return null;
  if (v === null || typeof v === 'boolean' || typeof v === 'number' || typeof v === 'string') return v;
  if (Array.isArray(v)) return v.map(toValue);
  if (typeof v === 'object') {
    const out: MapValue = {};
    for (const [k, x] of Object.entries(v)) out[k] = toValue(x);
    return out;
  }
  return String(v);
}
