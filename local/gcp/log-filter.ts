/**
 * The subset of the Cloud Logging query language that log sinks of the local cloud evaluate
 * (docs/google-plumbing.md lists it):
 *   comparisons `path OP value` with OP one of `=`, `!=`, `:` (has: case-insensitive substring, or
 *   `:*` for presence), `=~` / `!~` (RE2-like regular expression, run as a JS RegExp);
 *   paths of dotted fields, a segment quoted when it holds other characters
 *   (`protoPayload."@type"`, `labels."k8s-pod/app"`); values quoted ("...") or bare words;
 *   `AND`, `OR`, `NOT` (and a leading `-`), juxtaposition as AND, parentheses;
 *   `log_id("cloudaudit.googleapis.com/activity")`.
 * Refused with a `LogFilterError` naming the construct: `<`, `>`, `<=`, `>=` (timestamps and
 * numbers), global text search (a value without a field), other functions (`sample`, `source`,
 * `ip_in_net`, ...). A field missing from the entry never equals anything; `!=` on it is true.
 */

export class LogFilterError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LogFilterError';
  }
}

type Op = '=' | '!=' | ':' | '=~' | '!~';
export type LogFilter =
  | { kind: 'and' | 'or'; parts: LogFilter[] }
  | { kind: 'not'; part: LogFilter }
  | { kind: 'cmp'; path: string[]; op: Op; value: string; presence?: boolean }
  | { kind: 'logId'; id: string }
  | { kind: 'true' };

type Token =
  | { t: 'str'; v: string }
  | { t: 'word'; v: string }
  | { t: 'op'; v: Op | '<' | '>' | '<=' | '>=' }
  | { t: '(' | ')' | '.' | '-' | ',' };

function tokenize(src: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i] as string;
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    if (c === '"') {
      let v = '';
      i++;
      while (i < src.length && src[i] !== '"') {
        if (src[i] === '\\' && i + 1 < src.length) {
          v += src[i + 1];
          i += 2;
        } else v += src[i++];
      }
      if (i >= src.length) throw new LogFilterError('unterminated string in the log filter');
      i++;
      out.push({ t: 'str', v });
      continue;
    }
    const two = src.slice(i, i + 2);
    if (two === '!=' || two === '=~' || two === '!~' || two === '<=' || two === '>=') {
      out.push({ t: 'op', v: two });
      i += 2;
      continue;
    }
    if (c === '=' || c === ':' || c === '<' || c === '>') {
      out.push({ t: 'op', v: c });
      i++;
      continue;
    }
    if (c === '(' || c === ')' || c === '.' || c === ',') {
      out.push({ t: c });
      i++;
      continue;
    }
    if (c === '-' && (out.length === 0 || out[out.length - 1]?.t !== 'op')) {
      out.push({ t: '-' });
      i++;
      continue;
    }
    let w = '';
    while (i < src.length && !/[\s"()=:<>!.,]/.test(src[i] as string)) w += src[i++];
    // A bare value after an operator may hold dots and colons (a host name, a time).
    if (out[out.length - 1]?.t === 'op') {
      while (i < src.length && !/[\s"()]/.test(src[i] as string)) w += src[i++];
    }
    if (w === '') throw new LogFilterError(`unexpected character ${JSON.stringify(c)} in the log filter`);
    out.push({ t: 'word', v: w });
  }
  return out;
}

/** Parses a filter; throws LogFilterError for what the local sinks do not support. */
export function parseLogFilter(src: string): LogFilter {
  const toks = tokenize(src);
  let p = 0;
  const peek = () => toks[p];
  const isWord = (w: string) => {
    const t = peek();
    return t?.t === 'word' && t.v === w;
  };

  const parseOr = (): LogFilter => {
    const parts = [parseAnd()];
    while (isWord('OR')) {
      p++;
      parts.push(parseAnd());
    }
    return parts.length === 1 ? (parts[0] as LogFilter) : { kind: 'or', parts };
  };
  const parseAnd = (): LogFilter => {
    const parts = [parseNot()];
    for (;;) {
      if (isWord('AND')) {
        p++;
        parts.push(parseNot());
        continue;
      }
      const t = peek();
      if (!t || t.t === ')' || isWord('OR')) break;
      parts.push(parseNot()); // juxtaposition is AND
    }
    return parts.length === 1 ? (parts[0] as LogFilter) : { kind: 'and', parts };
  };
  const parseNot = (): LogFilter => {
    if (isWord('NOT') || peek()?.t === '-') {
      p++;
      return { kind: 'not', part: parseNot() };
    }
    return parsePrimary();
  };
  const parsePrimary = (): LogFilter => {
    const t = peek();
    if (!t) throw new LogFilterError('the log filter ends where a comparison was expected');
    if (t.t === '(') {
      p++;
      const inner = parseOr();
      if (peek()?.t !== ')') throw new LogFilterError('missing ) in the log filter');
      p++;
      return inner;
    }
    const path: string[] = [];
    for (;;) {
      const s = peek();
      if (s?.t !== 'word' && s?.t !== 'str')
        throw new LogFilterError('expected a field name in the log filter');
      path.push(s.v);
      p++;
      if (peek()?.t === '.') {
        p++;
        continue;
      }
      break;
    }
    if (peek()?.t === '(') {
      const name = path.join('.');
      if (name !== 'log_id') {
        throw new LogFilterError(`the local log sinks do not support the function ${name}() (only log_id())`);
      }
      p++;
      const arg = peek();
      if (arg?.t !== 'str') throw new LogFilterError('log_id() takes one quoted log id');
      p++;
      if (peek()?.t !== ')') throw new LogFilterError('missing ) after log_id("...")');
      p++;
      return { kind: 'logId', id: arg.v };
    }
    const op = peek();
    if (op?.t !== 'op') {
      throw new LogFilterError(
        `the local log sinks do not support global text search (${JSON.stringify(path.join('.'))} has no operator); compare a field`,
      );
    }
    if (op.v === '<' || op.v === '>' || op.v === '<=' || op.v === '>=') {
      throw new LogFilterError(
        `the local log sinks do not support the ${op.v} operator (only =, !=, :, =~, !~)`,
      );
    }
    p++;
    const value = peek();
    if (op.v === ':' && value?.t === 'word' && value.v === '*') {
      p++;
      return { kind: 'cmp', path, op: ':', value: '*', presence: true };
    }
    if (value?.t !== 'str' && value?.t !== 'word') {
      throw new LogFilterError(`expected a value after ${path.join('.')}${op.v} in the log filter`);
    }
    p++;
    if (op.v === '=~' || op.v === '!~') {
      try {
        new RegExp(value.v);
      } catch (err) {
        throw new LogFilterError(
          `invalid regular expression ${JSON.stringify(value.v)}: ${(err as Error).message}`,
        );
      }
    }
    return { kind: 'cmp', path, op: op.v, value: value.v };
  };

  if (toks.length === 0) return { kind: 'true' };
  const out = parseOr();
  if (p < toks.length) throw new LogFilterError('unexpected text at the end of the log filter');
  return out;
}

function valuesAt(entry: unknown, path: string[]): unknown[] {
  let current: unknown[] = [entry];
  for (const seg of path) {
    const next: unknown[] = [];
    for (const v of current) {
      if (Array.isArray(v)) {
        for (const item of v)
          if (item && typeof item === 'object' && seg in item)
            next.push((item as Record<string, unknown>)[seg]);
      } else if (v && typeof v === 'object' && seg in v) next.push((v as Record<string, unknown>)[seg]);
    }
    current = next.flatMap((v) => (Array.isArray(v) ? v : [v]));
  }
  return current.filter((v) => v !== undefined && v !== null);
}

function text(v: unknown): string {
  return typeof v === 'string' ? v : typeof v === 'object' ? JSON.stringify(v) : String(v);
}

/** Whether a log entry matches a parsed filter. */
export function matchesLogFilter(filter: LogFilter, entry: unknown): boolean {
  switch (filter.kind) {
    case 'true':
      return true;
    case 'and':
      return filter.parts.every((f) => matchesLogFilter(f, entry));
    case 'or':
      return filter.parts.some((f) => matchesLogFilter(f, entry));
    case 'not':
      return !matchesLogFilter(filter.part, entry);
    case 'logId': {
      const logName = (entry as { logName?: string }).logName ?? '';
      return decodeURIComponent(logName.replace(/^.*\/logs\//, '')) === filter.id;
    }
    case 'cmp': {
      const values = valuesAt(entry, filter.path);
      if (filter.presence) return values.length > 0;
      switch (filter.op) {
        case '=':
          return values.some((v) => text(v) === filter.value);
        case '!=':
          return !values.some((v) => text(v) === filter.value);
        case ':':
          return values.some((v) => text(v).toLowerCase().includes(filter.value.toLowerCase()));
        case '=~':
          return values.some((v) => new RegExp(filter.value).test(text(v)));
        case '!~':
          return !values.some((v) => new RegExp(filter.value).test(text(v)));
      }
    }
  }
}
