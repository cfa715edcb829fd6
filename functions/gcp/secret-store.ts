/**
 * Where an activation key lives on Google: one Secret Manager secret per link,
 * `projects/<p>/secrets/crosslink-<linkId>-activation-key` (automatic replication, labels
 * `crosslink-link-id` and the cost labels), the key its latest version. The key is written the
 * moment TransportManager issues it; only the secret's name travels on.
 *
 * The official client (@google-cloud/secret-manager), in its REST fallback so the same code reaches
 * the local edge (`apiEndpoint`). Every payload carries its CRC32C and every read is checked against
 * the one Secret Manager returns. Errors name the secret and the gRPC status, never the payload.
 */
import type { protos, SecretManagerServiceClient } from '@google-cloud/secret-manager';
import { crc32c } from '#core/crypto/crc32c.ts';
import type { SecretStore } from '#core/link/ports.ts';
import { codeName } from './google-errors.ts';
import { toLabels } from './labels.ts';

/** gRPC codes the client's errors carry. */
const NOT_FOUND = 5;
const ALREADY_EXISTS = 6;

/** A Secret Manager call failed; the message names the secret and the status, never a payload. */
export class SecretStoreError extends Error {
  readonly code: number | undefined;
  constructor(message: string, code: number | undefined) {
    super(message);
    this.name = 'SecretStoreError';
    this.code = code;
  }
}

const codeOf = (e: unknown) => (e as { code?: unknown })?.code as number | undefined;

/**
 * The IAM permission an IAM_PERMISSION_DENIED error names (its google.rpc.ErrorInfo metadata, as
 * the client parses it), when it has the shape of one.
 */
function deniedPermission(e: unknown): string | undefined {
  const err = e as { errorInfoMetadata?: { permission?: unknown }; statusDetails?: unknown[] };
  const fromDetails = (err?.statusDetails ?? [])
    .map((d) => (d as { metadata?: { permission?: unknown } })?.metadata?.permission)
    .find((p) => p !== undefined);
  const p = err?.errorInfoMetadata?.permission ?? fromDetails;
  return typeof p === 'string' && /^[a-z]+\.[A-Za-z]+\.[A-Za-z]+$/.test(p) ? p : undefined;
}

/** Rethrows a client error as one that carries only what is safe to log. */
function safe(action: string, name: string, e: unknown): never {
  const code = codeOf(e);
  // The server never echoes a payload, but its message is not ours to vouch for: keep the status,
  // and the permission a refusal names (a structured field: what an operator must grant).
  const permission = deniedPermission(e);
  throw new SecretStoreError(
    `${action} ${name}: ${codeName(code)}${permission ? ` (permission ${permission})` : ''}`,
    code,
  );
}

export interface SecretManagerStoreOptions {
  project: string;
  /** Cost labels put on every secret, beside `crosslink-link-id`. */
  labels?: Record<string, string>;
  /** The secret id prefix (default `crosslink`). */
  prefix?: string;
}

export class SecretManagerStore implements SecretStore {
  readonly #client: SecretManagerServiceClient;
  readonly #project: string;
  readonly #labels: Record<string, string>;
  readonly #prefix: string;
  constructor(client: SecretManagerServiceClient, options: SecretManagerStoreOptions) {
    this.#client = client;
    this.#project = options.project;
    this.#labels = options.labels ?? {};
    this.#prefix = options.prefix ?? 'crosslink';
  }

  /** The secret's resource name (the reference that travels). */
  nameOf(linkId: string): string {
    return `projects/${this.#project}/secrets/${this.#prefix}-${linkId}-activation-key`;
  }

  async putActivationKey(linkId: string, key: string): Promise<string> {
    const name = this.nameOf(linkId);
    try {
      await this.#client.createSecret({
        parent: `projects/${this.#project}`,
        secretId: name.slice(name.lastIndexOf('/') + 1),
        secret: {
          replication: { automatic: {} },
          labels: toLabels(this.#labels, linkId),
        },
      });
    } catch (e) {
      // A retried step (or a crash after the create) finds it: add the version to it.
      if (codeOf(e) !== ALREADY_EXISTS) safe('create secret', name, e);
    }
    const data = Buffer.from(key, 'utf8');
    try {
      await this.#client.addSecretVersion({
        parent: name,
        payload: { data, dataCrc32c: String(crc32c(data)) },
      });
    } catch (e) {
      safe('add a version to', name, e);
    }
    return name;
  }

  async getActivationKey(ref: string): Promise<string> {
    let out: protos.google.cloud.secretmanager.v1.IAccessSecretVersionResponse;
    try {
      [out] = await this.#client.accessSecretVersion({ name: `${ref}/versions/latest` });
    } catch (e) {
      safe('access', ref, e);
    }
    const raw = out.payload?.data;
    if (raw === undefined || raw === null)
      throw new SecretStoreError(`secret ${ref} has no payload`, undefined);
    const data = typeof raw === 'string' ? Buffer.from(raw, 'base64') : Buffer.from(raw);
    // int64 in proto3 JSON: a decimal string (a Long or an Int64Value object from other transports).
    const expected = out.payload?.dataCrc32c as unknown;
    const given =
      typeof expected === 'object' && expected !== null && 'value' in expected
        ? (expected as { value: unknown }).value
        : expected;
    if (given !== undefined && given !== null && Number(String(given)) !== crc32c(data))
      throw new SecretStoreError(`secret ${ref}: the payload does not match its CRC32C`, undefined);
    return data.toString('utf8');
  }

  async deleteActivationKey(linkId: string): Promise<void> {
    const name = this.nameOf(linkId);
    try {
      await this.#client.deleteSecret({ name });
    } catch (e) {
      if (codeOf(e) !== NOT_FOUND) safe('delete', name, e);
    }
  }
}
