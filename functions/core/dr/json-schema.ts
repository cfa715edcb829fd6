import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import type { Issue } from '../errors.ts';

// ajv-formats is CommonJS: under Node's ESM interop the default import is the plugin itself.
const addFormats = addFormatsModule as unknown as typeof addFormatsModule.default;

const ajv = new Ajv2020({ allErrors: true, strict: true, strictRequired: false, allowUnionTypes: true });
addFormats(ajv);

/** Compiles a JSON Schema (draft 2020-12) once; the validator is reused for every input. */
export function compileSchema(schema: object): ValidateFunction {
  return ajv.compile(schema);
}

/** `/signals/0/name` -> `signals[0].name`: the path style of ValidationError issues. */
export function jsonPointerToPath(pointer: string): string {
  let path = '';
  for (const raw of pointer.split('/').slice(1)) {
    const part = raw.replaceAll('~1', '/').replaceAll('~0', '~');
    path += /^\d+$/.test(part) ? `[${part}]` : path ? `.${part}` : part;
  }
  return path;
}

/**
 * Turns ajv errors into issues, one per path and reason. `if/then` wrappers are dropped: the error
 * inside the `then` says what is wrong.
 */
export function schemaIssues(errors: readonly ErrorObject[] | null | undefined, prefix = ''): Issue[] {
  const seen = new Set<string>();
  const issues: Issue[] = [];
  for (const e of errors ?? []) {
    if (e.keyword === 'if') continue;
    let path = jsonPointerToPath(e.instancePath);
    let reason = e.message ?? 'is invalid';
    if (e.keyword === 'additionalProperties') {
      const extra = (e.params as { additionalProperty: string }).additionalProperty;
      path = path ? `${path}.${extra}` : extra;
      reason = 'is not a known field';
    } else if (e.keyword === 'required') {
      const missing = (e.params as { missingProperty: string }).missingProperty;
      path = path ? `${path}.${missing}` : missing;
      reason = 'is required';
    } else if (e.keyword === 'enum') {
      reason = `must be one of ${(e.params as { allowedValues: unknown[] }).allowedValues.map((v) => JSON.stringify(v)).join(', ')}`;
    } else if (e.keyword === 'const') {
      reason = `must be ${JSON.stringify((e.params as { allowedValue: unknown }).allowedValue)}`;
    }
    const full = prefix ? (path ? `${prefix}.${path}` : prefix) : path;
    const key = `${full}\u0000${reason}`;
    if (seen.has(key)) continue;
    seen.add(key);
    issues.push({ path: full, reason });
  }
  return issues;
}
