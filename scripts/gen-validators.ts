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
 * Node from source, by vitest and bundled by esbuild, so each becomes an import. A helper taken as
 * `require(m).default` (a CommonJS module marked __esModule) is a default import, which Node and
 * esbuild give as `module.exports` and vitest as its `default`, hence the fallback; any other use
 * (`require(m).fullFormats`) is a named export, which all three read alike.
 */
function toEsm(code: string): { imports: string[]; body: string } {
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
  const body = code
    .replace(/^"use strict";/, '')
    .replace(/require\("([^"]+)"\)\.default/g, (_, spec: string) => {
      const name = local(spec, 'default');
      return `(${name}.default ?? ${name})`;
    })
    .replace(/require\("([^"]+)"\)/g, (_, spec: string) => local(spec, 'named'));
  if (body.includes('require(')) throw new Error('a require() the generation does not turn into an import');
  return { imports, body };
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
  const { imports, body } = toEsm(treeShakable(standaloneCode(ajv, refs)));
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
