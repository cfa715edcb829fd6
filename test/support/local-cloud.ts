/**
 * Starts a private local cloud for a test file: free ports, manual clock, seeded faults. Use
 * `const cloud = await useLocalCloud()` at module level inside `describe`, or call
 * `startTestCloud()` in `beforeAll` and `stop()` in `afterAll`.
 */

import { InterconnectClient, type InterconnectClientConfig } from '#aws/interconnect-client.ts';
import { type LocalCloud, type LocalCloudOptions, startLocalCloud } from '#local/index.ts';

export const ADMIN_CREDENTIALS = { accessKeyId: 'test', secretAccessKey: 'test' } as const;
export const ALICE_CREDENTIALS = {
  accessKeyId: 'AKIALOCALALICE000001',
  secretAccessKey: 'alice-local-secret',
} as const;

export function startTestCloud(options: LocalCloudOptions = {}): Promise<LocalCloud> {
  return startLocalCloud({
    ports: 0,
    clock: { mode: 'manual', start: '2026-06-01T00:00:00Z' },
    seed: 42,
    log: () => {},
    ...options,
  });
}

export function interconnectClient(
  cloud: LocalCloud,
  config: InterconnectClientConfig = {},
): InterconnectClient {
  return new InterconnectClient({
    region: 'us-east-1',
    endpoint: cloud.aws.endpoint,
    credentials: ADMIN_CREDENTIALS,
    retryBaseDelayMs: 5,
    throttlingRetryBaseDelayMs: 5,
    ...config,
  });
}

/** Calls the admin API; throws with the admin error when the status is not 2xx. */
// biome-ignore lint/suspicious/noExplicitAny: admin answers are read ad hoc in tests.
export async function admin<T = any>(
  cloud: LocalCloud,
  method: string,
  path: string,
  body?: unknown,
): Promise<T> {
  const res = await fetch(`${cloud.admin}${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const json = (await res.json()) as T & { error?: { code: string; message: string } };
  if (!res.ok)
    throw Object.assign(new Error(json.error?.message ?? `HTTP ${res.status}`), {
      status: res.status,
      ...json.error,
    });
  return json;
}
