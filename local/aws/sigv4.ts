/**
 * SigV4 verification: the edge recomputes the signature from the request as received and the
 * caller's secret, exactly as AWS does, so a client that signs wrongly fails here as it would in
 * the cloud. Header and presigned-query forms are both accepted.
 *
 * Signature time is checked against two clocks: clients outside the local cloud (tests, the CLI)
 * sign with the machine's wall time, the functions inside it with the virtual time their `Date`
 * follows (local/virtual-date.ts). A signature current at either instant is current; the callers
 * pass both.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { AuthFailure } from './errors.ts';

export interface SignedRequest {
  method: string;
  /** Path as sent on the wire (still percent-encoded), without the query string. */
  path: string;
  /** Raw query string without `?` ('' when none). */
  query: string;
  /** Lower-cased header names; repeated headers joined with ','. */
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

export interface ParsedAuth {
  accessKeyId: string;
  date: string;
  region: string;
  service: string;
  signedHeaders: string[];
  signature: string;
  amzDate: string;
  sessionToken: string | undefined;
  presigned: boolean;
  expiresSeconds: number | undefined;
}

export class AuthRefusal extends Error {
  readonly failure: AuthFailure;
  constructor(failure: AuthFailure, message: string) {
    super(message);
    this.failure = failure;
  }
}

const MAX_SKEW_MS = 15 * 60_000;
const MAX_PRESIGN_EXPIRES_S = 604_800;

/** What a service accepts beyond the default (see `AwsService.unsignedPayload`). */
export interface VerifyOptions {
  /** `UNSIGNED-PAYLOAD` as the payload hash (S3, Lambda function URLs); false: the body is signed. */
  unsignedPayload?: boolean;
}

function header(req: SignedRequest, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v.join(',') : v;
}

/** RFC 3986 encoding as SigV4 wants it (unreserved characters kept, everything else %XX upper). */
export function rfc3986(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s.replace(/\+/g, '%20'));
  } catch {
    return s;
  }
}

/** Extracts the signing parameters, or says why they are missing / malformed. Does not verify. */
export function parseAuth(req: SignedRequest): ParsedAuth {
  const params = new URLSearchParams(req.query);
  const authz = header(req, 'authorization');
  let credential: string;
  let signedHeaders: string;
  let signature: string;
  let amzDate: string | undefined;
  let presigned = false;
  let expiresSeconds: number | undefined;
  if (authz) {
    const m = /^AWS4-HMAC-SHA256\s+(.*)$/s.exec(authz.trim());
    if (!m) throw new AuthRefusal('malformed', `Authorization header requires the AWS4-HMAC-SHA256 scheme.`);
    const parts = new Map<string, string>();
    for (const piece of (m[1] ?? '').split(',')) {
      const eq = piece.indexOf('=');
      if (eq > 0) parts.set(piece.slice(0, eq).trim(), piece.slice(eq + 1).trim());
    }
    const missing = ['Credential', 'SignedHeaders', 'Signature'].filter((k) => !parts.get(k));
    if (missing.length > 0) {
      throw new AuthRefusal(
        'malformed',
        `Authorization header requires ${missing.map((k) => `'${k}'`).join(', ')} parameter(s). Authorization=${authz}`,
      );
    }
    credential = parts.get('Credential') as string;
    signedHeaders = parts.get('SignedHeaders') as string;
    signature = parts.get('Signature') as string;
    amzDate = header(req, 'x-amz-date');
  } else if (params.has('X-Amz-Signature') || params.has('X-Amz-Credential')) {
    presigned = true;
    if (params.get('X-Amz-Algorithm') !== 'AWS4-HMAC-SHA256') {
      throw new AuthRefusal('malformed', 'X-Amz-Algorithm must be AWS4-HMAC-SHA256.');
    }
    credential = params.get('X-Amz-Credential') ?? '';
    signedHeaders = params.get('X-Amz-SignedHeaders') ?? '';
    signature = params.get('X-Amz-Signature') ?? '';
    amzDate = params.get('X-Amz-Date') ?? undefined;
    if (!credential || !signedHeaders || !signature) {
      throw new AuthRefusal(
        'malformed',
        'presigned request is missing X-Amz-Credential, -SignedHeaders or -Signature.',
      );
    }
    // AWS: X-Amz-Expires is required, an integer number of seconds from 1 to 604800 (7 days).
    const exp = params.get('X-Amz-Expires');
    if (exp === null) {
      throw new AuthRefusal(
        'query-parameters',
        'Query-string authentication requires the X-Amz-Expires parameter',
      );
    }
    if (!/^[0-9]+$/.test(exp) || Number(exp) < 1) {
      throw new AuthRefusal('query-parameters', 'X-Amz-Expires should be a number');
    }
    expiresSeconds = Number(exp);
    if (expiresSeconds > MAX_PRESIGN_EXPIRES_S) {
      throw new AuthRefusal(
        'query-parameters',
        `X-Amz-Expires must be less than a week (in seconds) that is 604800`,
      );
    }
  } else {
    throw new AuthRefusal('missing', 'Missing Authentication Token');
  }
  const scope = credential.split('/');
  if (scope.length !== 5 || scope[4] !== 'aws4_request' || scope.some((s) => s.length === 0)) {
    throw new AuthRefusal(
      'malformed',
      `Credential should be scoped to a valid region, service and aws4_request terminator. Credential=${credential}`,
    );
  }
  const [accessKeyId, date, region, service] = scope as [string, string, string, string];
  if (!amzDate || !/^\d{8}T\d{6}Z$/.test(amzDate)) {
    throw new AuthRefusal('malformed', 'Authorization requires an X-Amz-Date in ISO 8601 basic format.');
  }
  if (!amzDate.startsWith(date)) {
    throw new AuthRefusal(
      'bad-signature',
      `Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '${date}' != '${amzDate.slice(0, 8)}'`,
    );
  }
  if (!/^[0-9a-f]{64}$/.test(signature)) {
    throw new AuthRefusal('malformed', 'Signature must be 64 lower-case hexadecimal characters.');
  }
  const names = signedHeaders.split(';');
  if (!names.includes('host')) throw new AuthRefusal('malformed', "'Host' must be a signed header.");
  return {
    accessKeyId,
    date,
    region,
    service,
    signedHeaders: names,
    signature,
    amzDate,
    sessionToken: presigned
      ? (params.get('X-Amz-Security-Token') ?? undefined)
      : header(req, 'x-amz-security-token'),
    presigned,
    expiresSeconds,
  };
}

function canonicalPath(path: string): string {
  const segments: string[] = [];
  for (const seg of path.split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') segments.pop();
    else segments.push(seg);
  }
  const trailing = path.endsWith('/') && segments.length > 0 ? '/' : '';
  // Non-S3 services double-encode: the wire form (already encoded once) is encoded again.
  return `/${segments.map(rfc3986).join('/')}${trailing}`;
}

function canonicalQuery(query: string, presigned: boolean): string {
  if (!query) return '';
  const pairs: [string, string][] = [];
  for (const part of query.split('&')) {
    if (!part) continue;
    const eq = part.indexOf('=');
    const k = safeDecode(eq < 0 ? part : part.slice(0, eq));
    const v = eq < 0 ? '' : safeDecode(part.slice(eq + 1));
    if (presigned && k === 'X-Amz-Signature') continue;
    pairs.push([rfc3986(k), rfc3986(v)]);
  }
  pairs.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0));
  return pairs.map(([k, v]) => `${k}=${v}`).join('&');
}

const sha256hex = (data: string | Buffer) => createHash('sha256').update(data).digest('hex');

/**
 * Payload hashes the signer may have used: the body's own hash, or, only for a service that
 * declares unsigned payloads, `UNSIGNED-PAYLOAD` when the header says so (header form) or possibly
 * (presigned URLs, which some signers leave unsigned). Elsewhere an unsigned payload would let a
 * body be changed after signing. A declared hash that differs from the body is never trusted.
 */
function payloadHashes(req: SignedRequest, auth: ParsedAuth, options: VerifyOptions = {}): string[] {
  const body = sha256hex(req.body);
  if (!options.unsignedPayload) return [body];
  if (auth.presigned) return [body, 'UNSIGNED-PAYLOAD'];
  return header(req, 'x-amz-content-sha256') === 'UNSIGNED-PAYLOAD' ? ['UNSIGNED-PAYLOAD'] : [body];
}
/** ISO 8601 basic (20260101T000000Z), as AWS quotes times in its messages. */
const basic = (ms: number) =>
  new Date(ms)
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}/, '');
const hmac = (key: string | Buffer, data: string) => createHmac('sha256', key).update(data).digest();

/** The canonical request and string to sign, as SigV4 defines them (exported for tests / debugging). */
export function stringToSign(
  req: SignedRequest,
  auth: ParsedAuth,
  payloadHash = payloadHashes(req, auth)[0] as string,
): { canonicalRequest: string; stringToSign: string } {
  const headers = auth.signedHeaders.map((name) => {
    const value = header(req, name);
    if (value === undefined)
      throw new AuthRefusal('bad-signature', `signed header ${name} is not in the request`);
    return `${name}:${value.trim().replace(/\s+/g, ' ')}\n`;
  });
  const canonicalRequest = [
    req.method.toUpperCase(),
    canonicalPath(req.path),
    canonicalQuery(req.query, auth.presigned),
    headers.join(''),
    auth.signedHeaders.join(';'),
    payloadHash,
  ].join('\n');
  const scope = `${auth.date}/${auth.region}/${auth.service}/aws4_request`;
  return {
    canonicalRequest,
    stringToSign: ['AWS4-HMAC-SHA256', auth.amzDate, scope, sha256hex(canonicalRequest)].join('\n'),
  };
}

/** Why a signature made at `signedAt` is not current at `now`, if it is not. */
function timeRefusal(auth: ParsedAuth, signedAt: number, now: number): AuthRefusal | undefined {
  if (signedAt - now > MAX_SKEW_MS) {
    // Signed too far in the future (clock skew): a presigned URL would otherwise live for longer
    // than X-Amz-Expires says.
    return new AuthRefusal(
      'expired',
      `Signature not yet current: ${auth.amzDate} is still later than ${basic(now + MAX_SKEW_MS)} (${basic(now)} + 15 min.)`,
    );
  }
  if (auth.presigned) {
    const expires = auth.expiresSeconds ?? 900;
    if (now > signedAt + expires * 1000) {
      return new AuthRefusal(
        'expired',
        `Request has expired (signed at ${auth.amzDate}, expires in ${expires}s).`,
      );
    }
  } else if (Math.abs(now - signedAt) > MAX_SKEW_MS) {
    const nowBasic = basic(now);
    return new AuthRefusal(
      'expired',
      `Signature expired: ${auth.amzDate} is now earlier than ${nowBasic} (${nowBasic} - 15 min.)`,
    );
  }
  return undefined;
}

/**
 * Recomputes the signature with `secret`; throws AuthRefusal when it differs, or when it is not
 * current at any of `now` (epoch ms: the wall time, and the virtual time the functions sign with).
 */
export function verifySignature(
  req: SignedRequest,
  auth: ParsedAuth,
  secret: string,
  now: number | readonly number[] = Date.now(),
  options: VerifyOptions = {},
): void {
  const signedAt = Date.parse(
    `${auth.amzDate.slice(0, 4)}-${auth.amzDate.slice(4, 6)}-${auth.amzDate.slice(6, 11)}:${auth.amzDate.slice(11, 13)}:${auth.amzDate.slice(13, 15)}Z`,
  );
  const instants = typeof now === 'number' ? [now] : now;
  const refusals = instants.map((t) => timeRefusal(auth, signedAt, t));
  if (refusals.every((r) => r !== undefined)) throw refusals[0];
  let key = hmac(`AWS4${secret}`, auth.date);
  key = hmac(key, auth.region);
  key = hmac(key, auth.service);
  key = hmac(key, 'aws4_request');
  const given = Buffer.from(auth.signature, 'hex');
  const matches = payloadHashes(req, auth, options).some((hash) => {
    const expected = createHmac('sha256', key)
      .update(stringToSign(req, auth, hash).stringToSign)
      .digest();
    return given.length === expected.length && timingSafeEqual(given, expected);
  });
  if (!matches) {
    throw new AuthRefusal(
      'bad-signature',
      'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.',
    );
  }
}
