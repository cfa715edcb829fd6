/**
 * Enum encoding of Google's REST APIs: names by default; numbers when the request says
 * `$alt=json;enum-encoding=int` (what the gax REST fallback clients send). Modules accept both on
 * input and answer in the encoding asked for.
 */
import type { GcpRequestContext } from './service.ts';

export type EnumTable = Record<string, number>;

/** The enum value name of a name or number, or undefined. */
export function enumName(table: EnumTable, value: unknown): string | undefined {
  if (typeof value === 'string') return value in table ? value : value;
  if (typeof value === 'number')
    return Object.entries(table).find(([, n]) => n === value)?.[0] ?? String(value);
  return undefined;
}

export function wantsIntEnums(ctx: GcpRequestContext): boolean {
  return (ctx.query.get('$alt') ?? '').includes('enum-encoding=int');
}

/** Rewrites the named top-level (or `a.b`) fields of `obj` to numbers when the caller asked for them. */
export function encodeEnums<T extends Record<string, unknown>>(
  ctx: GcpRequestContext,
  obj: T,
  fields: Record<string, EnumTable>,
): T {
  if (!wantsIntEnums(ctx)) return obj;
  const out: Record<string, unknown> = structuredClone(obj);
  for (const [path, table] of Object.entries(fields)) {
    const parts = path.split('.');
    let holder: Record<string, unknown> | undefined = out;
    for (const p of parts.slice(0, -1)) holder = holder?.[p] as Record<string, unknown> | undefined;
    const last = parts[parts.length - 1] as string;
    const v = holder?.[last];
    if (holder && typeof v === 'string' && v in table) holder[last] = table[v];
  }
  return out as T;
}
