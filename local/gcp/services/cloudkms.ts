/**
 * Cloud KMS subset (cloudkms.googleapis.com v1): key rings and asymmetric decryption keys
 * (`ASYMMETRIC_DECRYPT` with RSA_DECRYPT_OAEP_{2048,3072,4096}_SHA256), `getPublicKey` and
 * `asymmetricDecrypt` with their CRC32C integrity fields, as the peer-sealing of activation keys
 * needs (docs/architecture.md, "Activation keys"). Keys are real RSA keys generated on creation; version 1 is
 * ENABLED at once (the real service may take a moment: inferred not to matter here).
 */
import { constants, generateKeyPairSync, type KeyObject, privateDecrypt } from 'node:crypto';
import { crc32c, crc32cValue, int64Of } from '#core/crypto/crc32c.ts';
import { encodeEnums, enumName } from '../enums.ts';
import { alreadyExists, failedPrecondition, GcpError, invalidArgument, notFound } from '../errors.ts';
import { defineGcpService, type GcpRequestContext } from '../service.ts';

const ALGORITHMS: Record<string, number> = {
  RSA_DECRYPT_OAEP_2048_SHA256: 2048,
  RSA_DECRYPT_OAEP_3072_SHA256: 3072,
  RSA_DECRYPT_OAEP_4096_SHA256: 4096,
};
/** Enum numbers of google.cloud.kms.v1 (the gax REST clients send and ask for `enum-encoding=int`). */
const ENUMS = {
  purpose: { ENCRYPT_DECRYPT: 1, ASYMMETRIC_SIGN: 5, ASYMMETRIC_DECRYPT: 6, RAW_ENCRYPT_DECRYPT: 7, MAC: 9 },
  algorithm: {
    RSA_DECRYPT_OAEP_2048_SHA256: 8,
    RSA_DECRYPT_OAEP_3072_SHA256: 9,
    RSA_DECRYPT_OAEP_4096_SHA256: 10,
  },
  protectionLevel: { SOFTWARE: 1, HSM: 2, EXTERNAL: 3 },
  state: { ENABLED: 1, DISABLED: 2 },
} satisfies Record<string, Record<string, number>>;
const ID_RE = /^[a-zA-Z0-9_-]{1,63}$/;
const KEY_ENUMS = {
  purpose: ENUMS.purpose,
  'versionTemplate.algorithm': ENUMS.algorithm,
  'versionTemplate.protectionLevel': ENUMS.protectionLevel,
};
const VERSION_ENUMS = {
  state: ENUMS.state,
  algorithm: ENUMS.algorithm,
  protectionLevel: ENUMS.protectionLevel,
};

interface Version {
  name: string;
  algorithm: string;
  createTime: string;
  privateKey: KeyObject;
  publicPem: string;
  state: 'ENABLED' | 'DISABLED';
}

interface CryptoKey {
  name: string;
  purpose: 'ASYMMETRIC_DECRYPT';
  createTime: string;
  labels: Record<string, string>;
  algorithm: string;
  versions: Map<string, Version>;
}

interface KmsState {
  keyRings: Map<string, { name: string; createTime: string }>;
  keys: Map<string, CryptoKey>;
}

type Ctx = GcpRequestContext<KmsState>;

const iso = (ms: number) => new Date(ms).toISOString();

function keyRingName(ctx: Ctx): string {
  return `projects/${ctx.params.project}/locations/${ctx.params.location}/keyRings/${ctx.params.keyRing}`;
}

function cryptoKeyName(ctx: Ctx): string {
  return `${keyRingName(ctx)}/cryptoKeys/${ctx.params.cryptoKey}`;
}

function versionOf(ctx: Ctx): { key: CryptoKey; version: Version } {
  const name = `${cryptoKeyName(ctx)}/cryptoKeyVersions/${ctx.params.version}`;
  const key = ctx.state.keys.get(cryptoKeyName(ctx));
  const version = key?.versions.get(name);
  if (!key || !version) throw notFound(`${name} not found.`);
  return { key, version };
}

function versionView(v: Version) {
  return {
    name: v.name,
    state: v.state,
    protectionLevel: 'SOFTWARE',
    algorithm: v.algorithm,
    createTime: v.createTime,
    generateTime: v.createTime,
  };
}

function keyView(k: CryptoKey) {
  return {
    name: k.name,
    purpose: k.purpose,
    createTime: k.createTime,
    ...(Object.keys(k.labels).length > 0 ? { labels: { ...k.labels } } : {}),
    versionTemplate: { protectionLevel: 'SOFTWARE', algorithm: k.algorithm },
    destroyScheduledDuration: '2592000s',
  };
}

function newVersion(key: CryptoKey, n: number, now: number): Version {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', {
    modulusLength: ALGORITHMS[key.algorithm] as number,
  });
  return {
    name: `${key.name}/cryptoKeyVersions/${n}`,
    algorithm: key.algorithm,
    createTime: iso(now),
    privateKey,
    publicPem: publicKey.export({ type: 'spki', format: 'pem' }) as string,
    state: 'ENABLED',
  };
}

const BASE = '/v1/projects/{project}/locations/{location}/keyRings';

export default defineGcpService<KmsState>({
  name: 'cloudkms',
  host: 'cloudkms.googleapis.com',
  createState: () => ({ keyRings: new Map(), keys: new Map() }),
  status: (s) => (s.keys.size > 0 ? { cryptoKeys: [...s.keys.keys()] } : undefined),
  routes: [
    {
      method: 'POST',
      path: BASE,
      operation: 'CreateKeyRing',
      handler: (ctx: Ctx) => {
        const id = ctx.query.get('keyRingId') ?? '';
        if (!ID_RE.test(id)) throw invalidArgument('keyRingId must match [a-zA-Z0-9_-]{1,63}', 'key_ring_id');
        const name = `projects/${ctx.params.project}/locations/${ctx.params.location}/keyRings/${id}`;
        if (ctx.state.keyRings.has(name)) throw alreadyExists(`KeyRing ${name} already exists.`);
        const ring = { name, createTime: iso(ctx.clock.now()) };
        ctx.state.keyRings.set(name, ring);
        return ring;
      },
    },
    {
      method: 'GET',
      path: `${BASE}/{keyRing}`,
      operation: 'GetKeyRing',
      handler: (ctx: Ctx) => {
        const ring = ctx.state.keyRings.get(keyRingName(ctx));
        if (!ring) throw notFound(`KeyRing ${keyRingName(ctx)} not found.`);
        return ring;
      },
    },
    {
      method: 'POST',
      path: `${BASE}/{keyRing}/cryptoKeys`,
      operation: 'CreateCryptoKey',
      handler: (ctx: Ctx) => {
        if (!ctx.state.keyRings.has(keyRingName(ctx)))
          throw notFound(`KeyRing ${keyRingName(ctx)} not found.`);
        const id = ctx.query.get('cryptoKeyId') ?? '';
        if (!ID_RE.test(id))
          throw invalidArgument('cryptoKeyId must match [a-zA-Z0-9_-]{1,63}', 'crypto_key_id');
        const body = ctx.body as {
          purpose?: string | number;
          versionTemplate?: { algorithm?: string | number };
          labels?: Record<string, string>;
        };
        if (enumName(ENUMS.purpose, body.purpose) !== 'ASYMMETRIC_DECRYPT') {
          throw invalidArgument(
            'Only purpose ASYMMETRIC_DECRYPT is simulated locally.',
            'crypto_key.purpose',
          );
        }
        const algorithm = enumName(ENUMS.algorithm, body.versionTemplate?.algorithm) ?? '';
        if (!(algorithm in ALGORITHMS)) {
          throw invalidArgument(
            `Algorithm ${algorithm || '(none)'} is not valid for ASYMMETRIC_DECRYPT (simulated: ${Object.keys(ALGORITHMS).join(', ')}).`,
            'crypto_key.version_template.algorithm',
          );
        }
        const name = `${keyRingName(ctx)}/cryptoKeys/${id}`;
        if (ctx.state.keys.has(name)) throw alreadyExists(`CryptoKey ${name} already exists.`);
        const now = ctx.clock.now();
        const key: CryptoKey = {
          name,
          purpose: 'ASYMMETRIC_DECRYPT',
          createTime: iso(now),
          labels: { ...(body.labels ?? {}) },
          algorithm,
          versions: new Map(),
        };
        if (ctx.query.get('skipInitialVersionCreation') !== 'true') {
          const v = newVersion(key, 1, now);
          key.versions.set(v.name, v);
        }
        ctx.state.keys.set(name, key);
        return encodeEnums(ctx, keyView(key), KEY_ENUMS);
      },
    },
    {
      method: 'GET',
      path: `${BASE}/{keyRing}/cryptoKeys/{cryptoKey}`,
      operation: 'GetCryptoKey',
      handler: (ctx: Ctx) => {
        const key = ctx.state.keys.get(cryptoKeyName(ctx));
        if (!key) throw notFound(`${cryptoKeyName(ctx)} not found.`);
        return encodeEnums(ctx, keyView(key), KEY_ENUMS);
      },
    },
    {
      method: 'GET',
      path: `${BASE}/{keyRing}/cryptoKeys/{cryptoKey}/cryptoKeyVersions/{version}`,
      operation: 'GetCryptoKeyVersion',
      handler: (ctx: Ctx) => encodeEnums(ctx, versionView(versionOf(ctx).version), VERSION_ENUMS),
    },
    {
      // updateCryptoKeyVersion: only `state` (ENABLED <-> DISABLED) is updatable, as in the API.
      method: 'PATCH',
      path: `${BASE}/{keyRing}/cryptoKeys/{cryptoKey}/cryptoKeyVersions/{version}`,
      operation: 'UpdateCryptoKeyVersion',
      handler: (ctx: Ctx) => {
        const { version } = versionOf(ctx);
        const mask = ctx.query.get('updateMask');
        if (mask !== 'state') throw invalidArgument('updateMask must be "state"', 'update_mask');
        const state = enumName(ENUMS.state, (ctx.body as { state?: string | number }).state);
        if (state !== 'ENABLED' && state !== 'DISABLED')
          throw invalidArgument('state must be ENABLED or DISABLED', 'crypto_key_version.state');
        version.state = state;
        return encodeEnums(ctx, versionView(version), VERSION_ENUMS);
      },
    },
    {
      method: 'GET',
      path: `${BASE}/{keyRing}/cryptoKeys/{cryptoKey}/cryptoKeyVersions/{version}/publicKey`,
      operation: 'GetPublicKey',
      handler: (ctx: Ctx) => {
        const { version } = versionOf(ctx);
        if (version.state !== 'ENABLED')
          throw failedPrecondition(`${version.name} is not enabled, current state is: ${version.state}.`);
        return encodeEnums(
          ctx,
          {
            pem: version.publicPem,
            algorithm: version.algorithm,
            pemCrc32c: crc32cValue(Buffer.from(version.publicPem, 'utf8')),
            name: version.name,
            protectionLevel: 'SOFTWARE',
          },
          { algorithm: ENUMS.algorithm, protectionLevel: ENUMS.protectionLevel },
        );
      },
    },
    {
      method: 'POST',
      path: `${BASE}/{keyRing}/cryptoKeys/{cryptoKey}/cryptoKeyVersions/{version}:asymmetricDecrypt`,
      operation: 'AsymmetricDecrypt',
      handler: (ctx: Ctx) => {
        const { version } = versionOf(ctx);
        if (version.state !== 'ENABLED')
          throw failedPrecondition(`${version.name} is not enabled, current state is: ${version.state}.`);
        const body = ctx.body as { ciphertext?: unknown; ciphertextCrc32c?: unknown };
        if (typeof body.ciphertext !== 'string' || body.ciphertext === '')
          throw invalidArgument('ciphertext is required', 'ciphertext');
        const ciphertext = Buffer.from(body.ciphertext, 'base64');
        const given = int64Of(body.ciphertextCrc32c);
        if (given !== undefined && given !== crc32c(ciphertext)) {
          throw invalidArgument(
            'The checksum in field ciphertext_crc32c did not match the data in field ciphertext.',
            'ciphertext_crc32c',
          );
        }
        let plaintext: Buffer;
        try {
          plaintext = privateDecrypt(
            { key: version.privateKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' },
            ciphertext,
          );
        } catch {
          throw new GcpError('INVALID_ARGUMENT', 'Decryption failed: the ciphertext is invalid.');
        }
        return encodeEnums(
          ctx,
          {
            plaintext: plaintext.toString('base64'),
            plaintextCrc32c: crc32cValue(plaintext),
            verifiedCiphertextCrc32c: given !== undefined,
            protectionLevel: 'SOFTWARE',
          },
          { protectionLevel: ENUMS.protectionLevel },
        );
      },
    },
  ],
});
