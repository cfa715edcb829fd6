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
  /** IAM identity-based policy documents by name (docs/local-aws-iam.md). */
  policies?: Record<string, unknown>;
}

export interface LocalIdentity {
  name: string;
  aws?: AwsIdentity;
  /** `roles`: Google roles granted on the local organisation (every project): docs/local-gcp-iam.md. */
  gcp?: { email: string; roles?: string[]; drOperator?: boolean };
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
 * Who may call the Google intake locally (gcp.yml `${env:CROSSLINK_INTAKE_INVOKERS}`): every identity
 * with a Google email that is not one of crosslink's own services, people as `user:` and the
 * operator's service account (admin) as `serviceAccount:`, comma-separated. The admin reads both
 * sides (`link show`, `link ls --side gcp`), as an operator listed among the invokers does.
 */
export function intakeInvokers(identities: readonly LocalIdentity[]): string {
  return identities
    .filter((i) => i.gcp && !i.service)
    .map((i) => {
      const email = i.gcp?.email as string;
      return email.endsWith('.gserviceaccount.com') ? `serviceAccount:${email}` : `user:${email}`;
    })
    .join(',');
}

/**
 * Who operates the DR plans Google executes locally (gcp.yml `${env:CROSSLINK_DR_OPERATORS, ''}`,
 * the `dr-control` function's invokers): the identities whose Google entry says `drOperator: true`,
 * as `user:` members, comma-separated.
 */
export function drOperators(identities: readonly LocalIdentity[]): string {
  return identities
    .filter((i) => i.gcp?.drOperator === true)
    .map((i) => `user:${i.gcp?.email as string}`)
    .join(',');
}
