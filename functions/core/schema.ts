/**
 * JSON Schema validation with errors a person can act on: every problem as `{path, reason}`, the
 * path dotted (`aws.routes[1]`), the reason in words. A schema may give a pattern's meaning in
 * `x-reason`, which replaces ajv's "must match pattern ..." text.
 */
import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import type { Issue } from './errors.ts';
import { ValidationError } from './errors.ts';

// ajv-formats is CommonJS with a default export; under nodenext its type is the module namespace.
const addFormats = addFormatsModule as unknown as (ajv: Ajv2020) => Ajv2020;

const ajv = new Ajv2020({
  allErrors: true,
  strict: true,
  strictRequired: false,
  allowUnionTypes: true,
  verbose: true,
});
addFormats(ajv);
ajv.addKeyword({ keyword: 'x-reason', schemaType: 'string' });
ajv.addKeyword({ keyword: 'x-producer', schemaType: 'string' });
ajv.addKeyword({ keyword: 'x-consumers', schemaType: 'array' });

const compiled = new WeakMap<object, ValidateFunction>();

/**
 * Makes a schema reachable from other schemas' `$ref` by its `$id` (e.g. the event catalog refers to
 * the link request schema). Idempotent: registering the same schema again changes nothing.
 */
export function registerSchema(schema: { $id: string }): void {
  if (!ajv.getSchema(schema.$id)) ajv.addSchema(schema);
}

export function compile(schema: object): ValidateFunction {
  let v = compiled.get(schema);
  if (!v) {
    v = ajv.compile(schema);
    compiled.set(schema, v);
  }
  return v;
}

/** Every problem of `value` against `schema`, or an empty list. */
export function schemaIssues(schema: object, value: unknown): Issue[] {
  const validate = compile(schema);
  if (validate(value)) return [];
  return toIssues(validate.errors ?? []);
}

/** Throws ValidationError listing every problem, or returns the value typed as T. */
export function assertSchema<T>(schema: object, value: unknown, subject: string): T {
  const issues = schemaIssues(schema, value);
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
