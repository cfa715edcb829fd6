/**
 * The attribute condition of a workload identity pool provider, in the subset of CEL the local STS
 * evaluates: `<path> == '<text>'`, `<path> != '<text>'`, `<path> in ['<text>', ...]` and
 * `<path>.startsWith('<text>')`, joined
 * with `&&` and `||` (`&&` binds tighter), parenthesised or not. `<path>` is `assertion.arn`, `google.subject` or
 * `attribute.<name>`. Anything else is a ConditionError: the exchange is refused, never allowed.
 */

export class ConditionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConditionError';
  }
}

type Token = { kind: 'path' | 'text' | 'op'; value: string };

function tokenize(source: string): Token[] {
  const out: Token[] = [];
  const re =
    /\s*(?:(&&|\|\||==|!=|\(|\)|\[|\]|,)|'((?:[^'\\]|\\.)*)'|"((?:[^"\\]|\\.)*)"|([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*))/y;
  let at = 0;
  while (at < source.length) {
    if (/^\s*$/.test(source.slice(at))) break;
    re.lastIndex = at;
    const m = re.exec(source);
    if (!m) throw new ConditionError(`unexpected text at ${at}: ${source.slice(at, at + 20)}`);
    at = re.lastIndex;
    if (m[1] !== undefined) out.push({ kind: 'op', value: m[1] });
    else if (m[2] !== undefined || m[3] !== undefined)
      out.push({ kind: 'text', value: (m[2] ?? m[3] ?? '').replace(/\\(.)/g, '$1') });
    else out.push({ kind: 'path', value: m[4] as string });
  }
  return out;
}

type Vars = Record<string, unknown>;

function lookup(vars: Vars, path: string): string | undefined {
  if (path.startsWith('attribute.') || path === 'google.subject') {
    const v = vars[path];
    return typeof v === 'string' ? v : undefined;
  }
  if (path === 'assertion.arn') {
    const a = vars.assertion as { arn?: unknown } | undefined;
    return typeof a?.arn === 'string' ? a.arn : undefined;
  }
  throw new ConditionError(`unknown attribute ${path}`);
}

/** Evaluates `source` against the assertion and the mapped attributes. */
export function evaluateAttributeCondition(source: string, vars: Vars): boolean {
  const tokens = tokenize(source);
  let i = 0;
  const peek = () => tokens[i];
  const take = () => {
    const t = tokens[i++];
    if (!t) throw new ConditionError('the condition ends too early');
    return t;
  };
  const comparison = (): boolean => {
    const t = take();
    if (t.kind === 'op' && t.value === '(') {
      const v = or();
      const close = take();
      if (close.value !== ')') throw new ConditionError('a parenthesis is not closed');
      return v;
    }
    if (t.kind !== 'path') throw new ConditionError(`expected an attribute, got ${t.value}`);
    const startsWith = /^(.*)\.startsWith$/.exec(t.value);
    if (startsWith) {
      if (take().value !== '(') throw new ConditionError('startsWith needs an argument');
      const arg = take();
      if (arg.kind !== 'text') throw new ConditionError('startsWith takes a string');
      if (take().value !== ')') throw new ConditionError('startsWith takes one argument');
      // An attribute the mapping did not produce is an error in CEL, and an erring condition
      // refuses the exchange: never true, whatever the operator.
      const value = lookup(vars, startsWith[1] as string);
      return value?.startsWith(arg.value) === true;
    }
    const op = take();
    if (op.kind === 'path' && op.value === 'in') {
      if (take().value !== '[') throw new ConditionError('in takes a list: [...]');
      const list: string[] = [];
      for (;;) {
        const item = take();
        if (item.kind !== 'text') throw new ConditionError('in takes a list of strings');
        list.push(item.value);
        const sep = take();
        if (sep.value === ']') break;
        if (sep.value !== ',') throw new ConditionError('a list is closed by ]');
      }
      const left = lookup(vars, t.value);
      return left !== undefined && list.includes(left);
    }
    if (op.value !== '==' && op.value !== '!=') throw new ConditionError(`unsupported operator ${op.value}`);
    const right = take();
    if (right.kind !== 'text') throw new ConditionError('a comparison takes a string on its right');
    const left = lookup(vars, t.value);
    if (left === undefined) return false;
    return op.value === '==' ? left === right.value : left !== right.value;
  };
  const and = (): boolean => {
    let v = comparison();
    while (peek()?.value === '&&') {
      i++;
      const r = comparison();
      v = v && r;
    }
    return v;
  };
  const or = (): boolean => {
    let v = and();
    while (peek()?.value === '||') {
      i++;
      const r = and();
      v = v || r;
    }
    return v;
  };
  const result = or();
  if (i !== tokens.length) throw new ConditionError(`unexpected ${tokens[i]?.value}`);
  return result;
}
