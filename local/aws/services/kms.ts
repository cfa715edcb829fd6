/**
 * KMS (AWS JSON 1.1, `X-Amz-Target: TrentService.<Op>`): the subset crosslink uses to seal
 * activation keys for the peer (docs/architecture.md, "Activation keys"): asymmetric RSA keys for
 * ENCRYPT_DECRYPT (`GetPublicKey` as DER SubjectPublicKeyInfo, `Decrypt` with RSAES_OAEP_SHA_1 /
 * RSAES_OAEP_SHA_256, `Encrypt` with the public key), symmetric keys (AES-256-GCM, the ciphertext
 * names its key as AWS's does, so a Decrypt naming another key fails with IncorrectKeyException),
 * aliases, enable / disable, and deletion scheduled on the virtual clock.
 *
 * Real cryptography (node:crypto): a ciphertext made with the public key from GetPublicKey by any
 * RSA-OAEP implementation decrypts here. Key policies and grants are not modelled (every principal
 * of the account may use its keys); keys of other accounts are not reachable (NotFoundException).
 */
import {
  constants,
  createCipheriv,
  createDecipheriv,
  createPublicKey,
  generateKeyPair,
  type KeyObject,
  privateDecrypt,
  publicEncrypt,
  randomBytes,
} from 'node:crypto';
import { promisify } from 'node:util';
import { errorClass } from '../errors.ts';
import { parsePolicy } from '../iam/policy.ts';
import { defineService, type RequestContext } from '../service.ts';
import { type Spec, validationMessage, violations } from '../validate.ts';

const NotFound = errorClass('NotFoundException', 400);
const Disabled = errorClass('DisabledException', 400);
const InvalidState = errorClass('KMSInvalidStateException', 400);
const InvalidKeyUsage = errorClass('InvalidKeyUsageException', 400);
const InvalidCiphertext = errorClass('InvalidCiphertextException', 400);
const IncorrectKey = errorClass('IncorrectKeyException', 400);
const Unsupported = errorClass('UnsupportedOperationException', 400);
const AlreadyExists = errorClass('AlreadyExistsException', 400);
const Validation = errorClass('ValidationException', 400);
const InvalidAliasName = errorClass('InvalidAliasNameException', 400);
const MalformedPolicy = errorClass('MalformedPolicyDocumentException', 400);

/**
 * AWS's default key policy for a key created without one: the account (and so the IAM policies
 * of its principals) may do every KMS action on it ("Default key policy", AWS KMS Developer Guide).
 */
export function defaultKeyPolicyText(accountId: string): string {
  return JSON.stringify({
    Version: '2012-10-17',
    Id: 'key-default-1',
    Statement: [
      {
        Sid: 'Enable IAM User Permissions',
        Effect: 'Allow',
        Principal: { AWS: `arn:aws:iam::${accountId}:root` },
        Action: 'kms:*',
        Resource: '*',
      },
    ],
  });
}

/** A key policy as given (JSON text of at most 32 KB), refused naming what is wrong. */
function keyPolicy(text: unknown): string {
  if (typeof text !== 'string' || text.length === 0 || text.length > 32_768)
    throw Validation(
      "1 validation error detected: Value at 'policy' failed to satisfy constraint: Member must have length between 1 and 32768",
    );
  try {
    parsePolicy(JSON.parse(text), 'key policy', 'resource');
  } catch (err) {
    throw MalformedPolicy(`The key policy is malformed: ${(err as Error).message}`);
  }
  return text;
}

const KEY_SPECS = [
  'RSA_2048',
  'RSA_3072',
  'RSA_4096',
  'ECC_NIST_P256',
  'ECC_NIST_P384',
  'ECC_NIST_P521',
  'ECC_SECG_P256K1',
  'SYMMETRIC_DEFAULT',
  'HMAC_224',
  'HMAC_256',
  'HMAC_384',
  'HMAC_512',
  'SM2',
  'ML_DSA_44',
  'ML_DSA_65',
  'ML_DSA_87',
] as const;
const KEY_USAGES = ['SIGN_VERIFY', 'ENCRYPT_DECRYPT', 'GENERATE_VERIFY_MAC', 'KEY_AGREEMENT'] as const;
const ALGORITHMS = ['SYMMETRIC_DEFAULT', 'RSAES_OAEP_SHA_1', 'RSAES_OAEP_SHA_256', 'SM2PKE'] as const;
type Algorithm = (typeof ALGORITHMS)[number];

type KeyState = 'Enabled' | 'Disabled' | 'PendingDeletion';

interface Key {
  keyId: string;
  arn: string;
  accountId: string;
  region: string;
  description: string;
  keySpec: 'SYMMETRIC_DEFAULT' | 'RSA_2048' | 'RSA_3072' | 'RSA_4096';
  created: number;
  state: KeyState;
  deletionDate?: number;
  cancelDeletion?: () => void;
  tags: { TagKey: string; TagValue: string }[];
  /** Symmetric keys: the AES-256 key. */
  secret?: Buffer;
  /** RSA keys. */
  privateKey?: KeyObject;
  publicDer?: Buffer;
  /** The key policy (JSON text): the one given at creation or by PutKeyPolicy, else AWS's default. */
  policy: string;
}

export interface KmsState {
  keys: Map<string, Key>;
  aliases: Map<string, string>;
}

interface KmsSettings {
  /** Default waiting period when ScheduleKeyDeletion gives none (AWS: 30 days). */
  pendingWindowDays: number;
}

const generateRsa = promisify(generateKeyPair);

const RSA_BITS = { RSA_2048: 2048, RSA_3072: 3072, RSA_4096: 4096 } as const;
/** OAEP overhead: 2 * hash length + 2. */
const maxRsaPlaintext = (bits: number, alg: Algorithm) =>
  bits / 8 - 2 * (alg === 'RSAES_OAEP_SHA_1' ? 20 : 32) - 2;

/** Symmetric ciphertext: version byte, the 36-char key id, IV, tag, data (our own layout). */
const SYM_VERSION = 0x01;

function validate(input: unknown, specs: Record<string, Spec>): void {
  const problems = violations(input, specs);
  if (problems.length > 0) throw Validation(validationMessage(problems));
}

function blob(v: unknown, field: string): Buffer {
  if (typeof v !== 'string')
    throw Validation(
      `1 validation error detected: Value null at '${field}' failed to satisfy constraint: Member must not be null`,
    );
  return Buffer.from(v, 'base64');
}

function keyMetadata(k: Key) {
  const rsa = k.keySpec !== 'SYMMETRIC_DEFAULT';
  return {
    AWSAccountId: k.accountId,
    KeyId: k.keyId,
    Arn: k.arn,
    CreationDate: new Date(k.created),
    Enabled: k.state === 'Enabled',
    Description: k.description,
    KeyUsage: 'ENCRYPT_DECRYPT',
    KeyState: k.state,
    DeletionDate: k.deletionDate === undefined ? undefined : new Date(k.deletionDate),
    Origin: 'AWS_KMS',
    KeyManager: 'CUSTOMER',
    CustomerMasterKeySpec: k.keySpec,
    KeySpec: k.keySpec,
    EncryptionAlgorithms: rsa ? ['RSAES_OAEP_SHA_1', 'RSAES_OAEP_SHA_256'] : ['SYMMETRIC_DEFAULT'],
    MultiRegion: false,
  };
}

/** Finds a key by id, key ARN, alias name or alias ARN in the caller's account and region. */
function findKey(ctx: RequestContext<KmsState>, ref: unknown): Key {
  if (typeof ref !== 'string' || ref.length === 0) {
    throw Validation(
      "1 validation error detected: Value null at 'keyId' failed to satisfy constraint: Member must not be null",
    );
  }
  const prefix = `arn:aws:kms:${ctx.region}:${ctx.accountId}:`;
  let id = ref;
  if (ref.startsWith('arn:')) {
    if (!ref.startsWith(prefix)) throw NotFound(`Invalid arn ${ref}`);
    id = ref.slice(prefix.length);
    if (id.startsWith('key/')) id = id.slice(4);
  }
  if (id.startsWith('alias/')) {
    const target = ctx.state.aliases.get(id);
    if (!target) throw NotFound(`Alias ${prefix}${id} is not found.`);
    id = target;
  }
  const key = ctx.state.keys.get(id);
  if (!key) {
    if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(id))
      throw NotFound(`Invalid keyId '${ref}'`);
    throw NotFound(`Key '${prefix}key/${id}' does not exist`);
  }
  return key;
}

/** A key that may be used for a cryptographic operation now. */
function usableKey(ctx: RequestContext<KmsState>, ref: unknown): Key {
  const key = findKey(ctx, ref);
  if (key.state === 'Disabled') throw Disabled(`${key.arn} is disabled.`);
  if (key.state === 'PendingDeletion') throw InvalidState(`${key.arn} is pending deletion.`);
  return key;
}

function algorithmFor(key: Key, requested: unknown): Algorithm {
  const alg = (requested ?? 'SYMMETRIC_DEFAULT') as Algorithm;
  const rsa = key.keySpec !== 'SYMMETRIC_DEFAULT';
  if (rsa ? alg === 'SYMMETRIC_DEFAULT' || alg === 'SM2PKE' : alg !== 'SYMMETRIC_DEFAULT') {
    throw InvalidKeyUsage(
      `You cannot use the encryption algorithm ${alg} with ${key.arn}, whose key spec is ${key.keySpec}.`,
    );
  }
  return alg;
}

function oaepHash(alg: Algorithm): string {
  return alg === 'RSAES_OAEP_SHA_1' ? 'sha1' : 'sha256';
}

/** Encryption context as additional authenticated data (order-independent, like KMS's). */
function aad(context: unknown): Buffer {
  const entries = Object.entries((context ?? {}) as Record<string, string>).sort(([a], [b]) =>
    a < b ? -1 : 1,
  );
  return Buffer.from(JSON.stringify(entries));
}

function scheduleDeletion(ctx: RequestContext<KmsState>, key: Key, days: number): void {
  const state = ctx.state;
  key.state = 'PendingDeletion';
  key.deletionDate = ctx.clock.now() + days * 24 * 3600_000;
  const timer = ctx.clock.at(key.deletionDate, () => {
    if (ctx.world.faults.isStuck('kms', key.keyId, 'PendingDeletion')) return;
    state.keys.delete(key.keyId);
    for (const [alias, target] of state.aliases) if (target === key.keyId) state.aliases.delete(alias);
  });
  key.cancelDeletion = () => timer.cancel();
}

export default defineService<KmsState>({
  name: 'kms',
  signingName: 'kms',
  protocol: 'json1.1',
  targetPrefix: 'TrentService',
  errors: {
    throttling: { code: 'ThrottlingException', status: 400 },
    server: { code: 'KMSInternalException', status: 500 },
  },
  createState: () => ({ keys: new Map(), aliases: new Map() }),
  operations: {
    async CreateKey(
      input: {
        Description?: string;
        KeyUsage?: string;
        KeySpec?: string;
        CustomerMasterKeySpec?: string;
        Tags?: { TagKey: string; TagValue: string }[];
        Origin?: string;
        MultiRegion?: boolean;
        Policy?: string;
      },
      ctx,
    ) {
      validate(input, {
        Description: { type: 'string', max: 8192 },
        KeyUsage: { type: 'string', enum: KEY_USAGES },
        KeySpec: { type: 'string', enum: KEY_SPECS },
        CustomerMasterKeySpec: { type: 'string', enum: KEY_SPECS },
        Tags: {
          type: 'list',
          member: {
            type: 'structure',
            members: {
              TagKey: { type: 'string', required: true, min: 1, max: 128 },
              TagValue: { type: 'string', required: true, max: 256 },
            },
          },
        },
      });
      const spec = input.KeySpec ?? input.CustomerMasterKeySpec ?? 'SYMMETRIC_DEFAULT';
      const usage = input.KeyUsage ?? 'ENCRYPT_DECRYPT';
      if (input.KeySpec && input.CustomerMasterKeySpec) {
        throw Validation('You cannot specify both KeySpec and CustomerMasterKeySpec.');
      }
      if (spec !== 'SYMMETRIC_DEFAULT' && !(spec in RSA_BITS)) {
        throw Unsupported(
          `The local cloud does not simulate ${spec} keys (only SYMMETRIC_DEFAULT and RSA_*).`,
        );
      }
      if (usage !== 'ENCRYPT_DECRYPT') {
        if (spec === 'SYMMETRIC_DEFAULT')
          throw Validation(`KeyUsage ${usage} is not compatible with KeySpec ${spec}`);
        throw Unsupported(`The local cloud does not simulate ${usage} keys (only ENCRYPT_DECRYPT).`);
      }
      if (input.Origin !== undefined && input.Origin !== 'AWS_KMS') {
        throw Unsupported(`The local cloud does not simulate keys with origin ${input.Origin}.`);
      }
      const keyId = ctx.world.random.uuid();
      const key: Key = {
        keyId,
        arn: `arn:aws:kms:${ctx.region}:${ctx.accountId}:key/${keyId}`,
        accountId: ctx.accountId,
        region: ctx.region,
        description: input.Description ?? '',
        keySpec: spec as Key['keySpec'],
        created: ctx.clock.now(),
        state: 'Enabled',
        tags: input.Tags ?? [],
        policy: input.Policy === undefined ? defaultKeyPolicyText(ctx.accountId) : keyPolicy(input.Policy),
      };
      if (spec === 'SYMMETRIC_DEFAULT') key.secret = randomBytes(32);
      else {
        const { privateKey, publicKey } = await generateRsa('rsa', {
          modulusLength: RSA_BITS[spec as keyof typeof RSA_BITS],
        });
        key.privateKey = privateKey;
        key.publicDer = publicKey.export({ type: 'spki', format: 'der' });
      }
      ctx.state.keys.set(keyId, key);
      return { KeyMetadata: keyMetadata(key) };
    },

    GetKeyPolicy(input: { KeyId?: string; PolicyName?: string }, ctx) {
      const key = findKey(ctx, input.KeyId);
      if (input.PolicyName !== undefined && input.PolicyName !== 'default')
        throw NotFound(`Key policy ${input.PolicyName} does not exist: a key has one policy, named default.`);
      return { Policy: key.policy, PolicyName: 'default' };
    },

    PutKeyPolicy(input: { KeyId?: string; PolicyName?: string; Policy?: string }, ctx) {
      const key = findKey(ctx, input.KeyId);
      if (input.PolicyName !== undefined && input.PolicyName !== 'default')
        throw Validation(`PolicyName must be default (got ${input.PolicyName}).`);
      key.policy = keyPolicy(input.Policy);
      return {};
    },

    DescribeKey(input: { KeyId?: string }, ctx) {
      return { KeyMetadata: keyMetadata(findKey(ctx, input.KeyId)) };
    },

    ListKeys(input: { Limit?: number; Marker?: string }, ctx) {
      validate(input, { Limit: { type: 'integer', min: 1, max: 1000 } });
      const all = [...ctx.state.keys.values()].sort(
        (a, b) => a.created - b.created || (a.keyId < b.keyId ? -1 : 1),
      );
      const start = input.Marker === undefined ? 0 : all.findIndex((k) => k.keyId === input.Marker);
      if (start < 0) throw Validation(`Invalid marker ${input.Marker}`);
      const limit = input.Limit ?? 100;
      const page = all.slice(start, start + limit);
      const next = all[start + limit];
      return {
        Keys: page.map((k) => ({ KeyId: k.keyId, KeyArn: k.arn })),
        Truncated: next !== undefined,
        NextMarker: next?.keyId,
      };
    },

    GetPublicKey(input: { KeyId?: string }, ctx) {
      const key = usableKey(ctx, input.KeyId);
      if (!key.publicDer)
        throw Unsupported(
          `${key.arn} key usage is ENCRYPT_DECRYPT with a symmetric key spec; it has no public key.`,
        );
      return {
        KeyId: key.arn,
        PublicKey: key.publicDer.toString('base64'),
        CustomerMasterKeySpec: key.keySpec,
        KeySpec: key.keySpec,
        KeyUsage: 'ENCRYPT_DECRYPT',
        EncryptionAlgorithms: ['RSAES_OAEP_SHA_1', 'RSAES_OAEP_SHA_256'],
      };
    },

    Encrypt(
      input: {
        KeyId?: string;
        Plaintext?: string;
        EncryptionAlgorithm?: string;
        EncryptionContext?: Record<string, string>;
      },
      ctx,
    ) {
      validate(input, { EncryptionAlgorithm: { type: 'string', enum: ALGORITHMS } });
      const key = usableKey(ctx, input.KeyId);
      const plain = blob(input.Plaintext, 'plaintext');
      if (plain.length < 1 || plain.length > 4096) {
        throw Validation(
          `1 validation error detected: Value at 'plaintext' failed to satisfy constraint: Member must have length between 1 and 4096`,
        );
      }
      const alg = algorithmFor(key, input.EncryptionAlgorithm);
      if (key.privateKey && key.publicDer) {
        const bits = RSA_BITS[key.keySpec as keyof typeof RSA_BITS];
        const max = maxRsaPlaintext(bits, alg);
        if (plain.length > max) {
          throw Validation(
            `Plaintext of ${plain.length} bytes is longer than ${max}, the most ${alg} with ${key.keySpec} can encrypt.`,
          );
        }
        const ciphertext = publicEncrypt(
          {
            key: createPublicKey({ key: key.publicDer, format: 'der', type: 'spki' }),
            padding: constants.RSA_PKCS1_OAEP_PADDING,
            oaepHash: oaepHash(alg),
          },
          plain,
        );
        return { CiphertextBlob: ciphertext.toString('base64'), KeyId: key.arn, EncryptionAlgorithm: alg };
      }
      const iv = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', key.secret as Buffer, iv);
      cipher.setAAD(aad(input.EncryptionContext));
      const data = Buffer.concat([cipher.update(plain), cipher.final()]);
      const out = Buffer.concat([
        Buffer.from([SYM_VERSION]),
        Buffer.from(key.keyId, 'ascii'),
        iv,
        cipher.getAuthTag(),
        data,
      ]);
      return { CiphertextBlob: out.toString('base64'), KeyId: key.arn, EncryptionAlgorithm: alg };
    },

    Decrypt(
      input: {
        KeyId?: string;
        CiphertextBlob?: string;
        EncryptionAlgorithm?: string;
        EncryptionContext?: Record<string, string>;
      },
      ctx,
    ) {
      validate(input, { EncryptionAlgorithm: { type: 'string', enum: ALGORITHMS } });
      const ciphertext = blob(input.CiphertextBlob, 'ciphertextBlob');
      if (ciphertext.length < 1 || ciphertext.length > 6144) {
        throw Validation(
          `1 validation error detected: Value at 'ciphertextBlob' failed to satisfy constraint: Member must have length between 1 and 6144`,
        );
      }
      const symmetricKeyId =
        ciphertext.length > 1 + 36 + 12 + 16 && ciphertext[0] === SYM_VERSION
          ? ciphertext.subarray(1, 37).toString('ascii')
          : undefined;
      if (input.KeyId === undefined) {
        // Only symmetric ciphertexts name their key; an asymmetric one needs KeyId.
        if (!symmetricKeyId || !ctx.state.keys.has(symmetricKeyId)) throw InvalidCiphertext('');
      }
      const key = usableKey(ctx, input.KeyId ?? symmetricKeyId);
      const alg = algorithmFor(key, input.EncryptionAlgorithm);
      if (key.privateKey) {
        try {
          const plain = privateDecrypt(
            { key: key.privateKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: oaepHash(alg) },
            ciphertext,
          );
          return { KeyId: key.arn, Plaintext: plain.toString('base64'), EncryptionAlgorithm: alg };
        } catch {
          throw InvalidCiphertext('');
        }
      }
      if (!symmetricKeyId) throw InvalidCiphertext('');
      if (symmetricKeyId !== key.keyId) {
        throw IncorrectKey(
          'The key ID in the request does not identify a CMK that can perform this operation.',
        );
      }
      try {
        const decipher = createDecipheriv('aes-256-gcm', key.secret as Buffer, ciphertext.subarray(37, 49));
        decipher.setAuthTag(ciphertext.subarray(49, 65));
        decipher.setAAD(aad(input.EncryptionContext));
        const plain = Buffer.concat([decipher.update(ciphertext.subarray(65)), decipher.final()]);
        return { KeyId: key.arn, Plaintext: plain.toString('base64'), EncryptionAlgorithm: alg };
      } catch {
        throw InvalidCiphertext('');
      }
    },

    CreateAlias(input: { AliasName?: string; TargetKeyId?: string }, ctx) {
      validate(input, {
        AliasName: { type: 'string', required: true, min: 1, max: 256, pattern: /^[a-zA-Z0-9:/_-]+$/ },
        TargetKeyId: { type: 'string', required: true, min: 1, max: 2048 },
      });
      const name = input.AliasName as string;
      if (!name.startsWith('alias/') || name.startsWith('alias/aws/')) {
        throw InvalidAliasName(
          `Alias must start with the prefix "alias/" and must not begin with "alias/aws/"`,
        );
      }
      if (ctx.state.aliases.has(name)) {
        throw AlreadyExists(
          `An alias with the name arn:aws:kms:${ctx.region}:${ctx.accountId}:${name} already exists`,
        );
      }
      const key = findKey(ctx, input.TargetKeyId);
      if (key.state === 'PendingDeletion') throw InvalidState(`${key.arn} is pending deletion.`);
      ctx.state.aliases.set(name, key.keyId);
      return {};
    },

    ListAliases(input: { KeyId?: string }, ctx) {
      const only = input.KeyId === undefined ? undefined : findKey(ctx, input.KeyId).keyId;
      const aliases = [...ctx.state.aliases.entries()]
        .filter(([, target]) => only === undefined || target === only)
        .sort(([a], [b]) => (a < b ? -1 : 1))
        .map(([name, target]) => ({
          AliasName: name,
          AliasArn: `arn:aws:kms:${ctx.region}:${ctx.accountId}:${name}`,
          TargetKeyId: target,
        }));
      return { Aliases: aliases, Truncated: false };
    },

    DisableKey(input: { KeyId?: string }, ctx) {
      const key = findKey(ctx, input.KeyId);
      if (key.state === 'PendingDeletion') throw InvalidState(`${key.arn} is pending deletion.`);
      key.state = 'Disabled';
      return {};
    },

    EnableKey(input: { KeyId?: string }, ctx) {
      const key = findKey(ctx, input.KeyId);
      if (key.state === 'PendingDeletion') throw InvalidState(`${key.arn} is pending deletion.`);
      key.state = 'Enabled';
      return {};
    },

    ScheduleKeyDeletion(input: { KeyId?: string; PendingWindowInDays?: number }, ctx) {
      validate(input, { PendingWindowInDays: { type: 'integer', min: 7, max: 30 } });
      const key = findKey(ctx, input.KeyId);
      if (key.state === 'PendingDeletion') throw InvalidState(`${key.arn} is pending deletion.`);
      const days =
        input.PendingWindowInDays ?? ctx.world.settings<KmsSettings>('kms').pendingWindowDays ?? 30;
      scheduleDeletion(ctx, key, days);
      return {
        KeyId: key.arn,
        DeletionDate: new Date(key.deletionDate as number),
        KeyState: key.state,
        PendingWindowInDays: days,
      };
    },

    CancelKeyDeletion(input: { KeyId?: string }, ctx) {
      const key = findKey(ctx, input.KeyId);
      if (key.state !== 'PendingDeletion') throw InvalidState(`${key.arn} is not pending deletion.`);
      key.cancelDeletion?.();
      key.state = 'Disabled';
      delete key.deletionDate;
      delete key.cancelDeletion;
      return { KeyId: key.arn };
    },
  },
  status: (state) =>
    state.keys.size === 0
      ? undefined
      : {
          keys: [...state.keys.values()].map((k) => ({ keyId: k.keyId, keySpec: k.keySpec, state: k.state })),
          aliases: Object.fromEntries(state.aliases),
        },
});
