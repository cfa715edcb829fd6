/**
 * Secrets Manager (AWS JSON 1.1, `X-Amz-Target: secretsmanager.<Op>`): where crosslink stores an
 * activation key the moment a provider issues it (docs/architecture.md, "Activation keys"). Secrets with
 * versions and staging labels (AWSCURRENT / AWSPREVIOUS moved by PutSecretValue),
 * `ClientRequestToken` idempotency (the token is the version id: the same token and value is a
 * no-op, the same token and another value is refused), and deletion with a recovery window that
 * runs on the virtual clock (or at once with ForceDeleteWithoutRecovery). Rotation and replication
 * are not modelled; the value is kept as given (no encryption under the KMS module's keys).
 */
import { errorClass } from '../errors.ts';
import { parsePolicy } from '../iam/policy.ts';
import { defineService, type RequestContext } from '../service.ts';
import { type Spec, validationMessage, violations } from '../validate.ts';

const NotFound = errorClass('ResourceNotFoundException', 400);
const Exists = errorClass('ResourceExistsException', 400);
const InvalidRequest = errorClass('InvalidRequestException', 400);
const InvalidParameter = errorClass('InvalidParameterException', 400);
const Validation = errorClass('ValidationException', 400);
const MalformedPolicy = errorClass('MalformedPolicyDocumentException', 400);

interface Version {
  versionId: string;
  secretString?: string;
  secretBinary?: string;
  stages: Set<string>;
  created: number;
}

interface Secret {
  arn: string;
  name: string;
  description?: string;
  kmsKeyId?: string;
  tags: { Key: string; Value: string }[];
  versions: Map<string, Version>;
  created: number;
  lastChanged: number;
  lastAccessed?: number;
  deletedDate?: number;
  cancelDeletion?: () => void;
  /** The resource-based policy (JSON text) PutResourcePolicy attached, if any. */
  resourcePolicy?: string;
}

export interface SecretsState {
  secrets: Map<string, Secret>;
}

const NAME: Spec = { type: 'string', required: true, min: 1, max: 512, pattern: /^[\w/+=.@-]+$/ };
const TOKEN: Spec = { type: 'string', min: 32, max: 64 };
const DAY = 24 * 3600_000;

function validate(input: unknown, specs: Record<string, Spec>): void {
  const problems = violations(input, specs);
  if (problems.length > 0) throw Validation(validationMessage(problems));
}

const notFound = () => NotFound("Secrets Manager can't find the specified secret.");

/** By name, full ARN, or partial ARN (without the 6-character suffix). */
function lookup(ctx: RequestContext<SecretsState>, id: unknown): Secret {
  validate({ SecretId: id }, { SecretId: { type: 'string', required: true, min: 1, max: 2048 } });
  const ref = id as string;
  for (const s of ctx.state.secrets.values()) {
    if (s.name === ref || s.arn === ref || s.arn.slice(0, -7) === ref) return s;
  }
  throw notFound();
}

function live(ctx: RequestContext<SecretsState>, id: unknown): Secret {
  const s = lookup(ctx, id);
  if (s.deletedDate !== undefined) {
    throw InvalidRequest(
      "You can't perform this operation on the secret because it was marked for deletion.",
    );
  }
  return s;
}

function secretValueOf(input: { SecretString?: string; SecretBinary?: string }) {
  if (input.SecretString !== undefined && input.SecretBinary !== undefined) {
    throw InvalidParameter(
      "You can't specify both a binary secret value and a string secret value in the same secret.",
    );
  }
  if (input.SecretString !== undefined && input.SecretString.length > 65536) {
    throw Validation(
      "1 validation error detected: Value at 'secretString' failed to satisfy constraint: Member must have length less than or equal to 65536",
    );
  }
  return input.SecretString !== undefined
    ? { secretString: input.SecretString }
    : input.SecretBinary !== undefined
      ? { secretBinary: input.SecretBinary }
      : undefined;
}

const sameValue = (v: Version, value: { secretString?: string; secretBinary?: string }) =>
  v.secretString === value.secretString && v.secretBinary === value.secretBinary;

/** Adds a version labelled `stages` (AWSCURRENT moves; the old current becomes AWSPREVIOUS). */
function addVersion(
  secret: Secret,
  versionId: string,
  value: { secretString?: string; secretBinary?: string },
  stages: string[],
  now: number,
): Version {
  for (const stage of stages) {
    for (const v of secret.versions.values()) {
      if (!v.stages.has(stage)) continue;
      v.stages.delete(stage);
      if (stage === 'AWSCURRENT') {
        for (const w of secret.versions.values()) w.stages.delete('AWSPREVIOUS');
        v.stages.add('AWSPREVIOUS');
      }
    }
  }
  const version: Version = { versionId, ...value, stages: new Set(stages), created: now };
  secret.versions.set(versionId, version);
  secret.lastChanged = now;
  return version;
}

function newToken(ctx: RequestContext<SecretsState>): string {
  return ctx.world.random.uuid();
}

export default defineService<SecretsState>({
  name: 'secretsmanager',
  signingName: 'secretsmanager',
  protocol: 'json1.1',
  targetPrefix: 'secretsmanager',
  errors: {
    throttling: { code: 'ThrottlingException', status: 400 },
    server: { code: 'InternalServiceError', status: 500 },
  },
  createState: () => ({ secrets: new Map() }),
  operations: {
    CreateSecret(
      input: {
        Name?: string;
        ClientRequestToken?: string;
        Description?: string;
        KmsKeyId?: string;
        SecretString?: string;
        SecretBinary?: string;
        Tags?: { Key: string; Value: string }[];
      },
      ctx,
    ) {
      validate(input, {
        Name: NAME,
        ClientRequestToken: TOKEN,
        Description: { type: 'string', max: 2048 },
        Tags: {
          type: 'list',
          max: 50,
          member: {
            type: 'structure',
            members: { Key: { type: 'string', min: 1, max: 128 }, Value: { type: 'string', max: 256 } },
          },
        },
      });
      const name = input.Name as string;
      const value = secretValueOf(input);
      const existing = [...ctx.state.secrets.values()].find((s) => s.name === name);
      if (existing) {
        if (existing.deletedDate !== undefined) {
          throw InvalidRequest(
            "You can't create this secret because a secret with this name is already scheduled for deletion.",
          );
        }
        const version = input.ClientRequestToken
          ? existing.versions.get(input.ClientRequestToken)
          : undefined;
        // A retry of the same create (same token, same value) is answered as the first one was.
        if (version && value && sameValue(version, value)) {
          return { ARN: existing.arn, Name: existing.name, VersionId: version.versionId };
        }
        throw Exists(`The operation failed because the secret ${name} already exists.`);
      }
      const now = ctx.clock.now();
      const suffix = ctx.world.random.chars(
        6,
        'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789',
      );
      const secret: Secret = {
        arn: `arn:aws:secretsmanager:${ctx.region}:${ctx.accountId}:secret:${name}-${suffix}`,
        name,
        ...(input.Description === undefined ? {} : { description: input.Description }),
        ...(input.KmsKeyId === undefined ? {} : { kmsKeyId: input.KmsKeyId }),
        tags: input.Tags ?? [],
        versions: new Map(),
        created: now,
        lastChanged: now,
      };
      ctx.state.secrets.set(secret.arn, secret);
      if (!value) return { ARN: secret.arn, Name: name };
      const version = addVersion(
        secret,
        input.ClientRequestToken ?? newToken(ctx),
        value,
        ['AWSCURRENT'],
        now,
      );
      return { ARN: secret.arn, Name: name, VersionId: version.versionId };
    },

    GetSecretValue(input: { SecretId?: string; VersionId?: string; VersionStage?: string }, ctx) {
      validate(input, { VersionId: TOKEN, VersionStage: { type: 'string', min: 1, max: 256 } });
      const secret = live(ctx, input.SecretId);
      let version: Version | undefined;
      if (input.VersionId !== undefined) {
        version = secret.versions.get(input.VersionId);
        if (!version || (input.VersionStage !== undefined && !version.stages.has(input.VersionStage))) {
          throw NotFound(
            `Secrets Manager can't find the specified secret value for VersionId: ${input.VersionId}`,
          );
        }
      } else {
        const stage = input.VersionStage ?? 'AWSCURRENT';
        version = [...secret.versions.values()].find((v) => v.stages.has(stage));
        if (!version) {
          throw NotFound(`Secrets Manager can't find the specified secret value for staging label: ${stage}`);
        }
      }
      const now = ctx.clock.now();
      secret.lastAccessed = Math.floor(now / DAY) * DAY;
      return {
        ARN: secret.arn,
        Name: secret.name,
        VersionId: version.versionId,
        SecretString: version.secretString,
        SecretBinary: version.secretBinary,
        VersionStages: [...version.stages],
        CreatedDate: new Date(version.created),
      };
    },

    PutSecretValue(
      input: {
        SecretId?: string;
        ClientRequestToken?: string;
        SecretString?: string;
        SecretBinary?: string;
        VersionStages?: string[];
      },
      ctx,
    ) {
      validate(input, {
        ClientRequestToken: TOKEN,
        VersionStages: { type: 'list', min: 1, max: 20, member: { type: 'string', min: 1, max: 256 } },
      });
      const secret = live(ctx, input.SecretId);
      const value = secretValueOf(input);
      if (!value) {
        throw InvalidParameter('You must provide either SecretString or SecretBinary.');
      }
      const token = input.ClientRequestToken ?? newToken(ctx);
      const existing = secret.versions.get(token);
      if (existing) {
        if (!sameValue(existing, value)) {
          throw Exists("You can't modify an existing version, you can only create a new version.");
        }
        return { ARN: secret.arn, Name: secret.name, VersionId: token, VersionStages: [...existing.stages] };
      }
      const version = addVersion(
        secret,
        token,
        value,
        input.VersionStages ?? ['AWSCURRENT'],
        ctx.clock.now(),
      );
      return { ARN: secret.arn, Name: secret.name, VersionId: token, VersionStages: [...version.stages] };
    },

    DeleteSecret(
      input: { SecretId?: string; RecoveryWindowInDays?: number; ForceDeleteWithoutRecovery?: boolean },
      ctx,
    ) {
      if (input.RecoveryWindowInDays !== undefined && input.ForceDeleteWithoutRecovery) {
        throw InvalidParameter(
          "You can't use ForceDeleteWithoutRecovery in conjunction with RecoveryWindowInDays.",
        );
      }
      const days = input.RecoveryWindowInDays ?? 30;
      if (!Number.isInteger(days) || days < 7 || days > 30) {
        throw InvalidParameter('The RecoveryWindowInDays value must be between 7 and 30 days (inclusive).');
      }
      const secret = lookup(ctx, input.SecretId);
      const state = ctx.state;
      const now = ctx.clock.now();
      if (input.ForceDeleteWithoutRecovery) {
        secret.cancelDeletion?.();
        state.secrets.delete(secret.arn);
        return { ARN: secret.arn, Name: secret.name, DeletionDate: new Date(now) };
      }
      if (secret.deletedDate !== undefined) {
        throw InvalidRequest(
          "You can't perform this operation on the secret because it was already scheduled for deletion.",
        );
      }
      secret.deletedDate = now;
      const timer = ctx.clock.at(now + days * DAY, () => {
        if (ctx.world.faults.isStuck('secretsmanager', secret.arn, 'scheduled-for-deletion')) return;
        state.secrets.delete(secret.arn);
      });
      secret.cancelDeletion = () => timer.cancel();
      return { ARN: secret.arn, Name: secret.name, DeletionDate: new Date(now + days * DAY) };
    },

    RestoreSecret(input: { SecretId?: string }, ctx) {
      const secret = lookup(ctx, input.SecretId);
      secret.cancelDeletion?.();
      delete secret.cancelDeletion;
      delete secret.deletedDate;
      return { ARN: secret.arn, Name: secret.name };
    },

    PutResourcePolicy(input: { SecretId?: string; ResourcePolicy?: string }, ctx) {
      const secret = lookup(ctx, input.SecretId);
      validate(input, { ResourcePolicy: { type: 'string', required: true, min: 1, max: 20_480 } });
      try {
        parsePolicy(JSON.parse(input.ResourcePolicy as string), 'resource policy', 'resource');
      } catch (err) {
        throw MalformedPolicy(
          `This resource policy contains an unsupported or malformed element: ${(err as Error).message}`,
        );
      }
      secret.resourcePolicy = input.ResourcePolicy as string;
      return { ARN: secret.arn, Name: secret.name };
    },

    GetResourcePolicy(input: { SecretId?: string }, ctx) {
      const secret = lookup(ctx, input.SecretId);
      return { ARN: secret.arn, Name: secret.name, ResourcePolicy: secret.resourcePolicy };
    },

    DeleteResourcePolicy(input: { SecretId?: string }, ctx) {
      const secret = lookup(ctx, input.SecretId);
      delete secret.resourcePolicy;
      return { ARN: secret.arn, Name: secret.name };
    },

    DescribeSecret(input: { SecretId?: string }, ctx) {
      const s = lookup(ctx, input.SecretId);
      return {
        ARN: s.arn,
        Name: s.name,
        Description: s.description,
        KmsKeyId: s.kmsKeyId,
        RotationEnabled: false,
        LastChangedDate: new Date(s.lastChanged),
        LastAccessedDate: s.lastAccessed === undefined ? undefined : new Date(s.lastAccessed),
        DeletedDate: s.deletedDate === undefined ? undefined : new Date(s.deletedDate),
        Tags: s.tags,
        VersionIdsToStages: Object.fromEntries(
          [...s.versions.values()].filter((v) => v.stages.size > 0).map((v) => [v.versionId, [...v.stages]]),
        ),
        CreatedDate: new Date(s.created),
      };
    },

    ListSecrets(input: { MaxResults?: number; NextToken?: string; IncludePlannedDeletion?: boolean }, ctx) {
      validate(input, { MaxResults: { type: 'integer', min: 1, max: 100 } });
      const all = [...ctx.state.secrets.values()]
        .filter((s) => input.IncludePlannedDeletion || s.deletedDate === undefined)
        .sort((a, b) => (a.name < b.name ? -1 : 1));
      const start =
        input.NextToken === undefined ? 0 : Number(Buffer.from(input.NextToken, 'base64').toString());
      if (!Number.isInteger(start) || start < 0) throw InvalidParameter('Invalid NextToken.');
      const max = input.MaxResults ?? 100;
      const page = all.slice(start, start + max);
      return {
        SecretList: page.map((s) => ({
          ARN: s.arn,
          Name: s.name,
          Description: s.description,
          LastChangedDate: new Date(s.lastChanged),
          DeletedDate: s.deletedDate === undefined ? undefined : new Date(s.deletedDate),
          Tags: s.tags,
          CreatedDate: new Date(s.created),
        })),
        NextToken: start + max < all.length ? Buffer.from(String(start + max)).toString('base64') : undefined,
      };
    },
  },
  status: (state) =>
    state.secrets.size === 0
      ? undefined
      : {
          secrets: [...state.secrets.values()].map((s) => ({
            name: s.name,
            versions: s.versions.size,
            ...(s.deletedDate === undefined ? {} : { scheduledForDeletion: true }),
          })),
        },
});
