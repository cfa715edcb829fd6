/**
 * Reads a workflow definition (YAML or JSON) into plain values while remembering where every map,
 * list and key came from, so the linter and runtime errors can name a line.
 */
import { isAlias, isMap, isScalar, isSeq, LineCounter, type Node, parseDocument } from 'yaml';

export interface Pos {
  line: number;
  col: number;
}

/** A problem found in a definition: where, in which step, and what. */
export interface Problem {
  line: number;
  col: number;
  step?: string;
  message: string;
  /** A warning runs in the cloud but is probably a mistake (unreachable step); the rest are errors. */
  severity?: 'warning';
}

export interface Source {
  /** The definition as plain data. */
  value: unknown;
  /** Where each map or list starts. */
  positions: WeakMap<object, Pos>;
  /** Where each key of a map is written. */
  keyPositions: WeakMap<object, Map<string, Pos>>;
  problems: Problem[];
}

export function readSource(text: string): Source {
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, uniqueKeys: true, prettyErrors: false });
  const positions = new WeakMap<object, Pos>();
  const keyPositions = new WeakMap<object, Map<string, Pos>>();
  const problems: Problem[] = doc.errors.map((e) => {
    const p = lc.linePos(e.pos[0]);
    return { line: p.line, col: p.col, message: e.message.split('\n')[0] ?? 'YAML syntax error' };
  });
  const at = (n: Node | null | undefined): Pos => {
    const off = n?.range?.[0] ?? 0;
    return lc.linePos(off);
  };
  const conv = (n: unknown): unknown => {
    if (n === null || n === undefined) return null;
    if (isAlias(n)) return conv(n.resolve(doc));
    if (isScalar(n)) {
      const v = n.value;
      if (typeof v === 'bigint') return Number(v);
      return v ?? null;
    }
    if (isSeq(n)) {
      const out = n.items.map((x) => conv(x));
      positions.set(out, at(n));
      return out;
    }
    if (isMap(n)) {
      const out: Record<string, unknown> = {};
      const keys = new Map<string, Pos>();
      for (const pair of n.items) {
        const k = isScalar(pair.key) ? String(pair.key.value) : String(conv(pair.key));
        out[k] = conv(pair.value);
        keys.set(k, at(pair.key as Node));
      }
      positions.set(out, at(n));
      keyPositions.set(out, keys);
      return out;
    }
    return null;
  };
  const value = problems.length > 0 ? null : conv(doc.contents);
  return { value, positions, keyPositions, problems };
}

/** The position of `key` in `obj`, or of `obj` itself. */
export function posOf(src: Source, obj: unknown, key?: string): Pos {
  if (typeof obj === 'object' && obj !== null) {
    if (key !== undefined) {
      const kp = src.keyPositions.get(obj)?.get(key);
      if (kp) return kp;
    }
    const p = src.positions.get(obj);
    if (p) return p;
  }
  return { line: 0, col: 0 };
}
