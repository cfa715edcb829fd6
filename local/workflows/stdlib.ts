/**
 * The Workflows standard library subset the interpreter supports. Each function declares its
 * parameter names (so `call:` steps can pass `args` by name and expressions by position) and
 * whether it blocks (blocking functions are only allowed in `call` steps, as in the cloud). The
 * `http.*` functions are in stdlib-http.ts, the argument readers they share in stdlib-args.ts.
 */
import { randomUUID } from 'node:crypto';
import { type ExecutionIdentity, executionName, type WorkflowPorts } from './ports.ts';
import { bytes, int, list, map, num, regex, str, toStr } from './stdlib-args.ts';
import { defaultRetryPredicate, httpFn, nonIdempotentRetryPredicate } from './stdlib-http.ts';
import {
  Bytes,
  clone,
  FunctionRef,
  fromJson,
  isMap,
  keyError,
  type MapValue,
  safeStringify,
  tagged,
  toJson,
  typeError,
  typeName,
  type Value,
  valueError,
  WorkflowsError,
} from './values.ts';

/** What a library function can use of the running execution. */
export interface CallRuntime {
  ports: WorkflowPorts;
  identity: ExecutionIdentity;
  signal: AbortSignal;
  step: string;
  /** Waits on the virtual clock (rejects when the execution is cancelled). */
  sleep(ms: number): Promise<void>;
  /** Marks the current step as an external (billed) HTTP step. */
  markExternal(): void;
}

export interface LibFunction {
  params: string[];
  /** How many leading params are required. */
  required: number;
  blocking?: boolean;
  fn(args: (Value | undefined)[], rt: CallRuntime): Value | Promise<Value>;
}

const DEFAULT_BACKOFF: MapValue = { initial_delay: 1, max_delay: 60, multiplier: 1.25 };

/** Named constants (`http.default_retry`, `retry.default_backoff`). */
export const CONSTANTS: Record<string, Value> = {
  'retry.default_backoff': DEFAULT_BACKOFF,
  'http.default_retry': {
    predicate: new FunctionRef('http.default_retry_predicate'),
    max_retries: 5,
    backoff: DEFAULT_BACKOFF,
  },
  'http.default_retry_non_idempotent': {
    predicate: new FunctionRef('http.default_retry_predicate_non_idempotent'),
    max_retries: 5,
    backoff: DEFAULT_BACKOFF,
  },
};

function pad(n: number, w = 2): string {
  return String(n).padStart(w, '0');
}

/** RFC 3339 in UTC with microseconds, as `time.format` prints it. */
export function formatTime(seconds: number): string {
  const ms = Math.floor(seconds * 1000);
  const d = new Date(ms);
  if (Number.isNaN(d.getTime())) throw valueError(`time.format: ${seconds} is out of range`);
  const micros = Math.round((seconds - Math.floor(seconds)) * 1e6) % 1e6;
  return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}T${pad(d.getUTCHours())}:${pad(
    d.getUTCMinutes(),
  )}:${pad(d.getUTCSeconds())}.${pad(micros, 6)}Z`;
}

function mapGet(m: MapValue, keys: Value): Value {
  const path = Array.isArray(keys) ? keys : [keys];
  let cur: Value = m;
  for (const k of path) {
    if (typeof k !== 'string') throw typeError(`map.get: keys must be strings, got ${typeName(k)}`);
    if (!isMap(cur) || !Object.hasOwn(cur, k)) return null;
    cur = cur[k] as Value;
  }
  return cur;
}

function mergeNested(a: MapValue, b: MapValue): MapValue {
  const out = clone(a) as MapValue;
  for (const [k, v] of Object.entries(b)) {
    const cur = out[k];
    out[k] = isMap(cur ?? null) && isMap(v) ? mergeNested(cur as MapValue, v) : clone(v);
  }
  return out;
}

function urlEncode(s: string, plus: boolean): string {
  const e = encodeURIComponent(s).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
  return plus ? e.replace(/%20/g, '+') : e;
}

const f = (params: string[], required: number, fn: LibFunction['fn'], blocking = false): LibFunction => ({
  params,
  required,
  fn,
  blocking,
});

export const LIBRARY: Record<string, LibFunction> = {
  default: f(['value', 'default_value'], 2, ([v, d]) => (v === null || v === undefined ? (d ?? null) : v)),
  len: f(['value'], 1, ([v]) => {
    if (typeof v === 'string') return [...v].length;
    if (Array.isArray(v)) return v.length;
    if (v instanceof Bytes) return v.data.byteLength;
    if (isMap(v ?? null)) return Object.keys(v as MapValue).length;
    throw typeError(`len: expected a string, list, map or bytes, got ${typeName(v ?? null)}`);
  }),
  keys: f(['map'], 1, ([m]) => Object.keys(map(m, 'keys', 'map'))),
  get_type: f(['value'], 1, ([v]) => typeName(v ?? null)),
  int: f(['value'], 1, ([v]) => {
    if (typeof v === 'number') return Math.trunc(v);
    if (typeof v === 'string' && /^\s*[-+]?\d+\s*$/.test(v)) return Number.parseInt(v, 10);
    if (typeof v === 'string') throw valueError(`int: cannot parse ${JSON.stringify(v)} as an integer`);
    if (typeof v === 'boolean') return v ? 1 : 0;
    throw typeError(`int: cannot convert ${typeName(v ?? null)} to an integer`);
  }),
  double: f(['value'], 1, ([v]) => {
    if (typeof v === 'number') return v;
    if (typeof v === 'string' && v.trim() !== '' && Number.isFinite(Number(v))) return Number(v);
    if (typeof v === 'string') throw valueError(`double: cannot parse ${JSON.stringify(v)} as a number`);
    throw typeError(`double: cannot convert ${typeName(v ?? null)} to a double`);
  }),
  string: f(['value'], 1, ([v]) => toStr(v ?? null)),
  bool: f(['value'], 1, ([v]) => {
    if (typeof v === 'boolean') return v;
    if (typeof v === 'number') return v !== 0;
    if (typeof v === 'string') {
      const l = v.toLowerCase();
      if (['true', 't', '1'].includes(l)) return true;
      if (['false', 'f', '0'].includes(l)) return false;
      throw valueError(`bool: cannot parse ${JSON.stringify(v)} as a boolean`);
    }
    throw typeError(`bool: cannot convert ${typeName(v ?? null)} to a boolean`);
  }),

  'map.get': f(['map', 'keys'], 2, ([m, k]) =>
    m === null ? null : mapGet(map(m, 'map.get', 'map'), k ?? null),
  ),
  'map.delete': f(['map', 'key'], 2, ([m, k]) => {
    const out = clone(map(m, 'map.delete', 'map')) as MapValue;
    delete out[str(k, 'map.delete', 'key')];
    return out;
  }),
  'map.merge': f(['first', 'second'], 2, ([a, b]) => ({
    ...(clone(map(a, 'map.merge', 'first')) as MapValue),
    ...(clone(map(b, 'map.merge', 'second')) as MapValue),
  })),
  'map.merge_nested': f(['first', 'second'], 2, ([a, b]) =>
    mergeNested(map(a, 'map.merge_nested', 'first'), map(b, 'map.merge_nested', 'second')),
  ),

  'list.concat': f(['objs', 'val'], 2, ([l, v]) => [...list(l, 'list.concat', 'objs'), v ?? null]),
  'list.prepend': f(['objs', 'val'], 2, ([l, v]) => [v ?? null, ...list(l, 'list.prepend', 'objs')]),

  'math.abs': f(['x'], 1, ([x]) => Math.abs(num(x, 'math.abs', 'x'))),
  'math.floor': f(['x'], 1, ([x]) => Math.floor(num(x, 'math.floor', 'x'))),
  'math.max': f(['x', 'y'], 2, ([x, y]) => Math.max(num(x, 'math.max', 'x'), num(y, 'math.max', 'y'))),
  'math.min': f(['x', 'y'], 2, ([x, y]) => Math.min(num(x, 'math.min', 'x'), num(y, 'math.min', 'y'))),

  'text.find_all': f(['source', 'substr'], 2, ([s, sub]) => {
    const src = str(s, 'text.find_all', 'source');
    const needle = str(sub, 'text.find_all', 'substr');
    const out: Value[] = [];
    if (needle === '') return out;
    for (let i = src.indexOf(needle); i >= 0; i = src.indexOf(needle, i + needle.length))
      out.push({ index: i, match: needle });
    return out;
  }),
  'text.find_all_regex': f(['source', 'regexp'], 2, ([s, r]) => {
    const src = str(s, 'text.find_all_regex', 'source');
    return [...src.matchAll(regex(r, 'text.find_all_regex'))].map((m) => ({ index: m.index, match: m[0] }));
  }),
  'text.match_regex': f(['source', 'regexp'], 2, ([s, r]) => {
    const re = regex(r, 'text.match_regex');
    return re.test(str(s, 'text.match_regex', 'source'));
  }),
  'text.replace_all': f(['source', 'substr', 'repl'], 3, ([s, a, b]) =>
    str(s, 'text.replace_all', 'source')
      .split(str(a, 'text.replace_all', 'substr'))
      .join(str(b, 'text.replace_all', 'repl')),
  ),
  'text.replace_all_regex': f(['source', 'regexp', 'repl'], 3, ([s, r, b]) =>
    str(s, 'text.replace_all_regex', 'source').replace(
      regex(r, 'text.replace_all_regex'),
      // RE2-style group references (\1) become JS ones ($1).
      str(b, 'text.replace_all_regex', 'repl')
        .replace(/\$/g, '$$$$')
        .replace(/\\(\d)/g, '$$$1'),
    ),
  ),
  'text.split': f(['source', 'separator'], 2, ([s, sep]) =>
    str(s, 'text.split', 'source').split(str(sep, 'text.split', 'separator')),
  ),
  'text.substring': f(['source', 'start', 'end'], 3, ([s, a, b]) => {
    const chars = [...str(s, 'text.substring', 'source')];
    const start = Math.max(0, int(a, 'text.substring', 'start'));
    const end = Math.min(chars.length, int(b, 'text.substring', 'end'));
    return start >= end ? '' : chars.slice(start, end).join('');
  }),
  'text.to_lower': f(['source'], 1, ([s]) => str(s, 'text.to_lower', 'source').toLowerCase()),
  'text.to_upper': f(['source'], 1, ([s]) => str(s, 'text.to_upper', 'source').toUpperCase()),
  'text.encode': f(['text', 'charset'], 1, ([s, cs]) => {
    if (cs !== undefined && cs !== null && !/^utf-?8$/i.test(str(cs, 'text.encode', 'charset')))
      throw valueError(`text.encode: only UTF-8 is supported, got ${String(cs)}`);
    return new Bytes(new TextEncoder().encode(str(s, 'text.encode', 'text')));
  }),
  'text.decode': f(['data', 'charset'], 1, ([d, cs]) => {
    if (cs !== undefined && cs !== null && !/^utf-?8$/i.test(str(cs, 'text.decode', 'charset')))
      throw valueError(`text.decode: only UTF-8 is supported, got ${String(cs)}`);
    try {
      return new TextDecoder('utf-8', { fatal: true }).decode(bytes(d, 'text.decode', 'data'));
    } catch (e) {
      if (e instanceof WorkflowsError) throw e;
      throw valueError('text.decode: the data is not valid UTF-8');
    }
  }),
  'text.url_encode': f(['source'], 1, ([s]) => urlEncode(str(s, 'text.url_encode', 'source'), false)),
  'text.url_encode_plus': f(['source'], 1, ([s]) =>
    urlEncode(str(s, 'text.url_encode_plus', 'source'), true),
  ),
  'text.url_decode': f(['source'], 1, ([s]) => {
    try {
      return decodeURIComponent(str(s, 'text.url_decode', 'source').replace(/\+/g, ' '));
    } catch {
      throw valueError('text.url_decode: malformed percent-encoding');
    }
  }),

  'json.encode': f(
    ['data', 'indent'],
    1,
    ([d, ind]) => new Bytes(new TextEncoder().encode(jsonText(d ?? null, ind))),
  ),
  'json.encode_to_string': f(['data', 'indent'], 1, ([d, ind]) => jsonText(d ?? null, ind)),
  'json.decode': f(['data'], 1, ([d]) => {
    const text = d instanceof Bytes ? new TextDecoder().decode(d.data) : str(d, 'json.decode', 'data');
    try {
      return fromJson(JSON.parse(text));
    } catch (e) {
      throw valueError(`json.decode: invalid JSON: ${(e as Error).message}`);
    }
  }),

  'base64.encode': f(['data', 'padding'], 1, ([d, p]) => {
    const out = Buffer.from(bytes(d, 'base64.encode', 'data')).toString('base64');
    return p === false ? out.replace(/=+$/, '') : out;
  }),
  'base64.decode': f(['data', 'padding'], 1, ([d]) => {
    const s = str(d, 'base64.decode', 'data');
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(s)) throw valueError('base64.decode: the data is not valid base64');
    return new Bytes(new Uint8Array(Buffer.from(s, 'base64')));
  }),

  'time.format': f(['seconds', 'timezone'], 1, ([s]) => formatTime(num(s, 'time.format', 'seconds'))),
  'time.parse': f(['value'], 1, ([v]) => {
    const s = str(v, 'time.parse', 'value');
    if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/.test(s))
      throw valueError(`time.parse: ${JSON.stringify(s)} is not an RFC 3339 timestamp`);
    const frac = /\.(\d+)/.exec(s)?.[1] ?? '';
    const whole = Date.parse(s.replace(/\.\d+/, ''));
    if (Number.isNaN(whole)) throw valueError(`time.parse: ${JSON.stringify(s)} is not a valid time`);
    return whole / 1000 + (frac ? Number(`0.${frac}`) : 0);
  }),

  'uuid.generate': f([], 0, (_a, rt) => (rt.ports.uuid ?? randomUUID)()),

  'retry.always': f(['exception'], 1, () => true),
  'retry.never': f(['exception'], 1, () => false),
  'http.default_retry_predicate': f(['exception'], 1, ([e]) => defaultRetryPredicate(e)),
  'http.default_retry_predicate_non_idempotent': f(['exception'], 1, ([e]) => nonIdempotentRetryPredicate(e)),

  'sys.now': f([], 0, (_a, rt) => rt.ports.clock.now() / 1000),
  'sys.get_env': f(['name', 'default'], 1, ([n, d], rt) => {
    const name = str(n, 'sys.get_env', 'name');
    const id = rt.identity;
    const builtin: Record<string, string> = {
      GOOGLE_CLOUD_PROJECT_ID: id.project,
      GOOGLE_CLOUD_PROJECT_NUMBER: id.projectNumber,
      GOOGLE_CLOUD_LOCATION: id.location,
      GOOGLE_CLOUD_WORKFLOW_ID: id.workflow,
      GOOGLE_CLOUD_WORKFLOW_REVISION_ID: id.revision,
      GOOGLE_CLOUD_WORKFLOW_EXECUTION_ID: id.execution,
    };
    const v = builtin[name] ?? rt.ports.env?.[name];
    return v ?? d ?? null;
  }),
  'sys.log': f(['data', 'severity', 'text', 'json', 'timeout'], 0, ([data, sev, text, json], rt) => {
    const entry: Parameters<NonNullable<WorkflowPorts['log']>>[0] = {
      severity: typeof sev === 'string' ? sev : 'DEFAULT',
      time: new Date(rt.ports.clock.now()).toISOString(),
      execution: executionName(rt.identity),
      step: rt.step,
    };
    if (text !== undefined && text !== null)
      entry.text = typeof text === 'string' ? text : safeStringify(text);
    else if (json !== undefined && json !== null) entry.json = toJson(json);
    else if (data !== undefined && data !== null)
      if (typeof data === 'string') entry.text = data;
      else entry.json = toJson(data);
    rt.ports.log?.(entry);
    return null;
  }),
  'sys.sleep': f(
    ['seconds'],
    1,
    async ([s], rt) => {
      const secs = num(s, 'sys.sleep', 'seconds');
      if (secs < 0) throw valueError(`sys.sleep: seconds must not be negative, got ${secs}`);
      await rt.sleep(secs * 1000);
      return null;
    },
    true,
  ),
  'sys.sleep_until': f(
    ['time'],
    1,
    async ([t], rt) => {
      const target = Date.parse(str(t, 'sys.sleep_until', 'time'));
      if (Number.isNaN(target)) throw valueError(`sys.sleep_until: ${JSON.stringify(t)} is not a timestamp`);
      await rt.sleep(Math.max(0, target - rt.ports.clock.now()));
      return null;
    },
    true,
  ),

  'http.get': httpFn('GET'),
  'http.post': httpFn('POST'),
  'http.put': httpFn('PUT'),
  'http.patch': httpFn('PATCH'),
  'http.delete': httpFn('DELETE'),
  'http.request': httpFn(undefined),

  'events.create_callback_endpoint': f(['http_callback_method'], 0, ([m], rt) => {
    const method =
      m === undefined || m === null
        ? 'POST'
        : str(m, 'events.create_callback_endpoint', 'http_callback_method');
    if (!['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'OPTIONS', 'PATCH'].includes(method.toUpperCase()))
      throw valueError(
        `events.create_callback_endpoint: unsupported http_callback_method ${JSON.stringify(method)}`,
      );
    if (!rt.ports.callbacks) throw tagged('SystemError', 'callbacks are not available in this runner');
    return { url: rt.ports.callbacks.create(executionName(rt.identity), method.toUpperCase()).url };
  }),
  'events.await_callback': f(
    ['callback', 'timeout'],
    1,
    async ([cb, t], rt) => {
      const url = map(cb, 'events.await_callback', 'callback').url;
      if (typeof url !== 'string')
        throw keyError(
          'events.await_callback: callback has no "url" (pass the result of events.create_callback_endpoint)',
        );
      const timeout = t === undefined || t === null ? 43_200 : num(t, 'events.await_callback', 'timeout');
      if (timeout < 0)
        throw valueError(`events.await_callback: timeout must not be negative, got ${timeout}`);
      if (!rt.ports.callbacks) throw tagged('SystemError', 'callbacks are not available in this runner');
      // Google bills a step that waits for a callback as external (pricing: "wait for HTTP callbacks").
      rt.markExternal();
      return fromJson(await rt.ports.callbacks.await(url, timeout * 1000, rt.signal));
    },
    true,
  ),
};

function jsonText(d: Value, indent: Value | undefined): string {
  if (indent === undefined || indent === null || indent === false) return safeStringify(d);
  if (typeof indent === 'number') return safeStringify(d, indent);
  if (isMap(indent)) {
    const prefix = typeof indent.prefix === 'string' ? indent.prefix : '';
    const ind = typeof indent.indent === 'string' ? indent.indent : '  ';
    return safeStringify(d, ind.length)
      .split('\n')
      .map((l) => prefix + l)
      .join('\n');
  }
  return safeStringify(d, 2);
}

/** Whether `name` is a library function or module prefix (for resolving `${http.default_retry}`). */
export function isLibraryName(name: string): boolean {
  if (name in LIBRARY || name in CONSTANTS) return true;
  const prefix = `${name}.`;
  return Object.keys(LIBRARY).some((k) => k.startsWith(prefix));
}
