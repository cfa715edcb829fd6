/**
 * Intrinsic functions of the Amazon States Language (JSONPath mode): parsed once when the definition
 * is created (so a typo is refused then), evaluated against the state input and the context object.
 * A runtime misuse throws `IntrinsicFailure`, which the interpreter reports as
 * `States.IntrinsicFailure`, as AWS does.
 */
import { createHash, randomUUID } from 'node:crypto';
import { selectPath } from './jsonpath.ts';

export type Arg =
  | { kind: 'literal'; value: unknown }
  | { kind: 'path'; path: string }
  | { kind: 'call'; name: string; args: Arg[] };

export class IntrinsicFailure extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'IntrinsicFailure';
  }
}

export const INTRINSICS = [
  'States.Format',
  'States.StringToJson',
  'States.JsonToString',
  'States.Array',
  'States.ArrayPartition',
  'States.ArrayContains',
  'States.ArrayRange',
  'States.ArrayGetItem',
  'States.ArrayLength',
  'States.ArrayUnique',
  'States.Base64Encode',
  'States.Base64Decode',
  'States.Hash',
  'States.JsonMerge',
  'States.MathRandom',
  'States.MathAdd',
  'States.StringSplit',
  'States.UUID',
] as const;

/** Parses `States.Format('x {}', $.a)`; throws with the position of the problem. */
export function parseIntrinsic(text: string): Arg {
  let i = 0;
  const fail = (why: string): never => {
    throw new Error(`invalid intrinsic function '${text}': ${why} at position ${i}`);
  };
  const ws = () => {
    while (text[i] === ' ') i++;
  };
  const parseArg = (): Arg => {
    ws();
    const c = text[i];
    if (c === "'") {
      i++;
      let s = '';
      for (;;) {
        if (i >= text.length) fail('unterminated string');
        const ch = text[i] as string;
        if (ch === '\\') {
          s += ch + (text[i + 1] ?? '');
          i += 2;
        } else if (ch === "'") {
          i++;
          break;
        } else {
          s += ch;
          i++;
        }
      }
      // Keep escapes of { and } for States.Format; unescape the rest.
      return { kind: 'literal', value: s.replace(/\\(['\\])/g, '$1') };
    }
    if (c === '$') {
      const m = /^\$\$?(?:\.[^,)\s[]+|\[[^\]]*\])*/.exec(text.slice(i));
      if (!m) return fail('bad path');
      i += m[0].length;
      return { kind: 'path', path: m[0] };
    }
    const num = /^-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?/.exec(text.slice(i));
    if (num) {
      i += num[0].length;
      return { kind: 'literal', value: Number(num[0]) };
    }
    for (const [word, value] of [
      ['true', true],
      ['false', false],
      ['null', null],
    ] as const) {
      if (text.startsWith(word, i) && !/[\w.]/.test(text[i + word.length] ?? '')) {
        i += word.length;
        return { kind: 'literal', value };
      }
    }
    if (text.startsWith('States.', i)) return parseCall();
    return fail('expected an argument');
  };
  const parseCall = (): Arg => {
    const m = /^States\.[A-Za-z0-9]+/.exec(text.slice(i));
    if (!m) return fail('expected States.<Function>');
    const name = m[0];
    if (!(INTRINSICS as readonly string[]).includes(name)) fail(`unknown intrinsic function ${name}`);
    i += name.length;
    ws();
    if (text[i] !== '(') fail("expected '('");
    i++;
    const args: Arg[] = [];
    ws();
    if (text[i] === ')') i++;
    else {
      for (;;) {
        args.push(parseArg());
        ws();
        if (text[i] === ',') {
          i++;
          continue;
        }
        if (text[i] === ')') {
          i++;
          break;
        }
        fail("expected ',' or ')'");
      }
    }
    return { kind: 'call', name, args };
  };
  ws();
  const call = parseCall();
  ws();
  if (i !== text.length) fail('trailing characters');
  return call;
}

export function evaluateIntrinsic(arg: Arg, input: unknown, context: unknown): unknown {
  if (arg.kind === 'literal') return arg.value;
  if (arg.kind === 'path') {
    const v = selectPath(arg.path, input, context);
    if (v === undefined)
      throw new IntrinsicFailure(`the JSONPath ${arg.path} could not be found in the input`);
    return v;
  }
  const raw = arg.args;
  const args = raw.map((a) => evaluateIntrinsic(a, input, context));
  const n = arg.name;
  const need = (count: number) => {
    if (args.length !== count)
      throw new IntrinsicFailure(`${n} takes ${count} argument(s), got ${args.length}`);
  };
  const arr = (v: unknown, what: string): unknown[] => {
    if (!Array.isArray(v)) throw new IntrinsicFailure(`${n}: ${what} must be an array`);
    return v;
  };
  const str = (v: unknown, what: string): string => {
    if (typeof v !== 'string') throw new IntrinsicFailure(`${n}: ${what} must be a string`);
    return v;
  };
  const int = (v: unknown, what: string): number => {
    if (typeof v !== 'number' || !Number.isInteger(v))
      throw new IntrinsicFailure(`${n}: ${what} must be an integer`);
    return v;
  };
  switch (n) {
    case 'States.Format': {
      if (args.length < 1) throw new IntrinsicFailure('States.Format needs a template');
      const template = str(args[0], 'the template');
      let k = 1;
      let out = '';
      for (let j = 0; j < template.length; j++) {
        const c = template[j];
        if (c === '\\' && j + 1 < template.length) {
          out += template[++j];
        } else if (c === '{' && template[j + 1] === '}') {
          if (k >= args.length) throw new IntrinsicFailure('States.Format: more {} than arguments');
          const v = args[k++];
          out += typeof v === 'string' ? v : JSON.stringify(v);
          j++;
        } else out += c;
      }
      if (k !== args.length) throw new IntrinsicFailure('States.Format: more arguments than {}');
      return out;
    }
    case 'States.StringToJson':
      need(1);
      try {
        return JSON.parse(str(args[0], 'the argument'));
      } catch {
        throw new IntrinsicFailure('States.StringToJson: the argument is not JSON');
      }
    case 'States.JsonToString':
      need(1);
      return JSON.stringify(args[0]);
    case 'States.Array':
      return args;
    case 'States.ArrayPartition': {
      need(2);
      const a = arr(args[0], 'the first argument');
      const size = int(args[1], 'the chunk size');
      if (size <= 0) throw new IntrinsicFailure('States.ArrayPartition: chunk size must be positive');
      const out: unknown[][] = [];
      for (let j = 0; j < a.length; j += size) out.push(a.slice(j, j + size));
      return out;
    }
    case 'States.ArrayContains': {
      need(2);
      const target = JSON.stringify(args[1]);
      return arr(args[0], 'the first argument').some((x) => JSON.stringify(x) === target);
    }
    case 'States.ArrayRange': {
      need(3);
      const [a, b, s] = [int(args[0], 'start'), int(args[1], 'end'), int(args[2], 'step')];
      if (s === 0) throw new IntrinsicFailure('States.ArrayRange: step cannot be 0');
      const out: number[] = [];
      for (let x = a; s > 0 ? x <= b : x >= b; x += s) {
        out.push(x);
        if (out.length > 1000) throw new IntrinsicFailure('States.ArrayRange: at most 1000 items');
      }
      return out;
    }
    case 'States.ArrayGetItem': {
      need(2);
      const a = arr(args[0], 'the first argument');
      const idx = int(args[1], 'the index');
      if (idx < 0 || idx >= a.length) throw new IntrinsicFailure('States.ArrayGetItem: index out of bounds');
      return a[idx];
    }
    case 'States.ArrayLength':
      need(1);
      return arr(args[0], 'the argument').length;
    case 'States.ArrayUnique': {
      need(1);
      const seen = new Set<string>();
      return arr(args[0], 'the argument').filter((x) => {
        const k = JSON.stringify(x);
        if (seen.has(k)) return false;
        seen.add(k);
        return true;
      });
    }
    case 'States.Base64Encode':
      need(1);
      return Buffer.from(str(args[0], 'the argument'), 'utf8').toString('base64');
    case 'States.Base64Decode':
      need(1);
      return Buffer.from(str(args[0], 'the argument'), 'base64').toString('utf8');
    case 'States.Hash': {
      need(2);
      const algo = str(args[1], 'the algorithm');
      const map: Record<string, string> = {
        MD5: 'md5',
        'SHA-1': 'sha1',
        'SHA-256': 'sha256',
        'SHA-384': 'sha384',
        'SHA-512': 'sha512',
      };
      const a = map[algo];
      if (!a) throw new IntrinsicFailure(`States.Hash: unsupported algorithm ${algo}`);
      const data = typeof args[0] === 'string' ? args[0] : JSON.stringify(args[0]);
      return createHash(a).update(data).digest('hex');
    }
    case 'States.JsonMerge': {
      need(3);
      if (args[2] !== false)
        throw new IntrinsicFailure('States.JsonMerge: only shallow merge (false) is supported');
      const [a, b] = [args[0], args[1]];
      if (!isObject(a) || !isObject(b))
        throw new IntrinsicFailure('States.JsonMerge: arguments must be objects');
      return { ...a, ...b };
    }
    case 'States.MathRandom': {
      if (args.length < 2 || args.length > 3)
        throw new IntrinsicFailure('States.MathRandom takes 2 or 3 arguments');
      const [lo, hi] = [int(args[0], 'start'), int(args[1], 'end')];
      return lo + Math.floor(Math.random() * (hi - lo));
    }
    case 'States.MathAdd': {
      need(2);
      if (typeof args[0] !== 'number' || typeof args[1] !== 'number') {
        throw new IntrinsicFailure('States.MathAdd: arguments must be numbers');
      }
      return args[0] + args[1];
    }
    case 'States.StringSplit': {
      need(2);
      const s = str(args[0], 'the string');
      const chars = new Set(str(args[1], 'the delimiter'));
      const out: string[] = [];
      let cur = '';
      for (const ch of s) {
        if (chars.has(ch)) {
          if (cur !== '') out.push(cur);
          cur = '';
        } else cur += ch;
      }
      if (cur !== '') out.push(cur);
      return out;
    }
    case 'States.UUID':
      need(0);
      return randomUUID();
  }
  throw new IntrinsicFailure(`unknown intrinsic function ${n}`);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}
