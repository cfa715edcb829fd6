/**
 * The JSONPath subset the Amazon States Language uses. Paths (`InputPath`, `OutputPath`,
 * `ItemsPath`, `Parameters` `.$` values) may select with `.name`, `['name']`, `[n]`, `[*]` and
 * `[a:b]`; reference paths (`ResultPath`, Choice `Variable`) name one node. Filters and recursive
 * descent are refused when the definition is created, not skipped.
 */

export type Segment =
  | { kind: 'field'; name: string }
  | { kind: 'index'; index: number }
  | { kind: 'wildcard' }
  | { kind: 'slice'; start?: number; end?: number };

export interface ParsedPath {
  /** `$` (state input) or `$$` (context object). */
  root: '$' | '$$';
  segments: Segment[];
  /** True when the path can select several nodes (`[*]`, slices): the result is an array. */
  multi: boolean;
}

/** The path is not in the supported subset or is malformed. */
export class PathSyntaxError extends Error {
  constructor(path: string, why: string) {
    super(`invalid JSONPath '${path}': ${why}`);
    this.name = 'PathSyntaxError';
  }
}

const cache = new Map<string, ParsedPath>();

export function parsePath(path: string): ParsedPath {
  const hit = cache.get(path);
  if (hit) return hit;
  if (typeof path !== 'string' || !path.startsWith('$'))
    throw new PathSyntaxError(String(path), 'must start with $');
  const root = path.startsWith('$$') ? '$$' : '$';
  let i = root.length;
  const segments: Segment[] = [];
  let multi = false;
  while (i < path.length) {
    const c = path[i];
    if (c === '.') {
      if (path[i + 1] === '.') throw new PathSyntaxError(path, 'recursive descent (..) is not supported');
      const m = /^[^.[\]\s]+/.exec(path.slice(i + 1));
      if (!m) throw new PathSyntaxError(path, `expected a field name at position ${i + 1}`);
      if (m[0] === '*') {
        segments.push({ kind: 'wildcard' });
        multi = true;
      } else segments.push({ kind: 'field', name: m[0] });
      i += 1 + m[0].length;
    } else if (c === '[') {
      const close = findClose(path, i);
      const inner = path.slice(i + 1, close).trim();
      if (/^'(?:[^'\\]|\\.)*'$/.test(inner) || /^"(?:[^"\\]|\\.)*"$/.test(inner)) {
        segments.push({ kind: 'field', name: inner.slice(1, -1).replace(/\\(.)/g, '$1') });
      } else if (/^-?\d+$/.test(inner)) {
        segments.push({ kind: 'index', index: Number(inner) });
      } else if (inner === '*') {
        segments.push({ kind: 'wildcard' });
        multi = true;
      } else if (/^-?\d*:-?\d*$/.test(inner)) {
        const [a, b] = inner.split(':') as [string, string];
        const slice: Segment = { kind: 'slice' };
        if (a !== '') slice.start = Number(a);
        if (b !== '') slice.end = Number(b);
        segments.push(slice);
        multi = true;
      } else {
        throw new PathSyntaxError(
          path,
          `the selector [${inner}] (filters, unions, scripts) is not supported`,
        );
      }
      i = close + 1;
    } else {
      throw new PathSyntaxError(path, `unexpected '${c}' at position ${i}`);
    }
  }
  const parsed: ParsedPath = { root, segments, multi };
  cache.set(path, parsed);
  return parsed;
}

function findClose(path: string, open: number): number {
  let quote: string | undefined;
  for (let j = open + 1; j < path.length; j++) {
    const c = path[j];
    if (quote) {
      if (c === '\\') j++;
      else if (c === quote) quote = undefined;
    } else if (c === "'" || c === '"') quote = c;
    else if (c === ']') return j;
  }
  throw new PathSyntaxError(path, 'unclosed [');
}

/** A reference path names exactly one node: no wildcards or slices. */
export function parseReferencePath(path: string): ParsedPath {
  const p = parsePath(path);
  if (p.multi) throw new PathSyntaxError(path, 'a reference path cannot use [*] or slices');
  return p;
}

const MISSING = Symbol('missing');

/**
 * Selects from `data` (or `context` for `$$` paths). Returns `undefined` when a single-node path
 * matches nothing; a multi-node path returns the array of matches.
 */
export function selectPath(path: string, data: unknown, context?: unknown): unknown {
  const p = parsePath(path);
  let nodes: unknown[] = [p.root === '$$' ? context : data];
  for (const seg of p.segments) {
    const next: unknown[] = [];
    for (const n of nodes) {
      switch (seg.kind) {
        case 'field':
          if (n !== null && typeof n === 'object' && !Array.isArray(n) && Object.hasOwn(n, seg.name)) {
            next.push((n as Record<string, unknown>)[seg.name]);
          }
          break;
        case 'index':
          if (Array.isArray(n)) {
            const idx = seg.index < 0 ? n.length + seg.index : seg.index;
            if (idx >= 0 && idx < n.length) next.push(n[idx]);
          }
          break;
        case 'wildcard':
          if (Array.isArray(n)) next.push(...n);
          else if (n !== null && typeof n === 'object') next.push(...Object.values(n));
          break;
        case 'slice':
          if (Array.isArray(n)) next.push(...n.slice(seg.start ?? 0, seg.end ?? n.length));
          break;
      }
    }
    nodes = next;
  }
  if (p.multi) return nodes;
  return nodes.length === 0 ? undefined : nodes[0];
}

/** True when a single-node path selects something (even `null`). */
export function pathExists(path: string, data: unknown, context?: unknown): boolean {
  const p = parsePath(path);
  let node: unknown = p.root === '$$' ? context : data;
  for (const seg of p.segments) {
    node = step(node, seg);
    if (node === MISSING) return false;
  }
  return true;
}

function step(n: unknown, seg: Segment): unknown {
  if (seg.kind === 'field') {
    if (n !== null && typeof n === 'object' && !Array.isArray(n) && Object.hasOwn(n, seg.name)) {
      return (n as Record<string, unknown>)[seg.name];
    }
    return MISSING;
  }
  if (seg.kind === 'index' && Array.isArray(n)) {
    const idx = seg.index < 0 ? n.length + seg.index : seg.index;
    return idx >= 0 && idx < n.length ? n[idx] : MISSING;
  }
  return MISSING;
}

/**
 * Places `value` at a reference path inside a copy of `target` (ResultPath semantics): `$` replaces
 * the whole input, missing objects on the way are created. Throws when the path crosses a
 * non-object (AWS fails such a state with States.ResultPathMatchFailure).
 */
export function setPath(path: string, target: unknown, value: unknown): unknown {
  const p = parseReferencePath(path);
  if (p.segments.length === 0) return value;
  const root = structuredClone(target ?? {});
  if (root === null || typeof root !== 'object')
    throw new Error(`cannot apply ResultPath '${path}' to a non-object`);
  let node = root as Record<string, unknown> | unknown[];
  p.segments.forEach((seg, k) => {
    const last = k === p.segments.length - 1;
    if (seg.kind === 'field') {
      if (Array.isArray(node))
        throw new Error(`cannot apply ResultPath '${path}': '${seg.name}' on an array`);
      if (last) node[seg.name] = value;
      else {
        const child = node[seg.name];
        if (child === undefined) node[seg.name] = {};
        else if (child === null || typeof child !== 'object') {
          throw new Error(`cannot apply ResultPath '${path}': '${seg.name}' is not an object`);
        }
        node = node[seg.name] as Record<string, unknown>;
      }
    } else if (seg.kind === 'index') {
      if (!Array.isArray(node)) throw new Error(`cannot apply ResultPath '${path}': index on a non-array`);
      if (last) node[seg.index] = value;
      else node = node[seg.index] as Record<string, unknown>;
    }
  });
  return root;
}
