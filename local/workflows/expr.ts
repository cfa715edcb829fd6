/**
 * Workflows expressions (`${...}`): a tokenizer, a recursive-descent parser with the Workflows
 * operator precedence, and an evaluator. Nothing here uses `eval`.
 *
 * Precedence, loosest first: `or`, `and`, `not`, comparisons (`== != < > <= >= in`), `+ -`,
 * `* / % //`, unary `-`, then postfix (`.key`, `[index]`, `(args)`).
 */
import {
  Bytes,
  equal,
  indexError,
  isMap,
  keyError,
  type MapValue,
  tagged,
  typeError,
  typeName,
  type Value,
} from './values.ts';

export type Node =
  | { k: 'lit'; v: Value }
  | { k: 'var'; name: string }
  | { k: 'member'; obj: Node; name: string }
  | { k: 'index'; obj: Node; index: Node }
  | { k: 'call'; callee: string; args: Node[] }
  | { k: 'un'; op: '-' | 'not'; a: Node }
  | { k: 'bin'; op: string; a: Node; b: Node }
  | { k: 'list'; items: Node[] }
  | { k: 'map'; entries: [Node, Node][] };

/** A malformed expression; `column` is 1-based inside the `${...}` text. */
export class ExpressionSyntaxError extends Error {
  readonly column: number;
  constructor(message: string, column: number) {
    super(`${message} (column ${column})`);
    this.name = 'ExpressionSyntaxError';
    this.column = column;
  }
}

type Tok =
  | { t: 'num'; v: number; at: number }
  | { t: 'str'; v: string; at: number }
  | { t: 'id'; v: string; at: number }
  | { t: 'op'; v: string; at: number }
  | { t: 'eof'; at: number };

const OPS = [
  '//',
  '==',
  '!=',
  '<=',
  '>=',
  '<',
  '>',
  '+',
  '-',
  '*',
  '/',
  '%',
  '(',
  ')',
  '[',
  ']',
  '{',
  '}',
  ',',
  '.',
  ':',
];

function tokenize(src: string): Tok[] {
  const out: Tok[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i] as string;
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    const at = i + 1;
    if (/[0-9]/.test(c)) {
      const m = /^(\d+(\.\d+)?([eE][+-]?\d+)?)/.exec(src.slice(i));
      const text = (m as RegExpExecArray)[1] as string;
      out.push({ t: 'num', v: Number(text), at });
      i += text.length;
      continue;
    }
    if (c === '"' || c === "'") {
      let j = i + 1;
      let s = '';
      for (;;) {
        if (j >= src.length) throw new ExpressionSyntaxError('unterminated string', at);
        const d = src[j] as string;
        if (d === c) break;
        if (d === '\\') {
          const e = src[j + 1];
          const simple: Record<string, string> = {
            n: '\n',
            t: '\t',
            r: '\r',
            '"': '"',
            "'": "'",
            '\\': '\\',
            '/': '/',
            b: '\b',
            f: '\f',
          };
          if (e !== undefined && e in simple) {
            s += simple[e];
            j += 2;
            continue;
          }
          if (e === 'u' && /^[0-9a-fA-F]{4}$/.test(src.slice(j + 2, j + 6))) {
            s += String.fromCharCode(Number.parseInt(src.slice(j + 2, j + 6), 16));
            j += 6;
            continue;
          }
          throw new ExpressionSyntaxError(`invalid escape \\${e ?? ''} in string`, j + 1);
        }
        s += d;
        j++;
      }
      out.push({ t: 'str', v: s, at });
      i = j + 1;
      continue;
    }
    if (/[A-Za-z_]/.test(c)) {
      const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(src.slice(i)) as RegExpExecArray;
      out.push({ t: 'id', v: m[0], at });
      i += m[0].length;
      continue;
    }
    const op = OPS.find((o) => src.startsWith(o, i));
    if (!op) throw new ExpressionSyntaxError(`unexpected character "${c}"`, at);
    out.push({ t: 'op', v: op, at });
    i += op.length;
  }
  out.push({ t: 'eof', at: src.length + 1 });
  return out;
}

const KEYWORDS = new Set(['and', 'or', 'not', 'in', 'true', 'false', 'null', 'True', 'False']);

class Parser {
  #toks: Tok[];
  #i = 0;
  constructor(toks: Tok[]) {
    this.#toks = toks;
  }
  peek(): Tok {
    return this.#toks[this.#i] as Tok;
  }
  next(): Tok {
    return this.#toks[this.#i++] as Tok;
  }
  isOp(v: string): boolean {
    const t = this.peek();
    return t.t === 'op' && t.v === v;
  }
  isKw(v: string): boolean {
    const t = this.peek();
    return t.t === 'id' && t.v === v;
  }
  expectOp(v: string): void {
    const t = this.next();
    if (t.t !== 'op' || t.v !== v)
      throw new ExpressionSyntaxError(`expected "${v}" but found ${describe(t)}`, t.at);
  }
  parseAll(): Node {
    const n = this.or();
    const t = this.peek();
    if (t.t !== 'eof') throw new ExpressionSyntaxError(`unexpected ${describe(t)}`, t.at);
    return n;
  }
  or(): Node {
    let a = this.and();
    while (this.isKw('or')) {
      this.next();
      a = { k: 'bin', op: 'or', a, b: this.and() };
    }
    return a;
  }
  and(): Node {
    let a = this.not();
    while (this.isKw('and')) {
      this.next();
      a = { k: 'bin', op: 'and', a, b: this.not() };
    }
    return a;
  }
  not(): Node {
    if (this.isKw('not')) {
      this.next();
      return { k: 'un', op: 'not', a: this.not() };
    }
    return this.cmp();
  }
  cmp(): Node {
    let a = this.add();
    for (;;) {
      const t = this.peek();
      if (t.t === 'op' && ['==', '!=', '<', '>', '<=', '>='].includes(t.v)) {
        this.next();
        a = { k: 'bin', op: t.v, a, b: this.add() };
      } else if (t.t === 'id' && t.v === 'in') {
        this.next();
        a = { k: 'bin', op: 'in', a, b: this.add() };
      } else return a;
    }
  }
  add(): Node {
    let a = this.mul();
    for (;;) {
      const t = this.peek();
      if (t.t === 'op' && (t.v === '+' || t.v === '-')) {
        this.next();
        a = { k: 'bin', op: t.v, a, b: this.mul() };
      } else return a;
    }
  }
  mul(): Node {
    let a = this.unary();
    for (;;) {
      const t = this.peek();
      if (t.t === 'op' && ['*', '/', '%', '//'].includes(t.v)) {
        this.next();
        a = { k: 'bin', op: t.v, a, b: this.unary() };
      } else return a;
    }
  }
  unary(): Node {
    if (this.isOp('-')) {
      this.next();
      return { k: 'un', op: '-', a: this.unary() };
    }
    return this.postfix();
  }
  postfix(): Node {
    let n = this.primary();
    for (;;) {
      if (this.isOp('.')) {
        this.next();
        const t = this.next();
        if (t.t !== 'id')
          throw new ExpressionSyntaxError(`expected a key name after "." but found ${describe(t)}`, t.at);
        n = { k: 'member', obj: n, name: t.v };
      } else if (this.isOp('[')) {
        this.next();
        const index = this.or();
        this.expectOp(']');
        n = { k: 'index', obj: n, index };
      } else if (this.isOp('(')) {
        const at = this.peek().at;
        const callee = dottedName(n);
        if (callee === undefined) throw new ExpressionSyntaxError('only named functions can be called', at);
        this.next();
        const args: Node[] = [];
        if (!this.isOp(')')) {
          for (;;) {
            args.push(this.or());
            if (this.isOp(',')) {
              this.next();
              continue;
            }
            break;
          }
        }
        this.expectOp(')');
        n = { k: 'call', callee, args };
      } else return n;
    }
  }
  primary(): Node {
    const t = this.next();
    if (t.t === 'num') return { k: 'lit', v: t.v };
    if (t.t === 'str') return { k: 'lit', v: t.v };
    if (t.t === 'id') {
      if (t.v === 'true' || t.v === 'True') return { k: 'lit', v: true };
      if (t.v === 'false' || t.v === 'False') return { k: 'lit', v: false };
      if (t.v === 'null') return { k: 'lit', v: null };
      if (KEYWORDS.has(t.v)) throw new ExpressionSyntaxError(`unexpected keyword "${t.v}"`, t.at);
      return { k: 'var', name: t.v };
    }
    if (t.t === 'op' && t.v === '(') {
      const n = this.or();
      this.expectOp(')');
      return n;
    }
    if (t.t === 'op' && t.v === '[') {
      const items: Node[] = [];
      if (!this.isOp(']')) {
        for (;;) {
          items.push(this.or());
          if (this.isOp(',')) {
            this.next();
            continue;
          }
          break;
        }
      }
      this.expectOp(']');
      return { k: 'list', items };
    }
    if (t.t === 'op' && t.v === '{') {
      const entries: [Node, Node][] = [];
      if (!this.isOp('}')) {
        for (;;) {
          const key = this.or();
          this.expectOp(':');
          entries.push([key, this.or()]);
          if (this.isOp(',')) {
            this.next();
            continue;
          }
          break;
        }
      }
      this.expectOp('}');
      return { k: 'map', entries };
    }
    throw new ExpressionSyntaxError(`unexpected ${describe(t)}`, t.at);
  }
}

function describe(t: Tok): string {
  if (t.t === 'eof') return 'end of expression';
  if (t.t === 'str') return `string "${t.v}"`;
  return `"${t.v}"`;
}

/** `a.b.c` as a dotted name when the node is a chain of identifiers; otherwise undefined. */
export function dottedName(n: Node): string | undefined {
  if (n.k === 'var') return n.name;
  if (n.k === 'member') {
    const base = dottedName(n.obj);
    return base === undefined ? undefined : `${base}.${n.name}`;
  }
  return undefined;
}

const cache = new Map<string, Node>();

/** Parses the text inside `${...}`. */
export function parseExpression(src: string): Node {
  const hit = cache.get(src);
  if (hit) return hit;
  const node = new Parser(tokenize(src)).parseAll();
  if (cache.size > 5000) cache.clear();
  cache.set(src, node);
  return node;
}

/** The text inside `${...}` when the whole string is one expression; otherwise undefined. */
export function expressionText(v: unknown): string | undefined {
  if (typeof v !== 'string') return undefined;
  const s = v.trim();
  if (s.startsWith('${') && s.endsWith('}')) return s.slice(2, -1);
  return undefined;
}

/** What the evaluator needs from the running workflow. */
export interface EvalContext {
  /** A variable's value, or undefined when no such variable exists. */
  lookup(name: string): Value | undefined;
  /** A dotted global such as `http.default_retry` or a function reference; undefined if unknown. */
  global(name: string): Value | undefined;
  /** Calls a standard library function or subworkflow with positional arguments. */
  call(name: string, args: Value[]): Promise<Value>;
}

export async function evaluate(n: Node, ctx: EvalContext): Promise<Value> {
  switch (n.k) {
    case 'lit':
      return n.v;
    case 'var': {
      const v = ctx.lookup(n.name);
      if (v !== undefined) return v;
      const g = ctx.global(n.name);
      if (g !== undefined) return g;
      throw keyError(`variable "${n.name}" is not defined`);
    }
    case 'member': {
      const name = dottedName(n);
      if (name !== undefined) {
        const root = name.split('.')[0] as string;
        if (ctx.lookup(root) === undefined) {
          const g = ctx.global(name);
          if (g !== undefined) return g;
          if (ctx.global(root) === undefined) throw keyError(`variable "${root}" is not defined`);
          throw keyError(`"${name}" is not a known function or value`);
        }
      }
      const obj = await evaluate(n.obj, ctx);
      return getKey(obj, n.name, describeNode(n.obj));
    }
    case 'index': {
      const obj = await evaluate(n.obj, ctx);
      const idx = await evaluate(n.index, ctx);
      if (Array.isArray(obj)) {
        if (typeof idx !== 'number' || !Number.isInteger(idx))
          throw typeError(`list indices must be integers, not ${typeName(idx)}`);
        const i = idx < 0 ? obj.length + idx : idx;
        if (i < 0 || i >= obj.length)
          throw indexError(`list index ${idx} out of range (${describeNode(n.obj)} has ${obj.length} items)`);
        return obj[i] as Value;
      }
      if (isMap(obj)) {
        if (typeof idx !== 'string') throw typeError(`map keys must be strings, not ${typeName(idx)}`);
        return getKey(obj, idx, describeNode(n.obj));
      }
      throw typeError(`${describeNode(n.obj)} is a ${typeName(obj)}; only lists and maps can be indexed`);
    }
    case 'call': {
      const args: Value[] = [];
      for (const a of n.args) args.push(await evaluate(a, ctx));
      return ctx.call(n.callee, args);
    }
    case 'list': {
      const out: Value[] = [];
      for (const a of n.items) out.push(await evaluate(a, ctx));
      return out;
    }
    case 'map': {
      const out: MapValue = {};
      for (const [kn, vn] of n.entries) {
        const key = await evaluate(kn, ctx);
        if (typeof key !== 'string') throw typeError(`map keys must be strings, not ${typeName(key)}`);
        out[key] = await evaluate(vn, ctx);
      }
      return out;
    }
    case 'un': {
      const a = await evaluate(n.a, ctx);
      if (n.op === 'not') {
        if (typeof a !== 'boolean') throw typeError(`"not" needs a boolean, got ${typeName(a)}`);
        return !a;
      }
      if (typeof a !== 'number') throw typeError(`unary "-" needs a number, got ${typeName(a)}`);
      return -a;
    }
    case 'bin': {
      if (n.op === 'and' || n.op === 'or') {
        const a = await evaluate(n.a, ctx);
        if (typeof a !== 'boolean')
          throw typeError(`"${n.op}" needs booleans, got ${typeName(a)} on the left`);
        if (n.op === 'and' && !a) return false;
        if (n.op === 'or' && a) return true;
        const b = await evaluate(n.b, ctx);
        if (typeof b !== 'boolean')
          throw typeError(`"${n.op}" needs booleans, got ${typeName(b)} on the right`);
        return b;
      }
      return binary(n.op, await evaluate(n.a, ctx), await evaluate(n.b, ctx));
    }
  }
}

function getKey(obj: Value, key: string, what: string): Value {
  if (isMap(obj)) {
    if (!Object.hasOwn(obj, key)) throw keyError(`key "${key}" not found in ${what}`);
    return obj[key] as Value;
  }
  throw typeError(`cannot read key "${key}" of ${what}: it is ${typeName(obj)}, not a map`);
}

function describeNode(n: Node): string {
  const d = dottedName(n);
  if (d !== undefined) return d;
  if (n.k === 'index') return `${describeNode(n.obj)}[...]`;
  if (n.k === 'call') return `${n.callee}(...)`;
  return 'the value';
}

function operandError(op: string, a: Value, b: Value): never {
  throw typeError(`unsupported operand types for ${op}: ${typeName(a)} and ${typeName(b)}`);
}

export function binary(op: string, a: Value, b: Value): Value {
  switch (op) {
    case '==':
      return equal(a, b);
    case '!=':
      return !equal(a, b);
    case 'in':
      if (Array.isArray(b)) return b.some((x) => equal(x, a));
      if (isMap(b)) {
        if (typeof a !== 'string') throw typeError(`"in" on a map needs a string key, got ${typeName(a)}`);
        return Object.hasOwn(b, a);
      }
      throw typeError(`"in" needs a list or a map on the right, got ${typeName(b)}`);
    case '<':
    case '>':
    case '<=':
    case '>=': {
      if (
        !(
          (typeof a === 'number' && typeof b === 'number') ||
          (typeof a === 'string' && typeof b === 'string')
        )
      )
        operandError(op, a, b);
      if (op === '<') return a < b;
      if (op === '>') return a > b;
      if (op === '<=') return a <= b;
      return a >= b;
    }
    case '+':
      if (typeof a === 'number' && typeof b === 'number') return a + b;
      if (typeof a === 'string' && typeof b === 'string') return a + b;
      if (a instanceof Bytes && b instanceof Bytes) return new Bytes(Buffer.concat([a.data, b.data]));
      return operandError(op, a, b);
    case '-':
    case '*':
    case '/':
    case '%':
    case '//': {
      if (typeof a !== 'number' || typeof b !== 'number') return operandError(op, a, b);
      if (op === '-') return a - b;
      if (op === '*') return a * b;
      if (b === 0) throw tagged('ZeroDivisionError', `division by zero (${a} ${op} 0)`);
      if (op === '/') return a / b;
      if (op === '//') return Math.floor(a / b);
      // Python-style modulo: the result has the sign of the divisor.
      return ((a % b) + b) % b;
    }
  }
  throw typeError(`unknown operator ${op}`);
}
