/**
 * The Workflows `http.*` library functions: `http.get` ... `http.request` through the execution's
 * HTTP port (auth, timeout, the cloud's error tags and `HttpError` for a non-2xx answer), and the
 * default retry predicates `http.default_retry` names. Kept apart from the rest of the library as
 * the one part that leaves the interpreter.
 */
import { HttpTransportError } from './ports.ts';
import type { CallRuntime, LibFunction } from './stdlib.ts';
import { map, num, str, toStr } from './stdlib-args.ts';
import {
  Bytes,
  fromJson,
  isMap,
  type MapValue,
  safeStringify,
  tagged,
  toJson,
  type Value,
  valueError,
  WorkflowsError,
} from './values.ts';

export function httpFn(method: string | undefined): LibFunction {
  const params = method
    ? ['url', 'headers', 'body', 'query', 'auth', 'timeout', 'private_service_name']
    : ['method', 'url', 'headers', 'body', 'query', 'auth', 'timeout', 'private_service_name'];
  return {
    params,
    required: method ? 1 : 2,
    blocking: true,
    fn: async (args, rt) => {
      const a = Object.fromEntries(params.map((p, i) => [p, args[i]])) as Record<string, Value | undefined>;
      const verb = method ?? str(a.method, 'http.request', 'method').toUpperCase();
      return httpCall(verb, a, rt);
    },
  };
}

async function httpCall(
  method: string,
  a: Record<string, Value | undefined>,
  rt: CallRuntime,
): Promise<Value> {
  const fn = `http.${method.toLowerCase()}`;
  const url = new URL(
    (() => {
      const u = str(a.url, fn, 'url');
      try {
        return new URL(u).toString();
      } catch {
        throw valueError(`${fn}: invalid url ${JSON.stringify(u)}`);
      }
    })(),
  );
  if (a.query !== undefined && a.query !== null) {
    for (const [k, v] of Object.entries(map(a.query, fn, 'query'))) {
      for (const x of Array.isArray(v) ? v : [v]) url.searchParams.append(k, toStr(x));
    }
  }
  const headers: Record<string, string> = {};
  if (a.headers !== undefined && a.headers !== null)
    for (const [k, v] of Object.entries(map(a.headers, fn, 'headers'))) headers[k] = toStr(v);
  const contentTypeKey = Object.keys(headers).find((k) => k.toLowerCase() === 'content-type');
  let body: Uint8Array | undefined;
  if (a.body !== undefined && a.body !== null) {
    const ct = contentTypeKey ? (headers[contentTypeKey] as string).toLowerCase() : undefined;
    if (a.body instanceof Bytes) body = a.body.data;
    else if (ct?.startsWith('application/x-www-form-urlencoded') && isMap(a.body)) {
      const form = new URLSearchParams();
      for (const [k, v] of Object.entries(a.body)) form.append(k, toStr(v));
      body = new TextEncoder().encode(form.toString());
    } else if (ct?.startsWith('text/') && typeof a.body === 'string') body = new TextEncoder().encode(a.body);
    else {
      body = new TextEncoder().encode(safeStringify(a.body));
      if (!contentTypeKey) headers['Content-Type'] = 'application/json';
    }
  }
  const auth = a.auth;
  if (auth !== undefined && auth !== null) {
    const am = map(auth, fn, 'auth');
    const type = am.type;
    const tokens = rt.ports.tokens;
    try {
      if (type === 'OAuth2') {
        if (!tokens) throw new Error('no token provider is configured for OAuth2');
        const scopes =
          am.scopes === undefined || am.scopes === null
            ? ['https://www.googleapis.com/auth/cloud-platform']
            : Array.isArray(am.scopes)
              ? am.scopes.map((s) => toStr(s))
              : toStr(am.scopes)
                  .split(/[\s,]+/)
                  .filter(Boolean);
        headers.Authorization = `Bearer ${await tokens.accessToken(scopes)}`;
      } else if (type === 'OIDC') {
        if (!tokens) throw new Error('no token provider is configured for OIDC');
        const audience = typeof am.audience === 'string' ? am.audience : `${url.origin}${url.pathname}`;
        headers.Authorization = `Bearer ${await tokens.idToken(audience)}`;
      } else
        throw valueError(
          `${fn}: auth.type must be OAuth2 or OIDC, got ${JSON.stringify(toJson(type ?? null))}`,
        );
    } catch (e) {
      if (e instanceof WorkflowsError) throw e;
      throw tagged('AuthError', `${fn}: could not get credentials: ${(e as Error).message}`);
    }
  }
  const timeoutS = a.timeout === undefined || a.timeout === null ? 300 : num(a.timeout, fn, 'timeout');
  if (timeoutS <= 0 || timeoutS > 1800)
    throw valueError(`${fn}: timeout must be in (0, 1800] seconds, got ${timeoutS}`);
  const urlText = url.toString();
  if (!(rt.ports.isInternalUrl ?? (() => false))(urlText)) rt.markExternal();
  const port = rt.ports.http;
  if (!port) throw tagged('ConnectionFailedError', `${fn}: no HTTP access is configured`);
  let res: Awaited<ReturnType<typeof port>>;
  try {
    res = await port({
      method,
      url: urlText,
      headers,
      ...(body ? { body } : {}),
      timeoutMs: timeoutS * 1000,
    });
  } catch (e) {
    if (e instanceof HttpTransportError) {
      if (e.kind === 'timeout') throw tagged('TimeoutError', e.message);
      if (e.kind === 'connection-failed') throw tagged('ConnectionFailedError', e.message);
      throw tagged('ConnectionError', e.message);
    }
    throw tagged('ConnectionError', `${fn} ${urlText}: ${(e as Error).message}`);
  }
  const respHeaders: MapValue = {};
  for (const [k, v] of Object.entries(res.headers)) respHeaders[k] = v;
  const ctype = (
    Object.entries(res.headers).find(([k]) => k.toLowerCase() === 'content-type')?.[1] ?? ''
  ).toLowerCase();
  let respBody: Value;
  const text = () => new TextDecoder().decode(res.body);
  if (res.body.byteLength === 0) respBody = null;
  else if (/^application\/([\w.+-]+\+)?json/.test(ctype)) {
    try {
      respBody = fromJson(JSON.parse(text()));
    } catch {
      respBody = text();
    }
  } else if (ctype.startsWith('text/') || ctype === '') respBody = text();
  else respBody = new Bytes(res.body);
  if (res.status >= 400)
    throw new WorkflowsError({
      message: `HTTP server responded with error code ${res.status}`,
      code: res.status,
      headers: respHeaders,
      body: respBody,
      tags: ['HttpError'],
    });
  return { body: respBody, code: res.status, headers: respHeaders };
}

function httpStatusOf(e: Value | undefined): number | undefined {
  if (isMap(e ?? null) && typeof (e as MapValue).code === 'number') return (e as MapValue).code as number;
  return undefined;
}
function tagsOf(e: Value | undefined): string[] {
  if (isMap(e ?? null) && Array.isArray((e as MapValue).tags))
    return ((e as MapValue).tags as Value[]).filter((t): t is string => typeof t === 'string');
  return [];
}

/** `${http.default_retry_predicate}`: 429, 502, 503, 504, ConnectionError, ConnectionFailedError, TimeoutError; not 500. */
export function defaultRetryPredicate(e: Value | undefined): boolean {
  const tags = tagsOf(e);
  if (tags.some((t) => ['ConnectionError', 'ConnectionFailedError', 'TimeoutError'].includes(t))) return true;
  return tags.includes('HttpError') && [429, 502, 503, 504].includes(httpStatusOf(e) ?? 0);
}

/** `${http.default_retry_predicate_non_idempotent}`: 429, 503 and ConnectionFailedError only. */
export function nonIdempotentRetryPredicate(e: Value | undefined): boolean {
  const tags = tagsOf(e);
  if (tags.includes('ConnectionFailedError')) return true;
  return tags.includes('HttpError') && [429, 503].includes(httpStatusOf(e) ?? 0);
}
