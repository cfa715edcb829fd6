#!/usr/bin/env node
/**
 * The dependency rule: functions/core stays cloud-neutral (no SDK, no aws-lambda types, no adapter,
 * local cloud or script imports) and has no import cycles; product code never imports local/.
 * Exits 1 with one line per violation.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

const root = resolve(process.argv[2] ?? resolve(import.meta.dirname, '..'));
const IMPORT_RE =
  /(?:^|[\s;])(?:import|export)\s[^'"]*?from\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)|^\s*import\s+['"]([^'"]+)['"]/gm;

function walk(dir: string): string[] {
  let out: string[] = [];
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name === '.crosslink') continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out = out.concat(walk(p));
    else if (/\.(ts|mts|js|mjs)$/.test(name)) out.push(p);
  }
  return out;
}

function importsOf(file: string): string[] {
  const src = readFileSync(file, 'utf8');
  return [...src.matchAll(IMPORT_RE)].map((m) => (m[1] ?? m[2] ?? m[3]) as string);
}

/** Resolves a specifier to a repo-relative path, or undefined for a package. */
function target(file: string, spec: string): string | undefined {
  const alias: Record<string, string> = {
    '#core/': 'functions/core/',
    '#aws/': 'functions/aws/',
    '#gcp/': 'functions/gcp/',
    '#local/': 'local/',
    '#scripts/': 'scripts/',
  };
  for (const [a, dir] of Object.entries(alias)) if (spec.startsWith(a)) return dir + spec.slice(a.length);
  if (spec.startsWith('.')) return relative(root, resolve(dirname(file), spec));
  return undefined;
}

const FORBIDDEN_PACKAGES = [
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
const FORBIDDEN_DIRS = ['functions/aws/', 'functions/gcp/', 'local/', 'scripts/'];

const problems: string[] = [];
const existing = (d: string) => {
  try {
    return statSync(join(root, d)).isDirectory();
  } catch {
    return false;
  }
};

const coreFiles = existing('functions/core') ? walk(join(root, 'functions/core')) : [];
const graph = new Map<string, string[]>();
for (const file of coreFiles) {
  const rel = relative(root, file);
  const edges: string[] = [];
  for (const spec of importsOf(file)) {
    const t = target(file, spec);
    if (t === undefined) {
      if (FORBIDDEN_PACKAGES.some((re) => re.test(spec)))
        problems.push(`${rel}: imports ${spec}; functions/core must not import an SDK or Lambda types`);
      continue;
    }
    if (FORBIDDEN_DIRS.some((d) => t.startsWith(d)))
      problems.push(
        `${rel}: imports ${spec}; functions/core must not import ${t.split('/').slice(0, 2).join('/')}`,
      );
    edges.push(t.replace(/\.(ts|js)$/, ''));
  }
  graph.set(rel.replace(/\.(ts|js)$/, ''), edges);
}

// Cycles inside the core.
const state = new Map<string, 'visiting' | 'done'>();
const stack: string[] = [];
function visit(n: string): void {
  state.set(n, 'visiting');
  stack.push(n);
  for (const m of graph.get(n) ?? []) {
    if (!graph.has(m)) continue;
    if (state.get(m) === 'visiting')
      problems.push(`import cycle in functions/core: ${[...stack.slice(stack.indexOf(m)), m].join(' -> ')}`);
    else if (!state.has(m)) visit(m);
  }
  stack.pop();
  state.set(n, 'done');
}
for (const n of graph.keys()) if (!state.has(n)) visit(n);

// Product code never imports the local cloud.
for (const dir of ['functions/aws', 'functions/gcp', 'functions/core']) {
  if (!existing(dir)) continue;
  for (const file of walk(join(root, dir))) {
    for (const spec of importsOf(file)) {
      const t = target(file, spec);
      if (t?.startsWith('local/'))
        problems.push(`${relative(root, file)}: imports ${spec}; product code must not import local/`);
    }
  }
}

if (problems.length > 0) {
  for (const p of problems) console.error(p);
  process.exit(1);
}
console.log(`dependency rule: ${coreFiles.length} core files checked, no violations`);
