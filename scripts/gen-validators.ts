#!/usr/bin/env node
/**
 * Compiles the JSON Schemas the functions validate against into standalone validator modules (Ajv's
 * standalone code, https://ajv.js.org/standalone.html), so that a function carries the validation
 * code of its schemas and Ajv's small runtime helpers, not a schema compiler:
 *
 * - functions/core/validators.gen.ts: the policy, the link request, the event envelope, each
 *   event's data (the catalog) and a step's input;
 * - functions/aws/validators.gen.ts: the shapes of the AWS events the Lambda handlers receive.
 *
 * The modules are checked in (their code is what every test and every function runs) and
 * test/unit/validators-gen.test.ts fails when one differs from what this script makes of the
 * schemas today. `npm run gen:validators` writes them; `--check` only compares.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { relative, resolve } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import standaloneModule from 'ajv/dist/standalone/index.js';
import requestSchema from '../config/link-request.schema.json' with { type: 'json' };
import policySchema from '../config/policy.schema.json' with { type: 'json' };
import {
  EVENTBRIDGE_EVENT_SCHEMA,
  HTTP_API_EVENT_SCHEMA,
  OBJECT_SCHEMA,
  SELF_TEST_SCHEMA,
  SQS_EVENT_SCHEMA,
  START_REQUEST_SCHEMA,
} from '../functions/aws/input-schemas.ts';
import {
  ENVELOPE_SCHEMA,
  EVENT_DATA_SCHEMAS,
  REFERENCED_SCHEMAS,
} from '../functions/core/events/documents.ts';
import { STEP_INPUT_SCHEMA } from '../functions/core/link/step-input-schema.ts';
import { AJV_OPTIONS, defineKeywords } from '../functions/core/schema.ts';

const root = resolve(import.meta.dirname, '..');
const standaloneCode = standaloneModule as unknown as (ajv: Ajv2020, refs: Record<string, string>) => string;

interface ValidatorSet {
  /** The module written, relative to the repository. */
  file: string;
  /** Export name -> schema. */
  schemas: Record<string, object>;
  /** Schemas the set's schemas `$ref` by `$id`. */
  referenced?: { $id: string }[];
}

export const SETS: ValidatorSet[] = [
  {
    file: 'functions/core/validators.gen.ts',
    schemas: {
      policy: policySchema,
      linkRequest: requestSchema,
      envelope: ENVELOPE_SCHEMA,
      stepInput: STEP_INPUT_SCHEMA,
      ...EVENT_DATA_SCHEMAS,
    },
    referenced: REFERENCED_SCHEMAS,
  },
  {
    file: 'functions/aws/validators.gen.ts',
    schemas: {
      eventBridgeEvent: EVENTBRIDGE_EVENT_SCHEMA,
      httpApiEvent: HTTP_API_EVENT_SCHEMA,
      sqsEvent: SQS_EVENT_SCHEMA,
      selfTest: SELF_TEST_SCHEMA,
      startRequest: START_REQUEST_SCHEMA,
      object: OBJECT_SCHEMA,
    },
  },
];

/**
 * Ajv's standalone code loads its runtime helpers with require(); the modules are ES modules, run by
 * Node from source, by vitest and bundled by esbuild, so each becomes an import. A format comes from
 * functions/core/formats.ts (ajv-formats' module holds every format; one is used), and a format it
 * lacks fails the generation. A helper taken as `require(m).default` (a CommonJS module marked
 * __esModule) is a default import, which Node and esbuild give as `module.exports` and vitest as its
 * `default`, hence the fallback; any other use is a named export, which all three read alike.
 */
function toEsm(code: string, file: string): { imports: string[]; body: string } {
  const imports: string[] = [];
  const modules = new Map<string, string>();
  const local = (spec: string, kind: 'default' | 'named') => {
    const key = `${kind} ${spec}`;
    let name = modules.get(key);
    if (!name) {
      name = `runtime${modules.size}`;
      modules.set(key, name);
      const from = JSON.stringify(`${spec}.js`);
      imports.push(kind === 'default' ? `import ${name} from ${from};` : `import * as ${name} from ${from};`);
    }
    return name;
  };
  const formats = relative(resolve(root, file, '..'), resolve(root, 'functions/core/formats.ts'));
  const body = code
    .replace(/^"use strict";/, '')
    .replace(/require\("ajv-formats\/dist\/formats"\)\.fullFormats\[("[^"]+")\]/g, (_, format: string) => {
      if (format !== '"date-time"')
        throw new Error(`format ${format}: functions/core/formats.ts has only date-time, add it there`);
      if (!imports.some((i) => i.includes('formats.ts')))
        imports.push(`import { dateTime } from '${formats.startsWith('.') ? formats : `./${formats}`}';`);
      return 'dateTime';
    })
    .replace(/require\("([^"]+)"\)\.default/g, (_, spec: string) => {
      const name = local(spec, 'default');
      return `(${name}.default ?? ${name})`;
    })
    .replace(/require\("([^"]+)"\)/g, (_, spec: string) => local(spec, 'named'));
  if (body.includes('require(')) throw new Error('a require() the generation does not turn into an import');
  return { imports, body };
}

/** Where the literal (object, array or string) starting at `from` ends (the index after it). */
function literalEnd(code: string, from: number): number {
  let depth = 0;
  for (let i = from; i < code.length; i++) {
    const c = code[i];
    if (c === '"' || c === "'" || c === '`') {
      for (i++; code[i] !== c; i++) if (code[i] === '\\') i++;
      if (depth === 0) return i + 1;
    } else if (c === '{' || c === '[' || c === '(') depth++;
    else if (c === '}' || c === ']' || c === ')') {
      depth--;
      if (depth === 0) return i + 1;
    }
  }
  throw new Error(`unterminated literal at ${from}`);
}

/** The text of each top-level comma-separated part of `inner` (an object's fields, a call's arguments). */
function parts(inner: string): string[] {
  const out: string[] = [];
  let start = 0;
  for (let i = 0; i <= inner.length; i++) {
    const c = inner[i];
    if (c === '"' || c === "'" || c === '`' || c === '{' || c === '[' || c === '(')
      i = literalEnd(inner, i) - 1;
    else if (c === ',' || i === inner.length) {
      out.push(inner.slice(start, i));
      start = i + 1;
    }
  }
  return out;
}

/** The top-level `key:value` fields of an object literal's text (without its braces). */
function fields(inner: string): [string, string][] {
  return parts(inner).map((field) => {
    const colon = field.indexOf(':');
    return colon < 0 ? [field, field] : [field.slice(0, colon), field.slice(colon + 1)];
  });
}

/** The keywords whose reason functions/core/validation.ts words itself (no message, no x-reason). */
const WORDED = new Set([
  'required',
  'additionalProperties',
  'type',
  'enum',
  'const',
  'minItems',
  'maxItems',
  'minLength',
  'maxLength',
  'minimum',
  'maximum',
  'exclusiveMinimum',
  'exclusiveMaximum',
  'uniqueItems',
]);

/** Keywords whose message is never read: worded from their params, or skipped (anyOf, oneOf, if). */
const UNREAD_MESSAGE = new Set([...WORDED, 'pattern', 'format', 'anyOf', 'oneOf', 'if']);

/**
 * Ajv's verbose error objects carry the failing keyword's schema, its parent schema and the data;
 * functions/core/validation.ts reads only the path, keyword, params, the message of a keyword it does
 * not word itself, and the parent schema's `x-reason`. Each error object keeps those, the parent
 * schema reduced to its `x-reason` (read here, from the schema constants), so the schemas themselves
 * are no longer in the code.
 */
function compactErrors(code: string): string {
  const schemas: Record<string, unknown> = {};
  for (const m of code.matchAll(/const (schema\d+) = /g)) {
    const from = (m.index ?? 0) + m[0].length;
    schemas[m[1] as string] = JSON.parse(code.slice(from, literalEnd(code, from)));
  }
  const names = Object.keys(schemas);
  const read = (expr: string) =>
    new Function(...names, `return ${expr};`)(...names.map((n) => schemas[n])) as Record<string, unknown>;
  let out = '';
  let at = 0;
  for (let i = code.indexOf('{instancePath'); i >= 0; i = code.indexOf('{instancePath', at)) {
    const end = literalEnd(code, i);
    const all = fields(code.slice(i + 1, end - 1));
    // Only error objects: a validator's parameters and a sub-validator call's options start alike.
    if (!all.some(([key]) => key === 'keyword')) {
      out += code.slice(at, end);
      at = end;
      continue;
    }
    const kept: string[] = [];
    let keyword = '';
    let reason: unknown;
    for (const [key, value] of all) {
      if (key === 'keyword') keyword = JSON.parse(value) as string;
      if (key === 'parentSchema') reason = read(value)?.['x-reason'];
      if (['instancePath', 'keyword', 'params', 'message'].includes(key))
        kept.push(key === value ? key : `${key}:${value}`);
    }
    const fieldsKept = kept.filter((f) => !(UNREAD_MESSAGE.has(keyword) && f.startsWith('message:')));
    if (typeof reason === 'string' && !WORDED.has(keyword))
      fieldsKept.push(`parentSchema:{"x-reason":${JSON.stringify(reason)}}`);
    out += `${code.slice(at, i)}{${fieldsKept.join(',')}}`;
    at = end;
  }
  return pushedByHelper(inlineSchemaReads(out + code.slice(at), read));
}

/**
 * Each error Ajv records (`const errN = {instancePath, keyword, params, ...};` then the same five
 * statements that append it to `vErrors` and count it) as one call of `pushError`, defined in the
 * module: the same object appended to the same list, in about half the code (the error objects and
 * their appending were a third of the catalog's validators).
 */
function pushedByHelper(code: string): string {
  let out = '';
  let at = 0;
  const start = /const (err\d+) = \{instancePath/g;
  for (let m = start.exec(code); m; m = start.exec(code)) {
    const name = m[1] as string;
    const from = m.index + m[0].length - '{instancePath'.length;
    const end = literalEnd(code, from);
    const tail = `;if(vErrors === null){vErrors = [${name}];}else {vErrors.push(${name});}errors++;`;
    if (!code.startsWith(tail, end))
      throw new Error(`${name}: an error Ajv records other than by appending it`);
    const parts = Object.fromEntries(fields(code.slice(from + 1, end - 1)));
    const extra = Object.entries(parts)
      .filter(([key]) => !['instancePath', 'keyword', 'params'].includes(key))
      .map(([key, value]) => `${key}:${value}`);
    const args = [
      parts.instancePath,
      parts.keyword,
      parts.params,
      ...(extra.length ? [`{${extra.join(',')}}`] : []),
    ];
    out += `${code.slice(at, m.index)}vErrors = pushError(vErrors, ${args.join(', ')});errors++;`;
    at = end + tail.length;
    start.lastIndex = at;
  }
  return `${out}${code.slice(at)}
function pushError(vErrors, instancePath, keyword, params, extra) {
  const err = extra ? { instancePath, keyword, params, ...extra } : { instancePath, keyword, params };
  if (vErrors === null) return [err];
  vErrors.push(err);
  return vErrors;
}`;
}

/**
 * Where the code reads a value out of a schema constant (`schema47.enum`,
 * `schema145.properties.aws.type`), the value written in its place: the schemas are never changed,
 * so the read and the literal are the same value, and the schema constants (whole documents, their
 * descriptions included) are then no longer in the code that a bundle keeps.
 */
function inlineSchemaReads(code: string, read: (expr: string) => unknown): string {
  return code.replace(/\b(schema\d+(?:\.[A-Za-z_$][\w$]*|\[\d+\])+)(?![\w$(])/g, (_, expr: string) =>
    JSON.stringify(read(expr)),
  );
}

/**
 * Ajv's standalone code as statements a bundler can leave out when no function uses them, so a
 * function bundles only the validators it imports:
 * - each validator's `evaluated` record (Ajv 2020's tracking for unevaluatedProperties/Items) is
 *   attached by an assignment after the function (a side effect that keeps every validator); its
 *   only reader is the function itself, at its start, so the record is read there as a literal. It
 *   is never changed while a call runs unless it is dynamic, which none of these schemas needs
 *   (checked: a dynamic one fails the generation);
 * - the compiled patterns (`new RegExp`) are marked pure.
 */
function treeShakable(code: string): string {
  const records = new Map<string, string>();
  let out = code.replace(
    /(validate\d+)\.evaluated = (\{.*?"dynamicItems":(?:true|false)\});/g,
    (_, fn: string, record: string) => {
      const r = JSON.parse(record) as { dynamicProps?: boolean; dynamicItems?: boolean };
      if (r.dynamicProps || r.dynamicItems)
        throw new Error(`${fn}: a dynamic evaluated record cannot be inlined`);
      records.set(fn, record);
      return '';
    },
  );
  out = out.replace(/= (validate\d+)\.evaluated;/g, (_, fn: string) => {
    const record = records.get(fn);
    if (!record) throw new Error(`${fn}.evaluated is read but never set`);
    return `= ${record};`;
  });
  if (out.includes('.evaluated')) throw new Error('an evaluated record is read where it cannot be inlined');
  return out.replace(/= new RegExp\(/g, '= /* @__PURE__ */ new RegExp(');
}

/** The text of each top-level argument of a call whose argument list (without its parentheses) is `inner`. */
const args = (inner: string): string[] => parts(inner).map((a) => a.trim());

/**
 * Ajv's code in fewer characters, each rewrite giving the same values to the same code:
 * - a validator's `evaluated` record that nothing reads but its own two dead statements (the record
 *   is a literal that is never dynamic, checked by treeShakable) is left out with them;
 * - a validator's options keep the names its body reads (`instancePath`; the others Ajv passes to
 *   the validators it calls are for keywords these schemas do not use);
 * - an error whose params hold one value, with or without its parent schema's `x-reason`, is
 *   recorded by a helper per keyword (`pushRequired(vErrors, path, "linkId")`) that builds the same
 *   object: about a third of a validator's code was the keyword's name and its params' key;
 * - a string written more than once (a pattern, a reason, a property name) is one module constant,
 *   which a bundle keeps only where a validator it holds reads it.
 */
function compactCode(code: string): string {
  let out = code.replace(
    /const (evaluated\d+) = (\{[^;]*\});if\(\1\.dynamicProps\)\{\1\.props = undefined;\}if\(\1\.dynamicItems\)\{\1\.items = undefined;\}/g,
    (all, name: string, record: string) => {
      if (JSON.parse(record).dynamicProps || JSON.parse(record).dynamicItems) return all;
      return `/*${name}*/`;
    },
  );
  out = out.replace(/\/\*evaluated\d+\*\//g, '');
  if (/evaluated\d+/.test(out)) throw new Error('an evaluated record is read: it cannot be left out');
  // Each validator's options: only those its body reads.
  const OPTIONS = '{instancePath="", parentData, parentDataProperty, rootData=data, dynamicAnchors={}}={}';
  let rewritten = '';
  let at = 0;
  for (let i = out.indexOf(OPTIONS); i >= 0; i = out.indexOf(OPTIONS, at)) {
    const open = out.indexOf('{', i + OPTIONS.length);
    const body = out.slice(open, literalEnd(out, open));
    const read = ['instancePath', 'parentData', 'parentDataProperty', 'rootData', 'dynamicAnchors'].filter(
      (n) => new RegExp(`\\b${n}\\b`).test(body),
    );
    const kept = OPTIONS.slice(1, -4)
      .split(', ')
      .filter((o) => read.includes(o.split('=')[0] as string));
    rewritten += `${out.slice(at, i)}${kept.length ? `{${kept.join(', ')}}={}` : '_options'}`;
    at = i + OPTIONS.length;
  }
  out = rewritten + out.slice(at);
  // One helper per keyword whose params hold one value.
  const helpers = new Map<string, string>();
  rewritten = '';
  at = 0;
  for (let i = out.indexOf('pushError(vErrors, '); i >= 0; i = out.indexOf('pushError(vErrors, ', at)) {
    const open = i + 'pushError'.length;
    const end = literalEnd(out, open);
    const [list, path, keyword, params, extra, ...more] = args(out.slice(open + 1, end - 1));
    const param = /^\{(\w+): (.*)\}$/s.exec(params ?? '');
    const reason =
      extra === undefined ? undefined : /^\{parentSchema:\{"x-reason":("(?:[^"\\]|\\.)*")\}\}$/.exec(extra);
    const one = param && args(param[2] as string).length === 1 && more.length === 0;
    if (!one || !keyword?.startsWith('"') || (extra !== undefined && !reason)) {
      rewritten += out.slice(at, end);
      at = end;
      continue;
    }
    const kw = JSON.parse(keyword) as string;
    const key = param[1] as string;
    const name = `push${kw[0]?.toUpperCase()}${kw.slice(1)}_${key}`;
    helpers.set(
      name,
      `function ${name}(vErrors, instancePath, ${key}, reason) {\n  return pushError(vErrors, instancePath, ${keyword}, {${key}}, reason === undefined ? undefined : {parentSchema: {"x-reason": reason}});\n}`,
    );
    rewritten += `${out.slice(at, i)}${name}(${[list, path, param[2], ...(reason ? [reason[1]] : [])].join(', ')})`;
    at = end;
  }
  out = `${rewritten}${out.slice(at)}\n${[...helpers.values()].join('\n')}`;
  return internStrings(requiredRuns(out));
}

/**
 * A run of required-property checks of one object (`if(data.a === undefined){vErrors =
 * pushRequired_missingProperty(vErrors, instancePath, "a");errors++;}` then `b`...) as one call of
 * `pushMissing`, which checks the same properties in the same order and records the same errors.
 */
function requiredRuns(code: string): string {
  const CHECK =
    /if\((\w+)\.(\w+) === undefined\)\{vErrors = pushRequired_missingProperty\(vErrors, ([^;]+), ("\w+")\);errors\+\+;\}/g;
  const runs: { from: number; to: number; data: string; path: string; keys: string[] }[] = [];
  for (const m of code.matchAll(CHECK)) {
    const [all, data, key, path, name] = m as unknown as [string, string, string, string, string];
    if (JSON.parse(name) !== key) continue;
    const from = m.index ?? 0;
    const last = runs.at(-1);
    if (last && last.to === from && last.data === data && last.path === path) {
      last.to = from + all.length;
      last.keys.push(name);
    } else runs.push({ from, to: from + all.length, data, path, keys: [name] });
  }
  let out = '';
  let at = 0;
  for (const r of runs.filter((run) => run.keys.length > 1)) {
    out += `${code.slice(at, r.from)}[vErrors, errors] = pushMissing(vErrors, errors, ${r.path}, ${r.data}, [${r.keys.join(', ')}]);`;
    at = r.to;
  }
  if (at === 0) return code;
  return `${out}${code.slice(at)}
function pushMissing(vErrors, errors, instancePath, data, keys) {
  for (const key of keys)
    if (data[key] === undefined) {
      vErrors = pushRequired_missingProperty(vErrors, instancePath, key);
      errors++;
    }
  return [vErrors, errors];
}`;
}

/**
 * Each double-quoted string of `code` (outside comments, not an object key) written more than once
 * and longer than a short name, as one module constant (`const str3 = "...";`, declared before the
 * first validator).
 */
function internStrings(code: string): string {
  const counts = new Map<string, number>();
  const STRING = /\/\*[\s\S]*?\*\/|"(?:[^"\\\n]|\\.)*"/g;
  const candidate = (m: string, end: number) =>
    m.startsWith('"') && m.length > 6 && !/^\s*:/.test(code.slice(end, end + 8));
  for (const m of code.matchAll(STRING))
    if (candidate(m[0], (m.index ?? 0) + m[0].length)) counts.set(m[0], (counts.get(m[0]) ?? 0) + 1);
  const names = new Map<string, string>();
  for (const [s, n] of counts) if (n > 1) names.set(s, `str${names.size}`);
  const body = code.replace(STRING, (m, offset: number) =>
    candidate(m, offset + m.length) ? (names.get(m) ?? m) : m,
  );
  const consts = [...names].map(([s, name]) => `const ${name} = ${s};`).join('');
  const first = body.search(/^(export const|const|function) /m);
  return `${body.slice(0, first)}${consts}\n${body.slice(first)}`;
}

/** The module of one set, as this script writes it. */
export function generate(set: ValidatorSet): string {
  const ajv = defineKeywords(new Ajv2020({ ...AJV_OPTIONS, code: { source: true, esm: true } }));
  for (const s of set.referenced ?? []) ajv.addSchema(s);
  const refs: Record<string, string> = {};
  for (const [name, schema] of Object.entries(set.schemas)) {
    const id = (schema as { $id?: string }).$id;
    if (id && ajv.getSchema(id)) refs[name] = id;
    else {
      ajv.addSchema(schema, id ?? name);
      refs[name] = id ?? name;
    }
  }
  const esm = toEsm(treeShakable(compactErrors(standaloneCode(ajv, refs))), set.file);
  const { imports } = esm;
  const body = compactCode(esm.body);
  const validation = relative(resolve(root, set.file, '..'), resolve(root, 'functions/core/validation.ts'));
  const typed = body.replace(
    /export const (\w+) = (\w+);/g,
    (_, name: string, fn: string) => `export const ${name}: Validator = ${fn};`,
  );
  return [
    '// @ts-nocheck',
    `// Generated by scripts/gen-validators.ts (npm run gen:validators) from the JSON Schemas it names: do not edit.`,
    `import type { Validator } from '${validation.startsWith('.') ? validation : `./${validation}`}';`,
    ...imports,
    typed,
    '',
  ].join('\n');
}

if (import.meta.main) {
  const check = process.argv.includes('--check');
  let stale = 0;
  for (const set of SETS) {
    const file = resolve(root, set.file);
    const code = generate(set);
    let current = '';
    try {
      current = readFileSync(file, 'utf8');
    } catch {}
    if (current === code) continue;
    if (check) {
      stale++;
      console.error(`${set.file} is not what the schemas compile to: run npm run gen:validators`);
    } else {
      writeFileSync(file, code);
      console.log(`wrote ${set.file}`);
    }
  }
  process.exit(stale > 0 ? 1 : 0);
}
