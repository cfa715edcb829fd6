#!/usr/bin/env node
/**
 * The size limits of the tree (docs/architecture.md, "Size limits"):
 * - no file in functions/, scripts/ or local/ over 600 lines;
 * - no function in functions/ over 100 lines: function declarations and expressions, arrow
 *   functions, class methods, getters and setters, each counted from its first line to its last
 *   (a nested function counts in its container too, so a container cannot hide its length in
 *   callbacks).
 * The exceptions are the rows of the table under "Size limits" in docs/architecture.md, at most
 * five, each naming a unit and its reason. A row that names nothing over its limit fails too, so
 * the table and the code cannot drift apart. Exits 1 with one line per violation.
 *
 * Functions are found with oxc-parser (TypeScript 7 has no compiler API); their names are what a
 * reader looks for: `name` for a declaration or a function assigned to a name, `Class.method` for
 * a method, `outer.inner` for a function declared or assigned inside another.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve, sep } from 'node:path';
import { parseSync } from 'oxc-parser';

export const FILE_LIMIT = 600;
export const FUNCTION_LIMIT = 100;
export const MAX_EXCEPTIONS = 5;
const FILE_TREES = ['functions', 'scripts', 'local'];
const FUNCTION_TREES = ['functions'];
const DOC = 'docs/architecture.md';
const HEADING = /^#+\s+Size limits\s*$/;

export interface Unit {
  /** Repo-relative path of the file. */
  file: string;
  /** The function's name (`Class.method`, `outer.inner`); undefined for the whole file. */
  name?: string;
  line: number;
  lines: number;
  limit: number;
}

export interface Exception {
  file: string;
  name?: string;
  reason: string;
}

/** The files below `dir` (none when it does not exist), outside node_modules and dot folders. */
function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((p) => !p.split(sep).some((part) => part === 'node_modules' || part.startsWith('.')))
    .map((p) => join(dir, p))
    .filter((p) => statSync(p).isFile());
}

function lineCount(text: string): number {
  if (text.length === 0) return 0;
  return text.split('\n').length - (text.endsWith('\n') ? 1 : 0);
}

/** Offset -> 1-based line, by binary search over the offsets where lines start. */
function lineOf(starts: number[], offset: number): number {
  let lo = 0;
  let hi = starts.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if ((starts[mid] as number) <= offset) lo = mid;
    else hi = mid - 1;
  }
  return lo + 1;
}

interface Node {
  type: string;
  start: number;
  end: number;
  [key: string]: unknown;
}

function isNode(v: unknown): v is Node {
  return typeof v === 'object' && v !== null && typeof (v as { type?: unknown }).type === 'string';
}

const FUNCTION_TYPES = new Set(['FunctionDeclaration', 'FunctionExpression', 'ArrowFunctionExpression']);

/** The name a key (identifier, string, number, private name) reads as. */
function keyName(key: unknown): string | undefined {
  if (!isNode(key)) return undefined;
  if (key.type === 'Identifier' || key.type === 'PrivateIdentifier') return String(key.name);
  if (key.type === 'Literal') return String(key.value);
  return undefined;
}

/** Every function of a module, named by where it is declared or assigned. */
export function functionsOf(file: string, source: string): { name: string; line: number; lines: number }[] {
  const { program, errors } = parseSync(file, source);
  if (errors.length > 0) throw new Error(`${file}: cannot parse: ${errors[0]?.message}`);
  const starts = [0];
  for (let i = 0; i < source.length; i++) if (source.charCodeAt(i) === 10) starts.push(i + 1);
  const out: { name: string; line: number; lines: number }[] = [];

  const visit = (node: unknown, scope: string[], pending: string | undefined): void => {
    if (Array.isArray(node)) {
      for (const n of node) visit(n, scope, undefined);
      return;
    }
    if (!isNode(node)) return;
    let inner = scope;
    if (FUNCTION_TYPES.has(node.type)) {
      const own = keyName(node.id) ?? pending;
      const name = [...scope, own ?? `(anonymous)`].join('.');
      const line = lineOf(starts, node.start);
      out.push({ name, line, lines: lineOf(starts, Math.max(node.start, node.end - 1)) - line + 1 });
      inner = [...scope, own ?? `(anonymous@${line})`];
    }
    const named = (child: unknown, name: string | undefined, into = inner) => visit(child, into, name);
    switch (node.type) {
      case 'ClassDeclaration':
      case 'ClassExpression': {
        const cls = keyName(node.id) ?? pending ?? '(class)';
        named(node.body, undefined, [...scope, cls]);
        for (const k of ['superClass', 'decorators']) named(node[k], undefined);
        return;
      }
      case 'MethodDefinition':
      case 'PropertyDefinition':
      case 'AccessorProperty':
      case 'Property':
        named(node.key, undefined);
        named(node.value, keyName(node.key));
        return;
      case 'VariableDeclarator':
        named(node.id, undefined);
        named(node.init, keyName(node.id));
        return;
      case 'AssignmentExpression':
        named(node.left, undefined);
        named(
          node.right,
          keyName(node.left) ?? (isNode(node.left) ? keyName(node.left.property) : undefined),
        );
        return;
      case 'ExportDefaultDeclaration':
        named(node.declaration, 'default');
        return;
      case 'TSAsExpression':
      case 'TSSatisfiesExpression':
      case 'ParenthesizedExpression':
        named(node.expression, pending);
        return;
    }
    for (const [k, v] of Object.entries(node))
      if (k !== 'type' && typeof v === 'object') visit(v, inner, undefined);
  };
  visit(program, [], undefined);
  return out;
}

/** The exceptions table: the first table after the "Size limits" heading, rows `| file | unit | reason |`. */
export function exceptionsOf(doc: string): Exception[] {
  const lines = doc.split('\n');
  const at = lines.findIndex((l) => HEADING.test(l));
  if (at < 0) throw new Error(`${DOC}: no "Size limits" section (the exceptions table lives there)`);
  const out: Exception[] = [];
  let inTable = false;
  for (const line of lines.slice(at + 1)) {
    if (/^#+\s/.test(line)) break;
    if (!line.startsWith('|')) {
      if (inTable) break;
      continue;
    }
    inTable = true;
    const cells = line
      .split('|')
      .slice(1, -1)
      .map((c) => c.trim());
    if (cells.every((c) => /^:?-+:?$/.test(c))) continue;
    if (cells[0] === 'file') continue;
    const [file, unit, reason] = cells.map((c) => c.replace(/^`(.*)`$/, '$1'));
    if (!file || !unit || !reason)
      throw new Error(`${DOC}: size exception row "${line}": needs | file | unit | reason |, each filled`);
    out.push({ file, ...(unit === '(file)' ? {} : { name: unit }), reason });
  }
  return out;
}

/** Every unit over its limit, found in the tree at `root`. */
export function oversized(root: string): Unit[] {
  const out: Unit[] = [];
  for (const tree of FILE_TREES) {
    for (const path of filesUnder(join(root, tree))) {
      const file = relative(root, path);
      const text = readFileSync(path, 'utf8');
      const lines = lineCount(text);
      if (lines > FILE_LIMIT) out.push({ file, line: 1, lines, limit: FILE_LIMIT });
      if (!FUNCTION_TREES.includes(tree) || !/\.(ts|mts|cts|js|mjs|cjs)$/.test(path)) continue;
      for (const f of functionsOf(path, text))
        if (f.lines > FUNCTION_LIMIT)
          out.push({ file, name: f.name, line: f.line, lines: f.lines, limit: FUNCTION_LIMIT });
    }
  }
  return out;
}

/** One line per violation: units over their limit without an exception, stale or surplus exceptions. */
export function check(root: string): string[] {
  const problems: string[] = [];
  let exceptions: Exception[] = [];
  try {
    exceptions = exceptionsOf(readFileSync(join(root, DOC), 'utf8'));
  } catch (e) {
    return [(e as Error).message];
  }
  if (exceptions.length > MAX_EXCEPTIONS)
    problems.push(`${DOC}: ${exceptions.length} size exceptions, at most ${MAX_EXCEPTIONS}`);
  const units = oversized(root);
  const same = (u: { file: string; name?: string }, x: { file: string; name?: string }) =>
    u.file === x.file && u.name === x.name;
  for (const u of units) {
    if (exceptions.some((x) => same(u, x))) continue;
    problems.push(
      u.name === undefined
        ? `${u.file}: ${u.lines} lines, over the ${u.limit}-line limit for a file`
        : `${u.file}:${u.line}: function ${u.name} is ${u.lines} lines, over the ${u.limit}-line limit`,
    );
  }
  for (const x of exceptions)
    if (!units.some((u) => same(u, x)))
      problems.push(
        `${DOC}: the size exception for ${x.file}${x.name ? ` ${x.name}` : ''} names nothing over its limit: remove the row`,
      );
  return problems;
}

if (import.meta.main) {
  const root = resolve(process.argv[2] ?? resolve(import.meta.dirname, '..'));
  const problems = check(root);
  for (const p of problems) process.stderr.write(`${p}\n`);
  if (problems.length > 0) process.exit(1);
  process.stdout.write('sizes: every file and function within its limit\n');
}
