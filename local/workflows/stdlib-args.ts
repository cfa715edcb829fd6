/**
 * How the Workflows library functions read their arguments: each reader checks one argument's type
 * and refuses with the function and argument named, as the cloud's TypeError does; `toStr` is
 * Workflows' `string()` of a scalar. Shared by the library (stdlib.ts) and its HTTP functions
 * (stdlib-http.ts).
 */
import { Bytes, isMap, type MapValue, typeError, typeName, type Value, valueError } from './values.ts';

export function str(v: Value | undefined, fn: string, arg: string): string {
  if (typeof v !== 'string') throw typeError(`${fn}: ${arg} must be a string, got ${typeName(v ?? null)}`);
  return v;
}
export function num(v: Value | undefined, fn: string, arg: string): number {
  if (typeof v !== 'number') throw typeError(`${fn}: ${arg} must be a number, got ${typeName(v ?? null)}`);
  return v;
}
export function int(v: Value | undefined, fn: string, arg: string): number {
  const n = num(v, fn, arg);
  if (!Number.isInteger(n)) throw typeError(`${fn}: ${arg} must be an integer, got ${n}`);
  return n;
}
export function list(v: Value | undefined, fn: string, arg: string): Value[] {
  if (!Array.isArray(v)) throw typeError(`${fn}: ${arg} must be a list, got ${typeName(v ?? null)}`);
  return v;
}
export function map(v: Value | undefined, fn: string, arg: string): MapValue {
  if (!isMap(v ?? null)) throw typeError(`${fn}: ${arg} must be a map, got ${typeName(v ?? null)}`);
  return v as MapValue;
}
export function bytes(v: Value | undefined, fn: string, arg: string): Uint8Array {
  if (v instanceof Bytes) return v.data;
  throw typeError(`${fn}: ${arg} must be bytes (use text.encode), got ${typeName(v ?? null)}`);
}
export function regex(v: Value | undefined, fn: string): RegExp {
  const src = str(v, fn, 'regexp');
  try {
    return new RegExp(src, 'gu');
  } catch (e) {
    throw valueError(`${fn}: invalid regular expression ${JSON.stringify(src)}: ${(e as Error).message}`);
  }
}

/** Workflows `string()` of a scalar. */
export function toStr(v: Value): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'number') return String(v);
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (v === null) return 'null';
  throw typeError(`string: cannot convert ${typeName(v)} to a string (use json.encode_to_string)`);
}
