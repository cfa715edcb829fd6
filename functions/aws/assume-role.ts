/**
 * Credentials for a network account: the halves may live in accounts other than the hub, and config
 * maps each account id to a role the handlers assume. Credentials are cached per role until five
 * minutes before they expire, so a warm Lambda assumes once per hour, not once per call.
 */
import { AssumeRoleCommand, type StsClient } from './sts.ts';

export interface AwsCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
  expiration?: Date;
}

export type CredentialProvider = () => Promise<AwsCredentials>;

/** Account id -> role ARN (config `aws.accounts`). An account not listed is the hub's own. */
export type AccountRoles = Record<string, string>;

export function roleCredentials(
  sts: StsClient,
  roleArn: string,
  sessionName: string,
  now: () => number = Date.now,
): CredentialProvider {
  let cached: AwsCredentials | undefined;
  return async () => {
    if (cached?.expiration && cached.expiration.getTime() - 5 * 60_000 > now()) return cached;
    const out = await sts.send(
      new AssumeRoleCommand({
        RoleArn: roleArn,
        RoleSessionName: sessionName.slice(0, 64),
        DurationSeconds: 3600,
      }),
    );
    const c = out.Credentials;
    if (!c?.AccessKeyId || !c.SecretAccessKey)
      throw new Error(`AssumeRole ${roleArn} returned no credentials`);
    cached = {
      accessKeyId: c.AccessKeyId,
      secretAccessKey: c.SecretAccessKey,
      ...(c.SessionToken ? { sessionToken: c.SessionToken } : {}),
      ...(c.Expiration ? { expiration: new Date(c.Expiration) } : {}),
    };
    return cached;
  };
}

/** The provider for `accountId`: the assumed role's when config names one, else `undefined` (use the default chain). */
export function credentialsFor(
  sts: StsClient,
  roles: AccountRoles,
  accountId: string | undefined,
  sessionName = 'crosslink',
): CredentialProvider | undefined {
  const role = accountId ? roles[accountId] : undefined;
  if (!role) return undefined;
  let provider = providers.get(role);
  if (!provider) {
    provider = roleCredentials(sts, role, sessionName);
    providers.set(role, provider);
  }
  return provider;
}

/** One provider per role per Lambda sandbox, so the cache above survives across invocations. */
const providers = new Map<string, CredentialProvider>();
