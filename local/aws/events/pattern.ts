/**
 * EventBridge event patterns: validation (what PutRule and TestEventPattern refuse with
 * InvalidEventPatternException) and matching, following the EventBridge documentation for every
 * operator: exact (strings, numbers, booleans, null, ""), prefix / suffix (plain or
 * equals-ignore-case), anything-but (values, lists, prefix, suffix, equals-ignore-case, wildcard),
 * numeric ranges, exists, wildcard, cidr (IPv4 and IPv6), equals-ignore-case, `$or`, nesting, and
 * arrays (an array in the event matches when any element does).
 */

/** The pattern is malformed; `message` says why, as the API's `InvalidEventPatternException` does. */
export class InvalidEventPatternError extends Error {
  constructor(reason: string) {
    super(`Event pattern is not valid. Reason: ${reason}`);
    this.name = 'InvalidEventPatternError';
  }
}

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

const MAX_NUMBER = 5e9;
const OPERATORS = new Set([
  'prefix',
  'suffix',
  'anything-but',
  'numeric',
  'exists',
  'cidr',
  'equals-ignore-case',
  'wildcard',
]);

/** Parses and validates a pattern given as JSON text. */
export function parsePattern(text: string): Record<string, Json> {
  let p: unknown;
  try {
    p = JSON.parse(text);
  } catch (err) {
    throw new InvalidEventPatternError(`Filter is not valid JSON: ${(err as Error).message}`);
  }
  validatePattern(p);
  return p as Record<string, Json>;
}

export function validatePattern(p: unknown, path = ''): void {
  if (!isObject(p)) throw new InvalidEventPatternError(`${path || 'the pattern'} must be an object`);
  if (Object.keys(p).length === 0 && path === '')
    throw new InvalidEventPatternError('Empty objects are not allowed');
  for (const [k, v] of Object.entries(p)) {
    const where = path ? `${path}.${k}` : k;
    if (k === '$or') {
      if (!Array.isArray(v) || v.length < 2) {
        throw new InvalidEventPatternError(`"$or" must be an array of at least two objects at ${where}`);
      }
      for (const [i, alt] of v.entries()) validatePattern(alt, `${where}[${i}]`);
    } else if (Array.isArray(v)) {
      if (v.length === 0) throw new InvalidEventPatternError(`Empty arrays are not allowed at ${where}`);
      for (const m of v) validateMatcher(m, where);
    } else if (isObject(v)) {
      if (Object.keys(v).length === 0)
        throw new InvalidEventPatternError(`Empty objects are not allowed at ${where}`);
      validatePattern(v, where);
    } else {
      throw new InvalidEventPatternError(`"${where}" must be an object or an array`);
    }
  }
}

function validateMatcher(m: unknown, where: string): void {
  if (m === null || typeof m === 'string' || typeof m === 'boolean') return;
  if (typeof m === 'number') {
    checkNumber(m, where);
    return;
  }
  if (Array.isArray(m))
    throw new InvalidEventPatternError(
      `Match value must be String, number, true, false, or null at ${where}`,
    );
  if (!isObject(m)) throw new InvalidEventPatternError(`Unrecognized match value at ${where}`);
  const keys = Object.keys(m);
  if (keys.length !== 1)
    throw new InvalidEventPatternError(`a match expression must have exactly one operator at ${where}`);
  const op = keys[0] as string;
  const v = m[op];
  if (!OPERATORS.has(op)) throw new InvalidEventPatternError(`Unrecognized match type ${op} at ${where}`);
  switch (op) {
    case 'prefix':
    case 'suffix':
      if (typeof v === 'string') return;
      if (isObject(v) && Object.keys(v).length === 1 && typeof v['equals-ignore-case'] === 'string') return;
      throw new InvalidEventPatternError(
        `${op} match pattern must be a string or {"equals-ignore-case": string} at ${where}`,
      );
    case 'equals-ignore-case':
      if (typeof v !== 'string')
        throw new InvalidEventPatternError(`equals-ignore-case match pattern must be a string at ${where}`);
      return;
    case 'exists':
      if (typeof v !== 'boolean')
        throw new InvalidEventPatternError(`exists match pattern must be either true or false at ${where}`);
      return;
    case 'wildcard':
      checkWildcard(v, where);
      return;
    case 'cidr':
      if (typeof v !== 'string' || !parseCidr(v))
        throw new InvalidEventPatternError(`Malformed CIDR, one '/' required at ${where}: ${String(v)}`);
      return;
    case 'numeric':
      parseNumeric(v, where);
      return;
    case 'anything-but':
      validateAnythingBut(v, where);
      return;
  }
}

function validateAnythingBut(v: unknown, where: string): void {
  if (typeof v === 'string') return;
  if (typeof v === 'number') {
    checkNumber(v, where);
    return;
  }
  if (Array.isArray(v)) {
    if (v.length === 0)
      throw new InvalidEventPatternError(`Empty arrays are not allowed in anything-but at ${where}`);
    const allStrings = v.every((x) => typeof x === 'string');
    const allNumbers = v.every((x) => typeof x === 'number');
    if (!allStrings && !allNumbers) {
      throw new InvalidEventPatternError(
        `Inside anything-but list, start|null|boolean is not supported; use only strings or only numbers at ${where}`,
      );
    }
    return;
  }
  if (isObject(v)) {
    const keys = Object.keys(v);
    const op = keys[0];
    if (keys.length !== 1 || !['prefix', 'suffix', 'equals-ignore-case', 'wildcard'].includes(op as string)) {
      throw new InvalidEventPatternError(
        `Unsupported anything-but pattern: ${JSON.stringify(v)} at ${where}`,
      );
    }
    const x = v[op as string];
    if (op === 'wildcard') {
      if (Array.isArray(x)) for (const w of x) checkWildcard(w, where);
      else checkWildcard(x, where);
      return;
    }
    if (
      op === 'equals-ignore-case' &&
      Array.isArray(x) &&
      x.length > 0 &&
      x.every((s) => typeof s === 'string')
    )
      return;
    if (typeof x !== 'string')
      throw new InvalidEventPatternError(`anything-but ${op} must be a string at ${where}`);
    if ((op === 'prefix' || op === 'suffix') && x === '')
      throw new InvalidEventPatternError(`anything-but ${op} cannot be empty at ${where}`);
    return;
  }
  throw new InvalidEventPatternError(
    `Value of anything-but must be an array, an object, a string or a number at ${where}`,
  );
}

function checkWildcard(v: unknown, where: string): void {
  if (typeof v !== 'string')
    throw new InvalidEventPatternError(`wildcard match pattern must be a string at ${where}`);
  if (/(?<!\\)\*\*/.test(v))
    throw new InvalidEventPatternError(`Consecutive wildcard characters at ${where}`);
  if (/\\(?![*\\])/.test(v))
    throw new InvalidEventPatternError(`Invalid escape: only \\* and \\\\ are allowed at ${where}`);
}

function checkNumber(n: number, where: string): void {
  if (!(n >= -MAX_NUMBER && n <= MAX_NUMBER)) {
    throw new InvalidEventPatternError(
      `Value ${n} at ${where} is out of range: numbers must be between -5.0e9 and 5.0e9`,
    );
  }
}

type Bound = { op: '<' | '<=' | '>' | '>=' | '='; n: number };
function parseNumeric(v: unknown, where: string): Bound[] {
  if (!Array.isArray(v) || v.length === 0 || v.length % 2 !== 0) {
    throw new InvalidEventPatternError(
      `Value of numeric must be an array of operator, number pairs at ${where}`,
    );
  }
  const bounds: Bound[] = [];
  for (let i = 0; i < v.length; i += 2) {
    const op = v[i];
    const n = v[i + 1];
    if (!['<', '<=', '>', '>=', '='].includes(op))
      throw new InvalidEventPatternError(`Unrecognized numeric range operator ${String(op)} at ${where}`);
    if (typeof n !== 'number')
      throw new InvalidEventPatternError(`Value of ${op} must be numeric at ${where}`);
    checkNumber(n, where);
    bounds.push({ op, n });
  }
  if (bounds.some((b) => b.op === '=') && bounds.length > 1) {
    throw new InvalidEventPatternError(`numeric "=" cannot be combined with other operators at ${where}`);
  }
  const lower = bounds.filter((b) => b.op === '>' || b.op === '>=');
  const upper = bounds.filter((b) => b.op === '<' || b.op === '<=');
  if (lower.length > 1 || upper.length > 1)
    throw new InvalidEventPatternError(`Too many elements in numeric expression at ${where}`);
  if (lower[0] && upper[0] && lower[0].n >= upper[0].n) {
    throw new InvalidEventPatternError(`Bottom must be less than top in numeric range at ${where}`);
  }
  return bounds;
}

// ---------- matching ----------

/** True when `event` (a parsed event) matches the validated `pattern`. */
export function matchesPattern(pattern: Record<string, Json>, event: unknown): boolean {
  return matchObject(pattern, [event]);
}

/** `nodes`: the event values at this level (several when an array fanned out). */
function matchObject(pattern: Record<string, Json>, nodes: unknown[]): boolean {
  for (const [k, v] of Object.entries(pattern)) {
    if (k === '$or') {
      if (!(v as Record<string, Json>[]).some((alt) => matchObject(alt, nodes))) return false;
      continue;
    }
    const children = childrenOf(nodes, k);
    if (Array.isArray(v)) {
      if (!matchLeaf(v, children)) return false;
    } else {
      const objects = children.filter((c) => c !== null && typeof c === 'object');
      if (objects.length === 0) return false;
      if (!matchObject(v as Record<string, Json>, objects)) return false;
    }
  }
  return true;
}

/** The values of `key` under every node, arrays flattened (as EventBridge does). */
function childrenOf(nodes: unknown[], key: string): unknown[] {
  const out: unknown[] = [];
  for (const n of nodes) {
    if (n === null || typeof n !== 'object' || Array.isArray(n) || !Object.hasOwn(n, key)) continue;
    const v = (n as Record<string, unknown>)[key];
    if (Array.isArray(v)) out.push(...flatten(v));
    else out.push(v);
  }
  return out;
}

function flatten(a: unknown[]): unknown[] {
  return a.flatMap((x) => (Array.isArray(x) ? flatten(x) : [x]));
}

function matchLeaf(matchers: Json[], values: unknown[]): boolean {
  const leaves = values.filter((v) => v === null || typeof v !== 'object');
  const hasField = values.length > 0;
  return matchers.some((m) => {
    if (isObject(m) && 'exists' in m) {
      // exists only looks at leaf values: an object under the key does not count.
      return m.exists ? leaves.length > 0 : !hasField;
    }
    return leaves.some((v) => matchValue(m, v));
  });
}

function matchValue(m: Json, v: unknown): boolean {
  if (m === null || typeof m !== 'object') return m === v;
  const [op, arg] = Object.entries(m)[0] as [string, Json];
  switch (op) {
    case 'prefix':
      if (typeof v !== 'string') return false;
      return typeof arg === 'string' ? v.startsWith(arg) : lower(v).startsWith(lower(ignoreCase(arg)));
    case 'suffix':
      if (typeof v !== 'string') return false;
      return typeof arg === 'string' ? v.endsWith(arg) : lower(v).endsWith(lower(ignoreCase(arg)));
    case 'equals-ignore-case':
      return typeof v === 'string' && lower(v) === lower(arg as string);
    case 'wildcard':
      return typeof v === 'string' && wildcard(arg as string, v);
    case 'cidr':
      return typeof v === 'string' && inCidr(arg as string, v);
    case 'numeric':
      return typeof v === 'number' && parseNumeric(arg, '').every((b) => compare(b, v));
    case 'anything-but':
      return anythingBut(arg, v);
  }
  return false;
}

function anythingBut(arg: Json, v: unknown): boolean {
  if (typeof arg === 'string' || typeof arg === 'number') return v !== arg && typeof v === typeof arg;
  if (Array.isArray(arg)) {
    if (typeof v !== typeof arg[0]) return false;
    return !arg.includes(v as Json);
  }
  const [op, x] = Object.entries(arg as Record<string, Json>)[0] as [string, Json];
  if (typeof v !== 'string') return false;
  switch (op) {
    case 'prefix':
      return !v.startsWith(x as string);
    case 'suffix':
      return !v.endsWith(x as string);
    case 'equals-ignore-case': {
      const list = Array.isArray(x) ? (x as string[]) : [x as string];
      return !list.some((s) => lower(s) === lower(v));
    }
    case 'wildcard': {
      const list = Array.isArray(x) ? (x as string[]) : [x as string];
      return !list.some((w) => wildcard(w, v));
    }
  }
  return false;
}

function ignoreCase(arg: Json): string {
  return (arg as Record<string, string>)['equals-ignore-case'] as string;
}

function lower(s: string): string {
  return s.toLowerCase();
}

function compare(b: Bound, v: number): boolean {
  switch (b.op) {
    case '<':
      return v < b.n;
    case '<=':
      return v <= b.n;
    case '>':
      return v > b.n;
    case '>=':
      return v >= b.n;
    case '=':
      return v === b.n;
  }
}

function wildcard(pattern: string, v: string): boolean {
  let re = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i] as string;
    if (c === '\\') re += escapeRe(pattern[++i] ?? '');
    else if (c === '*') re += '.*';
    else re += escapeRe(c);
  }
  return new RegExp(`^${re}$`, 's').test(v);
}

function escapeRe(c: string): string {
  return c.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

// ---------- CIDR ----------

function parseCidr(text: string): { bits: bigint; prefix: number; width: number } | undefined {
  const parts = text.split('/');
  if (parts.length !== 2) return undefined;
  const addr = parseIp(parts[0] as string);
  const prefix = Number(parts[1]);
  if (!addr || !/^\d+$/.test(parts[1] as string) || prefix > addr.width) return undefined;
  return { bits: addr.bits, prefix, width: addr.width };
}

function parseIp(text: string): { bits: bigint; width: number } | undefined {
  if (/^\d{1,3}(\.\d{1,3}){3}$/.test(text)) {
    const octets = text.split('.').map(Number);
    if (octets.some((o) => o > 255)) return undefined;
    return { bits: octets.reduce((acc, o) => (acc << 8n) | BigInt(o), 0n), width: 32 };
  }
  if (text.includes(':')) {
    const halves = text.split('::');
    if (halves.length > 2) return undefined;
    const head = halves[0] ? (halves[0] as string).split(':') : [];
    const tail = halves.length === 2 && halves[1] ? (halves[1] as string).split(':') : [];
    const missing = 8 - head.length - tail.length;
    if (halves.length === 1 ? missing !== 0 : missing < 1) return undefined;
    const groups = [...head, ...Array(halves.length === 2 ? missing : 0).fill('0'), ...tail];
    if (!groups.every((g) => /^[0-9a-fA-F]{1,4}$/.test(g))) return undefined;
    return { bits: groups.reduce((acc, g) => (acc << 16n) | BigInt(Number.parseInt(g, 16)), 0n), width: 128 };
  }
  return undefined;
}

function inCidr(cidr: string, ip: string): boolean {
  const c = parseCidr(cidr);
  const a = parseIp(ip);
  if (!c || !a || c.width !== a.width) return false;
  const shift = BigInt(c.width - c.prefix);
  return c.bits >> shift === a.bits >> shift;
}

function isObject(v: unknown): v is Record<string, Json> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}
