#!/usr/bin/env node
/**
 * The dependency rule of the whole tree (docs/architecture.md, "The dependency rule"):
 * - functions/core stays cloud-neutral: no SDK, no Lambda types, nothing from the adapters, the
 *   local cloud, the deployment model or the scripts, and no transport's vocabulary in its code
 *   (EventBridge, SQS, Pub/Sub: the envelope's mappings and the relays are the adapters');
 * - the product (functions/) never imports local/, scripts/, bench/ or test/;
 * - deployment/ (the gcp.yml model, its grants, its function packages: shared by the deployer and
 *   the local cloud, which deploys the same way) imports only the core and itself;
 * - local/ never imports scripts/, bench/ or test/;
 * - scripts/ reaches local/ only through its public entry points, each used only by the commands
 *   that run the local cloud or its engines (`npm start`, the `sim` commands, the IAM reports): the
 *   CLI's product verbs reach the local cloud over its endpoints, as they reach the clouds;
 * - no import cycle anywhere.
 * Exits 1 with one line per violation.
 *
 * Hand-written rather than a dependency-graph tool: the tools that read TypeScript imports need the
 * TypeScript compiler API (which TypeScript 7 does not have), and what is checked here is one regular
 * expression over import statements and a graph search.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

const root = resolve(process.argv[2] ?? resolve(import.meta.dirname, '..'));
const IMPORT_RE =
  /(?:^|[\s;])(?:import|export)\s[^'"]*?from\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)|^\s*import\s+['"]([^'"]+)['"]/gm;
/** `import type ... from` / `export type ... from`: erased before the code runs. */
const TYPE_ONLY_RE = /^\s*(?:import|export)\s+type\s/;

const TREES = ['functions', 'deployment', 'local', 'scripts', 'bench', 'test'];

function walk(dir: string): string[] {
  let out: string[] = [];
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name.startsWith('.')) continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out = out.concat(walk(p));
    else if (/\.(ts|mts|cts|js|mjs|cjs)$/.test(name)) out.push(p);
  }
  return out;
}

interface Import {
  spec: string;
  typeOnly: boolean;
}

function importsOf(file: string): Import[] {
  const src = readFileSync(file, 'utf8');
  return [...src.matchAll(IMPORT_RE)].map((m) => ({
    spec: (m[1] ?? m[2] ?? m[3]) as string,
    typeOnly: TYPE_ONLY_RE.test(m[0]),
  }));
}

const ALIAS: Record<string, string> = {
  '#core/': 'functions/core/',
  '#aws/': 'functions/aws/',
  '#gcp/': 'functions/gcp/',
  '#local/': 'local/',
  '#scripts/': 'scripts/',
  '#deployment/': 'deployment/',
};

/** Resolves a specifier to a repo-relative path, or undefined for a package. */
function target(file: string, spec: string): string | undefined {
  for (const [a, dir] of Object.entries(ALIAS)) if (spec.startsWith(a)) return dir + spec.slice(a.length);
  if (spec.startsWith('.')) return relative(root, resolve(dirname(file), spec));
  return undefined;
}

const CORE_FORBIDDEN_PACKAGES = [
  /^@aws-sdk\//,
  /^@smithy\//,
  /^@google-cloud\//,
  /^google-auth-library/,
  /^aws-lambda$/,
  /^@types\/aws-lambda/,
  /^@middy\//,
  /^@aws-lambda-powertools\//,
  /^googleapis/,
  /^firebase/,
];

/**
 * A transport's name in the core's code (comments aside): its types and functions (`SqsRecord`,
 * `toEventBridgeEntry`, `fromPubSubPush`) belong to the adapter that speaks it.
 */
const CORE_TRANSPORT_WORD = /\b\w*(?:EventBridge|Eventbridge|Sqs|SQS|PubSub|Pubsub)\w*\b/g;

/** The code of a source file without its comments (a `//` inside a string ends the check of that line). */
function codeOf(src: string): string {
  return src.replace(/\/\*[\s\S]*?\*\//g, '').replace(/\/\/.*$/gm, '');
}

/** What each part of the tree must not import, by directory prefix. */
const FORBIDDEN: { from: string; not: string[]; why: string }[] = [
  {
    from: 'functions/core/',
    not: ['functions/aws/', 'functions/gcp/', 'local/', 'scripts/', 'deployment/', 'bench/', 'test/'],
    why: 'functions/core is cloud-neutral',
  },
  { from: 'functions/', not: ['local/', 'scripts/', 'bench/', 'test/'], why: 'product code' },
  {
    from: 'deployment/',
    not: ['functions/aws/', 'functions/gcp/', 'local/', 'scripts/', 'bench/', 'test/'],
    why: 'the deployment model imports only the core',
  },
  { from: 'local/', not: ['scripts/', 'bench/', 'test/'], why: 'the local cloud' },
  { from: 'scripts/', not: ['bench/', 'test/'], why: 'the scripts' },
];

/**
 * local/'s public entry points, and the scripts that may use each: the commands that run the local
 * cloud (`npm start`), its engines offline (`crosslink sim ...`) or read its IAM decisions (the
 * least-privilege reports). Any other script reaches the local cloud over its endpoints.
 */
const LOCAL_ENTRY_POINTS: Record<string, RegExp> = {
  'local/index.ts': /^scripts\/(start|iam-report|iam-report-gcp)\.ts$/,
  'local/processes.ts': /^scripts\/start\.ts$/,
  'local/estate.ts': /^scripts\/start\.ts$/,
  'local/aws/events/pattern.ts': /^scripts\/commands\/sim-aws\.ts$/,
  'local/aws/lambda/functions.ts': /^scripts\/commands\/sim-aws\.ts$/,
  'local/aws/sfn/definition.ts': /^scripts\/commands\/sim-aws\.ts$/,
  'local/aws/sfn/offline-run.ts': /^scripts\/commands\/sim-aws\.ts$/,
  'local/workflows/lint.ts': /^scripts\/commands\/sim-workflow\.ts$/,
  'local/workflows/runner.ts': /^scripts\/commands\/sim-workflow\.ts$/,
  'local/workflows/values.ts': /^scripts\/commands\/sim-workflow\.ts$/,
};

const problems: string[] = [];
const existing = (d: string) => {
  try {
    return statSync(join(root, d)).isDirectory();
  } catch {
    return false;
  }
};

const files = TREES.filter(existing).flatMap((d) => walk(join(root, d)));
/** Runtime import edges (type-only imports left out), by module path without extension. */
const graph = new Map<string, string[]>();
const key = (path: string) => path.replace(/\.(ts|mts|cts|js|mjs|cjs)$/, '');

for (const file of files) {
  const rel = relative(root, file);
  const edges: string[] = [];
  if (rel.startsWith('functions/core/')) {
    const words = [...new Set(codeOf(readFileSync(file, 'utf8')).match(CORE_TRANSPORT_WORD) ?? [])];
    if (words.length > 0)
      problems.push(
        `${rel}: names ${words.join(', ')}; functions/core speaks no transport (EventBridge, SQS, Pub/Sub): its mapping belongs in functions/aws or functions/gcp`,
      );
  }
  for (const { spec, typeOnly } of importsOf(file)) {
    const t = target(file, spec);
    if (t === undefined) {
      if (rel.startsWith('functions/core/') && CORE_FORBIDDEN_PACKAGES.some((re) => re.test(spec)))
        problems.push(`${rel}: imports ${spec}; functions/core must not import an SDK or Lambda types`);
      continue;
    }
    const rule = FORBIDDEN.find((r) => rel.startsWith(r.from));
    const hit = rule?.not.find((d) => t.startsWith(d));
    if (rule && hit)
      problems.push(
        `${rel}: imports ${spec}; ${rule.from.replace(/\/$/, '')} must not import ${hit.replace(/\/$/, '')} (${rule.why})`,
      );
    if (rel.startsWith('scripts/') && t.startsWith('local/')) {
      const allowed = LOCAL_ENTRY_POINTS[t];
      if (!allowed)
        problems.push(`${rel}: imports ${spec}; scripts reach local/ only through its public entry points`);
      else if (!allowed.test(rel))
        problems.push(
          `${rel}: imports ${spec}; only the commands that run the local cloud or its engines may (the others reach it over its endpoints)`,
        );
    }
    // A type-only import is erased before the code runs: it cannot make a module load before what
    // it needs, so it is no edge of an import cycle.
    if (!typeOnly) edges.push(key(t));
  }
  graph.set(key(rel), edges);
}

// Import cycles anywhere: each strongly connected component of more than one module (or a module
// importing itself), reported once with one cycle through it.
let counter = 0;
const index = new Map<string, number>();
const low = new Map<string, number>();
const onStack = new Set<string>();
const stack: string[] = [];
function strongConnect(v: string): void {
  index.set(v, counter);
  low.set(v, counter);
  counter++;
  stack.push(v);
  onStack.add(v);
  for (const w of graph.get(v) ?? []) {
    if (!graph.has(w)) continue;
    if (!index.has(w)) {
      strongConnect(w);
      low.set(v, Math.min(low.get(v) as number, low.get(w) as number));
    } else if (onStack.has(w)) low.set(v, Math.min(low.get(v) as number, index.get(w) as number));
  }
  if (low.get(v) !== index.get(v)) return;
  const component: string[] = [];
  let w: string;
  do {
    w = stack.pop() as string;
    onStack.delete(w);
    component.push(w);
  } while (w !== v);
  if (component.length > 1 || (graph.get(v) ?? []).includes(v))
    problems.push(`import cycle: ${cycleIn(component)}`);
}
/** One cycle through the component's first module, as `a -> b -> a`. */
function cycleIn(component: string[]): string {
  const members = new Set(component);
  const start = [...component].sort()[0] as string;
  const path = [start];
  const seen = new Set([start]);
  for (let at = start; ; ) {
    const next = (graph.get(at) ?? []).filter((m) => members.has(m));
    const back = next.find((m) => m === start);
    if (back) return [...path, start].join(' -> ');
    const on = next.find((m) => !seen.has(m)) ?? (next[0] as string);
    path.push(on);
    seen.add(on);
    at = on;
    if (path.length > component.length + 1) return [...component, component[0]].join(' -> ');
  }
}
for (const v of graph.keys()) if (!index.has(v)) strongConnect(v);

if (problems.length > 0) {
  for (const p of problems) console.error(p);
  process.exit(1);
}
console.log(`dependency rule: ${files.length} files checked, no violations`);
