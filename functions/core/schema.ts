/**
 * JSON Schema validation of a schema compiled at run time, for the CLI, scripts and the local cloud
 * (config files, DR plans, workflow definitions), with the issues of functions/core/validation.ts.
 * What the functions validate is compiled ahead of time (scripts/gen-validators.ts), so no function
 * bundles this module's compiler. `AJV_OPTIONS` and `defineKeywords` are the generator's too: a schema
 * validates the same either way.
 */
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import type { Issue } from './errors.ts';
import { assertValid, issuesOf } from './validation.ts';

// ajv-formats is CommonJS with a default export; under nodenext its type is the module namespace.
const addFormats = addFormatsModule as unknown as (ajv: Ajv2020) => Ajv2020;

/** Every error (not the first), and `verbose` for `parentSchema`, where a schema's `x-reason` is read. */
export const AJV_OPTIONS = {
  allErrors: true,
  strict: true,
  strictRequired: false,
  allowUnionTypes: true,
  verbose: true,
} as const;

/** The formats and the annotation keywords crosslink's schemas use. */
export function defineKeywords(ajv: Ajv2020): Ajv2020 {
  addFormats(ajv);
  ajv.addKeyword({ keyword: 'x-reason', schemaType: 'string' });
  ajv.addKeyword({ keyword: 'x-producer', schemaType: 'string' });
  ajv.addKeyword({ keyword: 'x-consumers', schemaType: 'array' });
  return ajv;
}

const ajv = defineKeywords(new Ajv2020(AJV_OPTIONS));

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
  return issuesOf(compile(schema), value);
}

/** Throws ValidationError listing every problem, or returns the value typed as T. */
export function assertSchema<T>(schema: object, value: unknown, subject: string): T {
  return assertValid<T>(compile(schema), value, subject);
}
