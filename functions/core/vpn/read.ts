/**
 * Reading untrusted JSON (CLI exports, state files) field by field: every problem is collected with the
 * path where it was found, and one ValidationError names them all.
 */
import { type Issue, ValidationError } from '../errors.ts';
import { type Cidr, tryParseCidr } from '../net/cidr.ts';

export type Json = Record<string, unknown>;

export class Reader {
  readonly issues: Issue[] = [];

  fail(path: string, reason: string): undefined {
    this.issues.push({ path, reason });
    return undefined;
  }

  object(v: unknown, path: string): Json | undefined {
    if (typeof v === 'object' && v !== null && !Array.isArray(v)) return v as Json;
    return this.fail(path, `expected an object, got ${describe(v)}`);
  }

  /** A list; `undefined` is an empty list when `optional`. */
  array(v: unknown, path: string, optional = false): unknown[] | undefined {
    if (Array.isArray(v)) return v;
    if (optional && v === undefined) return [];
    return this.fail(path, `expected a list, got ${describe(v)}`);
  }

  string(v: unknown, path: string): string | undefined {
    if (typeof v === 'string' && v.length > 0) return v;
    return this.fail(path, `expected a non-empty string, got ${describe(v)}`);
  }

  optionalString(v: unknown, path: string): string | undefined {
    return v === undefined ? undefined : this.string(v, path);
  }

  /** A number, or a numeric string (the AWS CLI prints some counts and ASNs as strings). */
  number(v: unknown, path: string): number | undefined {
    if (typeof v === 'number' && Number.isFinite(v)) return v;
    if (typeof v === 'string' && /^-?\d+(\.\d+)?$/.test(v)) return Number(v);
    return this.fail(path, `expected a number, got ${describe(v)}`);
  }

  boolean(v: unknown, path: string, fallback: boolean): boolean {
    if (v === undefined) return fallback;
    if (typeof v === 'boolean') return v;
    this.fail(path, `expected true or false, got ${describe(v)}`);
    return fallback;
  }

  /** Times already read: exports repeat the same few (hourly samples), and parsing is most of the cost. */
  readonly #times = new Map<string, number>();

  /** An ISO 8601 timestamp with a zone (or epoch milliseconds). */
  time(v: unknown, path: string): number | undefined {
    if (typeof v === 'number' && Number.isFinite(v)) return v;
    if (typeof v === 'string') {
      const known = this.#times.get(v);
      if (known !== undefined) return known;
      if (/^\d{4}-\d{2}-\d{2}T.*(Z|[+-]\d{2}:?\d{2})$/.test(v)) {
        const t = Date.parse(v);
        if (!Number.isNaN(t)) {
          this.#times.set(v, t);
          return t;
        }
      }
    }
    return this.fail(path, `expected an ISO 8601 time with a zone, got ${describe(v)}`);
  }

  cidr(v: unknown, path: string): Cidr | undefined {
    const c = tryParseCidr(v);
    return typeof c === 'string' ? this.fail(path, c) : c;
  }

  /** Throws one ValidationError listing every problem found so far. */
  done(subject: string): void {
    if (this.issues.length > 0) throw new ValidationError(this.issues, subject);
  }
}

function describe(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'string') return v.length > 40 ? 'a long string' : `"${v}"`;
  return typeof v === 'object' ? 'an object' : `${typeof v} ${String(v)}`;
}

/** Tags as the AWS CLI prints them (`[{Key, Value}]`) into a record. */
export function readAwsTags(r: Reader, v: unknown, path: string): Record<string, string> {
  const out: Record<string, string> = {};
  (r.array(v, path, true) ?? []).forEach((t, i) => {
    const o = r.object(t, `${path}[${i}]`);
    const key = o && r.string(o.Key, `${path}[${i}].Key`);
    if (key !== undefined) out[key] = typeof o?.Value === 'string' ? o.Value : '';
  });
  return out;
}

/** Google labels (`{key: value}`) into a record. */
export function readLabels(r: Reader, v: unknown, path: string): Record<string, string> {
  if (v === undefined) return {};
  const o = r.object(v, path);
  const out: Record<string, string> = {};
  for (const [k, val] of Object.entries(o ?? {})) {
    if (typeof val === 'string') out[k] = val;
    else r.fail(`${path}.${k}`, 'a label value is a string');
  }
  return out;
}

/** The last path segment of a Google resource URL or name. */
export function lastSegment(urlOrName: string): string {
  return urlOrName.slice(urlOrName.lastIndexOf('/') + 1);
}

/** `https://www.googleapis.com/compute/v1/projects/p/global/networks/n` -> `projects/p/global/networks/n`. */
export function gcpResourcePath(urlOrPath: string): string {
  const i = urlOrPath.indexOf('projects/');
  return i >= 0 ? urlOrPath.slice(i) : urlOrPath;
}
