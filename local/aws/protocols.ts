/**
 * Parsing requests and serializing responses and errors for each AWS wire protocol. Handlers see
 * plain objects; this file is the only place that knows JSON vs XML vs CBOR.
 */
import { cbor, dateToTag } from '@smithy/core/cbor';
import { AwsError } from './errors.ts';
import type { Protocol } from './service.ts';

export interface WireResponse {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
}

/** Marks a string as ready-made XML to put inside the result element unchanged. */
export class RawXml {
  readonly xml: string;
  constructor(xml: string) {
    this.xml = xml;
  }
}

/**
 * A handler's escape hatch: answer with exactly this status, headers and body, whatever the
 * protocol (e.g. a module that proxies to dynalite and returns its answer unchanged).
 */
export class RawResponse {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: Buffer;
  constructor(status: number, headers: Record<string, string>, body: Buffer | string) {
    this.status = status;
    this.headers = headers;
    this.body = typeof body === 'string' ? Buffer.from(body) : body;
  }
}

const serialization = (message: string) => new AwsError('SerializationException', message, { status: 400 });

// ---------- input ----------

/** Parses the body (and for query protocols the URL query) into the handler's input object. */
export function parseInput(
  protocol: Protocol,
  body: Buffer,
  query: URLSearchParams,
  contentType: string,
): unknown {
  switch (protocol) {
    case 'json1.0':
    case 'json1.1': {
      if (body.length === 0) return {};
      try {
        const v = JSON.parse(body.toString('utf8'));
        if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new Error('not an object');
        return v;
      } catch {
        throw serialization('Start of structure or map found where not expected.');
      }
    }
    case 'rpcv2-cbor': {
      if (body.length === 0) return {};
      try {
        return normalizeCbor(cbor.deserialize(new Uint8Array(body)));
      } catch {
        throw serialization('The request body is not valid CBOR.');
      }
    }
    case 'rest-json':
    case 'rest-xml': {
      const text = body.toString('utf8');
      let parsed: unknown = text;
      if (text.length > 0 && contentType.includes('json')) {
        try {
          parsed = JSON.parse(text);
        } catch {
          throw serialization('The request body is not valid JSON.');
        }
      }
      const q: Record<string, string | string[]> = {};
      for (const key of new Set(query.keys())) {
        const all = query.getAll(key);
        q[key] = all.length === 1 ? (all[0] as string) : all;
      }
      return { path: {}, query: q, headers: {}, body: parsed };
    }
    case 'query':
    case 'ec2-query': {
      const params = new URLSearchParams(query);
      if (contentType.includes('x-www-form-urlencoded')) {
        for (const [k, v] of new URLSearchParams(body.toString('utf8'))) params.append(k, v);
      }
      return queryTree(params, protocol === 'query');
    }
  }
}

function normalizeCbor(v: unknown): unknown {
  if (v instanceof Date) return v;
  // Timestamps arrive as tag 1 (epoch seconds); the decoder leaves them as {tag, value}.
  if (v && typeof v === 'object' && (v as { tag?: unknown }).tag === 1) {
    const seconds = (v as { value?: unknown }).value;
    if (typeof seconds === 'number') return new Date(seconds * 1000);
  }
  if (Array.isArray(v)) return v.map(normalizeCbor);
  if (v && typeof v === 'object' && !(v instanceof Uint8Array)) {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) out[k] = normalizeCbor(x);
    return out;
  }
  return v;
}

const AUTH_PARAMS = /^(Action|Version|X-Amz-[A-Za-z-]+)$/;

/**
 * Turns flattened query parameters into a tree: `Filter.1.Name=a&Filter.1.Value.1=b` becomes
 * `{Filter: [{Name: 'a', Value: ['b']}]}`. Objects whose keys are all positive integers become
 * arrays (in index order). In awsQuery the list wrapper `member` (`Tags.member.1.Key`) and map
 * `entry` levels are removed too, so both protocols give handlers the same shape.
 */
export function queryTree(params: URLSearchParams, unwrapMembers: boolean): Record<string, unknown> {
  const root: Record<string, unknown> = {};
  for (const [key, value] of params) {
    if (AUTH_PARAMS.test(key)) continue;
    const path = key.split('.');
    let node = root;
    path.forEach((seg, i) => {
      if (i === path.length - 1) node[seg] = value;
      else {
        const child = node[seg];
        if (child === undefined || typeof child !== 'object') node[seg] = {};
        node = node[seg] as Record<string, unknown>;
      }
    });
  }
  return arrayify(root, unwrapMembers) as Record<string, unknown>;
}

function arrayify(node: unknown, unwrap: boolean): unknown {
  if (node === null || typeof node !== 'object') return node;
  let obj = node as Record<string, unknown>;
  const keys = Object.keys(obj);
  if (unwrap && keys.length === 1 && (keys[0] === 'member' || keys[0] === 'entry')) {
    obj = obj[keys[0]] as Record<string, unknown>;
    if (obj === null || typeof obj !== 'object') return obj;
  }
  const ks = Object.keys(obj);
  if (ks.length > 0 && ks.every((k) => /^[1-9]\d*$/.test(k))) {
    return ks
      .map(Number)
      .sort((a, b) => a - b)
      .map((k) => arrayify(obj[String(k)], unwrap));
  }
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(obj)) out[k] = arrayify(v, unwrap);
  return out;
}

// ---------- output ----------

/** Dates as epoch seconds. JSON.stringify calls Date#toJSON before a replacer sees the value, so read the holder. */
function jsonReplacer(this: unknown, key: string, value: unknown): unknown {
  const original = (this as Record<string, unknown>)[key];
  return original instanceof Date ? original.getTime() / 1000 : value;
}

function xmlEscape(s: string): string {
  return s.replace(
    /[<>&'"]/g,
    (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&apos;', '"': '&quot;' })[c] ?? c,
  );
}

/** Objects become child elements, arrays become repeated `<item>` (EC2) / `<member>` (query). */
export function toXml(value: unknown, listItem: string): string {
  if (value === undefined || value === null) return '';
  if (value instanceof RawXml) return value.xml;
  if (value instanceof Date) return value.toISOString();
  if (Array.isArray(value))
    return value.map((v) => `<${listItem}>${toXml(v, listItem)}</${listItem}>`).join('');
  if (typeof value === 'object') {
    return Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined && v !== null)
      .map(([k, v]) => `<${k}>${toXml(v, listItem)}</${k}>`)
      .join('');
  }
  return xmlEscape(String(value));
}

export interface SerializeOptions {
  protocol: Protocol;
  operation: string;
  requestId: string;
  xmlNamespace?: string;
}

export function serializeOutput(output: unknown, o: SerializeOptions): WireResponse {
  const base = { 'x-amzn-requestid': o.requestId, 'x-amz-request-id': o.requestId };
  switch (o.protocol) {
    case 'json1.0':
    case 'json1.1':
      return {
        status: 200,
        headers: { ...base, 'content-type': `application/x-amz-json-${o.protocol.slice(4)}` },
        body: Buffer.from(JSON.stringify(output ?? {}, jsonReplacer)),
      };
    case 'rest-json':
      return {
        status: 200,
        headers: { ...base, 'content-type': 'application/json' },
        body: Buffer.from(JSON.stringify(output ?? {}, jsonReplacer)),
      };
    case 'rest-xml':
      return {
        status: 200,
        headers: { ...base, 'content-type': 'application/xml' },
        body: Buffer.from(`<?xml version="1.0" encoding="UTF-8"?>\n${toXml(output ?? {}, 'member')}`),
      };
    case 'rpcv2-cbor':
      return {
        status: 200,
        headers: { ...base, 'content-type': 'application/cbor', 'smithy-protocol': 'rpc-v2-cbor' },
        body: Buffer.from(cbor.serialize(toCborValue(output ?? {}))),
      };
    case 'query': {
      const ns = o.xmlNamespace ? ` xmlns="${o.xmlNamespace}"` : '';
      const xml =
        `<?xml version="1.0" encoding="UTF-8"?>\n<${o.operation}Response${ns}>` +
        `<${o.operation}Result>${toXml(output, 'member')}</${o.operation}Result>` +
        `<ResponseMetadata><RequestId>${o.requestId}</RequestId></ResponseMetadata></${o.operation}Response>`;
      return { status: 200, headers: { ...base, 'content-type': 'text/xml' }, body: Buffer.from(xml) };
    }
    case 'ec2-query': {
      const ns = ` xmlns="${o.xmlNamespace ?? 'http://ec2.amazonaws.com/doc/2016-11-15/'}"`;
      const xml =
        `<?xml version="1.0" encoding="UTF-8"?>\n<${o.operation}Response${ns}>` +
        `<requestId>${o.requestId}</requestId>${toXml(output, 'item')}</${o.operation}Response>`;
      return {
        status: 200,
        headers: { ...base, 'content-type': 'text/xml;charset=UTF-8' },
        body: Buffer.from(xml),
      };
    }
  }
}

function toCborValue(v: unknown): unknown {
  if (v instanceof Date) return dateToTag(v);
  if (Array.isArray(v)) return v.map(toCborValue);
  if (v && typeof v === 'object' && !(v instanceof Uint8Array)) {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) if (x !== undefined) out[k] = toCborValue(x);
    return out;
  }
  return v;
}

export function serializeError(
  err: AwsError,
  o: { protocol: Protocol; requestId: string; errorNamespace?: string; xmlNamespace?: string },
): WireResponse {
  const base = { 'x-amzn-requestid': o.requestId, 'x-amz-request-id': o.requestId, ...err.headers };
  switch (o.protocol) {
    case 'json1.0':
    case 'json1.1':
      return {
        status: err.status,
        headers: {
          ...base,
          'content-type': `application/x-amz-json-${o.protocol.slice(4)}`,
          'x-amzn-errortype': err.code,
        },
        body: Buffer.from(
          JSON.stringify({ __type: err.code, message: err.message, ...err.fields }, jsonReplacer),
        ),
      };
    case 'rest-json':
      return {
        status: err.status,
        headers: { ...base, 'content-type': 'application/json', 'x-amzn-errortype': err.code },
        body: Buffer.from(JSON.stringify({ message: err.message, ...err.fields }, jsonReplacer)),
      };
    case 'rest-xml':
      // S3's error document (a HEAD answers the status alone).
      return {
        status: err.status,
        headers: { ...base, 'content-type': 'application/xml' },
        body: Buffer.from(
          `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${xmlEscape(err.code)}</Code>` +
            `<Message>${xmlEscape(err.message)}</Message>${toXml(err.fields, 'member')}` +
            `<RequestId>${o.requestId}</RequestId></Error>`,
        ),
      };
    case 'rpcv2-cbor':
      return {
        status: err.status,
        headers: { ...base, 'content-type': 'application/cbor', 'smithy-protocol': 'rpc-v2-cbor' },
        body: Buffer.from(
          cbor.serialize(
            toCborValue({
              __type: o.errorNamespace ? `${o.errorNamespace}#${err.code}` : err.code,
              message: err.message,
              ...err.fields,
            }),
          ),
        ),
      };
    case 'query': {
      const ns = o.xmlNamespace ? ` xmlns="${o.xmlNamespace}"` : '';
      const xml =
        `<?xml version="1.0" encoding="UTF-8"?>\n<ErrorResponse${ns}><Error><Type>${err.fault === 'server' ? 'Receiver' : 'Sender'}</Type>` +
        `<Code>${xmlEscape(err.code)}</Code><Message>${xmlEscape(err.message)}</Message>${toXml(err.fields, 'member')}</Error>` +
        `<RequestId>${o.requestId}</RequestId></ErrorResponse>`;
      return { status: err.status, headers: { ...base, 'content-type': 'text/xml' }, body: Buffer.from(xml) };
    }
    case 'ec2-query': {
      const xml =
        `<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error><Code>${xmlEscape(err.code)}</Code>` +
        `<Message>${xmlEscape(err.message)}</Message></Error></Errors><RequestID>${o.requestId}</RequestID></Response>`;
      return {
        status: err.status,
        headers: { ...base, 'content-type': 'text/xml;charset=UTF-8' },
        body: Buffer.from(xml),
      };
    }
  }
}

/** Default throttling / server error shapes per protocol family, when a module declares none. */
export function defaultErrorShapes(protocol: Protocol) {
  if (protocol === 'ec2-query') {
    return {
      throttling: { code: 'RequestLimitExceeded', status: 503 },
      server: { code: 'InternalError', status: 500 },
    };
  }
  if (protocol === 'query') {
    return {
      throttling: { code: 'Throttling', status: 400 },
      server: { code: 'InternalFailure', status: 500 },
    };
  }
  return {
    throttling: { code: 'ThrottlingException', status: 400 },
    server: { code: 'InternalFailure', status: 500 },
  };
}
