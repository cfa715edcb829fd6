/**
 * Calls an HTTP API of the local cloud (the AWS half's intake) as a caller does: SigV4 for
 * `execute-api`, signed with a local identity's keys (config/local-identities.yaml).
 */
import { Sha256 } from '@aws-crypto/sha256-js';
import { SignatureV4 } from '@smithy/signature-v4';

export const IDENTITIES = {
  alice: { accessKeyId: 'AKIALOCALALICE000001', secretAccessKey: 'alice-local-secret' },
  bob: { accessKeyId: 'AKIALOCALBOB00000001', secretAccessKey: 'bob-local-secret' },
  crosslink: { accessKeyId: 'AKIALOCALCROSSLINK01', secretAccessKey: 'crosslink-local-secret' },
} as const;

/** A signed request to `endpoint` + `path`; returns the status and the parsed JSON body. */
export async function callIntake(
  endpoint: string,
  credentials: { accessKeyId: string; secretAccessKey: string },
  method: string,
  path: string,
  body?: unknown,
  region = 'us-east-1',
  // biome-ignore lint/suspicious/noExplicitAny: answers are read ad hoc in tests.
): Promise<{ status: number; body: any }> {
  const url = new URL(path, endpoint);
  const text = body === undefined ? undefined : JSON.stringify(body);
  const signer = new SignatureV4({ service: 'execute-api', region, credentials, sha256: Sha256 });
  const signed = await signer.sign({
    method,
    protocol: 'http:',
    hostname: url.hostname,
    port: Number(url.port),
    path: url.pathname,
    query: Object.fromEntries(url.searchParams),
    headers: { host: url.host, ...(text ? { 'content-type': 'application/json' } : {}) },
    ...(text ? { body: text } : {}),
  });
  const res = await fetch(url, { method, headers: signed.headers, ...(text ? { body: text } : {}) });
  const raw = await res.text();
  return { status: res.status, body: raw ? JSON.parse(raw) : undefined };
}
