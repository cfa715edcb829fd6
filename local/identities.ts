/**
 * The local identities (config/local-identities.yaml), loaded once per local cloud. Both edges use
 * them: the AWS edge verifies SigV4 with their secrets; the Google edge issues key files for
 * their emails.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parse } from 'yaml';

export interface AwsIdentity {
  accessKeyId: string;
  secretAccessKey: string;
  principalArn: string;
}

export interface LocalIdentity {
  name: string;
  aws?: AwsIdentity;
  gcp?: { email: string };
  service?: boolean;
}

export const DEFAULT_IDENTITIES_FILE = resolve(import.meta.dirname, '..', 'config', 'local-identities.yaml');

/** Reads and checks the identities file; throws with the offending name on a malformed entry. */
export function loadIdentities(file = DEFAULT_IDENTITIES_FILE): LocalIdentity[] {
  const doc = parse(readFileSync(file, 'utf8')) as Record<string, Omit<LocalIdentity, 'name'>> | null;
  const out: LocalIdentity[] = [];
  for (const [name, entry] of Object.entries(doc ?? {})) {
    if (entry.aws && !/^arn:aws[a-z-]*:(iam|sts)::\d{12}:/.test(entry.aws.principalArn)) {
      throw new Error(`${file}: identity ${name}: principalArn ${entry.aws.principalArn} is not an IAM ARN`);
    }
    out.push({ name, ...entry });
  }
  return out;
}

/** The 12-digit account of an IAM / STS principal ARN. */
export function accountOf(principalArn: string): string {
  const account = principalArn.split(':')[4];
  if (!account || !/^\d{12}$/.test(account)) throw new Error(`no account in ${principalArn}`);
  return account;
}

/**
 * The people among the identities, as IAM members of the Google intake's invokers (gcp.yml
 * `${env:CROSSLINK_INTAKE_INVOKERS}`): every identity with a Google email that is neither a
 * service nor a service account (admin's account is one), comma-separated.
 */
export function intakeInvokers(identities: readonly LocalIdentity[]): string {
  return identities
    .filter((i) => i.gcp && !i.service && !i.gcp.email.endsWith('.gserviceaccount.com'))
    .map((i) => `user:${i.gcp?.email}`)
    .join(',');
}
