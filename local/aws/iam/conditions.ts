/**
 * The Condition element: every operator of a block must hold, every key of an operator must hold,
 * and a key holds when the request's value matches any of the policy's values (none, for the
 * negated operators). `...IfExists` holds when the key is absent; `ForAnyValue:` / `ForAllValues:`
 * compare multivalued keys as sets. An operator the evaluator does not know is a PolicyError, never
 * a silent match.
 */
import { BlockList, isIP } from 'node:net';
import { type ContextKeys, contextValue, literal, patternMatch, substitute } from './match.ts';
import { type ConditionBlock, PolicyError } from './policy.ts';

type Compare = (requestValue: string, policyValue: string) => boolean;

const num = (s: string) =>
  /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(s.trim()) ? Number(s) : Number.NaN;
const date = (s: string) => (/^\d+$/.test(s) ? Number(s) * 1000 : Date.parse(s));
const numeric =
  (f: (a: number, b: number) => boolean): Compare =>
  (r, p) => {
    const a = num(r);
    const b = num(literal(p));
    return !Number.isNaN(a) && !Number.isNaN(b) && f(a, b);
  };
const dated =
  (f: (a: number, b: number) => boolean): Compare =>
  (r, p) => {
    const a = date(r);
    const b = date(literal(p));
    return !Number.isNaN(a) && !Number.isNaN(b) && f(a, b);
  };

function arnLike(r: string, p: string): boolean {
  const rs = r.split(':');
  const ps = p.split(':');
  if (rs.length < 6 || ps.length < 6) return false;
  const tail = (xs: string[]) => [...xs.slice(0, 5), xs.slice(5).join(':')];
  const rt = tail(rs);
  return tail(ps).every((seg, i) => patternMatch(seg, rt[i] as string));
}

function ipMatch(r: string, p: string): boolean {
  const [net, bits] = literal(p).split('/');
  const family = isIP(net ?? '');
  if (family === 0 || isIP(r) !== family) return false;
  const type = family === 4 ? 'ipv4' : 'ipv6';
  const list = new BlockList();
  const prefix = bits === undefined ? (family === 4 ? 32 : 128) : Number(bits);
  if (!Number.isInteger(prefix)) return false;
  list.addSubnet(net as string, prefix, type);
  return list.check(r, type);
}

/** Positive operators and the negated ones that mean "matches none of". */
const OPERATORS: Record<string, { compare: Compare; negated: boolean }> = {
  StringEquals: { compare: (r, p) => r === literal(p), negated: false },
  StringNotEquals: { compare: (r, p) => r === literal(p), negated: true },
  StringEqualsIgnoreCase: { compare: (r, p) => r.toLowerCase() === literal(p).toLowerCase(), negated: false },
  StringNotEqualsIgnoreCase: {
    compare: (r, p) => r.toLowerCase() === literal(p).toLowerCase(),
    negated: true,
  },
  StringLike: { compare: (r, p) => patternMatch(p, r), negated: false },
  StringNotLike: { compare: (r, p) => patternMatch(p, r), negated: true },
  NumericEquals: { compare: numeric((a, b) => a === b), negated: false },
  NumericNotEquals: { compare: numeric((a, b) => a === b), negated: true },
  NumericLessThan: { compare: numeric((a, b) => a < b), negated: false },
  NumericLessThanEquals: { compare: numeric((a, b) => a <= b), negated: false },
  NumericGreaterThan: { compare: numeric((a, b) => a > b), negated: false },
  NumericGreaterThanEquals: { compare: numeric((a, b) => a >= b), negated: false },
  DateEquals: { compare: dated((a, b) => a === b), negated: false },
  DateNotEquals: { compare: dated((a, b) => a === b), negated: true },
  DateLessThan: { compare: dated((a, b) => a < b), negated: false },
  DateLessThanEquals: { compare: dated((a, b) => a <= b), negated: false },
  DateGreaterThan: { compare: dated((a, b) => a > b), negated: false },
  DateGreaterThanEquals: { compare: dated((a, b) => a >= b), negated: false },
  Bool: { compare: (r, p) => r.toLowerCase() === literal(p).toLowerCase(), negated: false },
  ArnEquals: { compare: arnLike, negated: false },
  ArnLike: { compare: arnLike, negated: false },
  ArnNotEquals: { compare: arnLike, negated: true },
  ArnNotLike: { compare: arnLike, negated: true },
  IpAddress: { compare: ipMatch, negated: false },
  NotIpAddress: { compare: ipMatch, negated: true },
};

/** Splits `ForAllValues:StringLikeIfExists` into its parts; throws for an unknown operator. */
function parseOperator(raw: string, where: string) {
  const m = /^(?:(ForAnyValue|ForAllValues):)?(.+?)(IfExists)?$/.exec(raw);
  const set = m?.[1] as 'ForAnyValue' | 'ForAllValues' | undefined;
  const name = m?.[2] ?? raw;
  const ifExists = m?.[3] !== undefined;
  if (name === 'Null' && !ifExists && set === undefined) return { name, set, ifExists, op: undefined };
  const op = OPERATORS[name];
  if (!op) throw new PolicyError(`${where}.Condition.${raw}: condition operator not supported`);
  return { name, set, ifExists, op };
}

/** Whether one key holds: `values` are the request's (undefined when absent). */
function keyHolds(
  parsed: ReturnType<typeof parseOperator>,
  values: readonly string[] | undefined,
  policyValues: readonly string[],
): boolean {
  if (parsed.op === undefined) {
    // Null: "true" asks that the key be absent, "false" that it be present.
    const absent = values === undefined || values.length === 0;
    return policyValues.some((v) => (v.toLowerCase() === 'true' ? absent : !absent));
  }
  const { compare, negated } = parsed.op;
  const matchesAny = (r: string) => policyValues.some((p) => compare(r, p));
  const holdsFor = (r: string) => (negated ? !matchesAny(r) : matchesAny(r));
  const absent = values === undefined || values.length === 0;
  if (parsed.set === 'ForAllValues') return absent || (values as readonly string[]).every(holdsFor);
  if (parsed.set === 'ForAnyValue') return !absent && (values as readonly string[]).some(holdsFor);
  if (absent) return parsed.ifExists || negated;
  return negated ? values.every(holdsFor) : values.some(holdsFor);
}

/** Whether a statement's Condition block holds for the request context. */
export function conditionsHold(
  block: ConditionBlock,
  context: ContextKeys,
  version: string,
  where: string,
): boolean {
  for (const [raw, keys] of Object.entries(block)) {
    const parsed = parseOperator(raw, where);
    for (const [key, rawValues] of Object.entries(keys)) {
      const policyValues: string[] = [];
      for (const v of rawValues) {
        const s = substitute(v, context, version);
        if (s !== undefined) policyValues.push(s);
      }
      if (parsed.op?.compare === OPERATORS.Bool?.compare || parsed.name === 'Null') {
        for (const v of policyValues) {
          if (!/^(true|false)$/i.test(literal(v))) {
            throw new PolicyError(`${where}.Condition.${raw}.${key}: "${v}" is not true or false`);
          }
        }
      }
      if (!keyHolds(parsed, contextValue(context, key), policyValues)) return false;
    }
  }
  return true;
}
