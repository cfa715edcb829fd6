/**
 * Validation with errors a person can act on, by validators compiled ahead of time (Ajv's
 * standalone code, scripts/gen-validators.ts): every problem as `{path, reason}`, the path dotted
 * (`aws.routes[1]`), the reason in words. A schema may give a pattern's meaning in `x-reason`, which
 * replaces Ajv's "must match pattern ..." text. Nothing here compiles a schema, so what runs in a
 * function carries no JSON Schema compiler (functions/core/schema.ts compiles at run time, for the
 * CLI and scripts).
 */
import type { ErrorObject } from 'ajv';
import type { Issue } from './errors.ts';
import { ValidationError } from './errors.ts';

/** A validator as Ajv compiles it: true, or false with its errors (Ajv's `verbose` shape) in `errors`. */
export interface Validator {
  (data: unknown): boolean;
  errors?: ErrorObject[] | null;
}

/** Every problem of `value` by `validate`, or an empty list. */
export function issuesOf(validate: Validator, value: unknown): Issue[] {
  if (validate(value)) return [];
  return toIssues(validate.errors ?? []);
}

/** Throws ValidationError listing every problem, or returns the value typed as T. */
export function assertValid<T>(validate: Validator, value: unknown, subject: string): T {
  const issues = issuesOf(validate, value);
  if (issues.length > 0) throw new ValidationError(issues, subject);
  return value as T;
}

function toPath(instancePath: string): string {
  return instancePath
    .split('/')
    .slice(1)
    .map((seg) => seg.replace(/~1/g, '/').replace(/~0/g, '~'))
    .reduce((acc, seg) => (/^\d+$/.test(seg) ? `${acc}[${seg}]` : acc ? `${acc}.${seg}` : seg), '');
}

function join(base: string, key: string): string {
  return base ? `${base}.${key}` : key;
}

function toIssues(errors: ErrorObject[]): Issue[] {
  const out: Issue[] = [];
  const seen = new Set<string>();
  for (const e of errors) {
    // anyOf/oneOf summaries repeat what their branches said; keep the branches.
    if (e.keyword === 'anyOf' || e.keyword === 'oneOf' || e.keyword === 'if') continue;
    let path = toPath(e.instancePath);
    let reason: string;
    const params = e.params as Record<string, unknown>;
    const custom = (e.parentSchema as Record<string, unknown> | undefined)?.['x-reason'];
    switch (e.keyword) {
      case 'required':
        path = join(path, String(params.missingProperty));
        reason = 'is required';
        break;
      case 'additionalProperties':
        path = join(path, String(params.additionalProperty));
        reason = 'is not a known field';
        break;
      case 'type':
        reason = `must be ${article(String(params.type))}`;
        break;
      case 'enum':
        reason = `must be one of ${(params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`;
        break;
      case 'const':
        reason = `must be ${JSON.stringify(params.allowedValue)}`;
        break;
      case 'pattern':
      case 'format':
        reason =
          typeof custom === 'string'
            ? custom
            : e.keyword === 'format'
              ? `must be a valid ${String(params.format)}`
              : `must match ${String(params.pattern)}`;
        break;
      case 'minItems':
        reason = `must have at least ${String(params.limit)} item${params.limit === 1 ? '' : 's'}`;
        break;
      case 'maxItems':
        reason = `must have at most ${String(params.limit)} items`;
        break;
      case 'minLength':
        reason =
          params.limit === 1 ? 'must not be empty' : `must be at least ${String(params.limit)} characters`;
        break;
      case 'maxLength':
        reason = `must be at most ${String(params.limit)} characters`;
        break;
      case 'minimum':
      case 'maximum':
      case 'exclusiveMinimum':
      case 'exclusiveMaximum':
        reason = `must be ${String(params.comparison)} ${String(params.limit)}`;
        break;
      case 'uniqueItems':
        reason = `must not repeat items (items ${String(params.j)} and ${String(params.i)} are the same)`;
        break;
      default:
        reason = typeof custom === 'string' ? custom : (e.message ?? 'is invalid');
    }
    const key = `${path}\u0000${reason}`;
    if (!seen.has(key)) {
      seen.add(key);
      out.push({ path, reason });
    }
  }
  return out;
}

function article(t: string): string {
  if (t.includes(',')) return t.split(',').map(article).join(' or ');
  return /^[aeiou]/.test(t) ? `an ${t}` : `a ${t}`;
}
