/**
 * Access keys the AWS edge accepts: the long-term keys of the local identities plus temporary keys
 * minted at run time (STS AssumeRole), each bound to a principal.
 */
import { accountOf, type LocalIdentity } from '#local/identities.ts';

/** The verified caller, as IAM would present it to a service. */
export interface Principal {
  /** Identity name in config/local-identities.yaml (or the role session for temporary keys). */
  name: string;
  arn: string;
  accountId: string;
  accessKeyId: string;
}

export interface CredentialRecord {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
  /** Virtual epoch ms after which the key is refused (temporary credentials). */
  expiresAt?: number;
  principal: Principal;
}

export class CredentialStore {
  #byKey = new Map<string, CredentialRecord>();

  constructor(identities: readonly LocalIdentity[]) {
    for (const id of identities) {
      if (!id.aws) continue;
      this.add({
        accessKeyId: id.aws.accessKeyId,
        secretAccessKey: id.aws.secretAccessKey,
        principal: {
          name: id.name,
          arn: id.aws.principalArn,
          accountId: accountOf(id.aws.principalArn),
          accessKeyId: id.aws.accessKeyId,
        },
      });
    }
  }

  add(record: CredentialRecord): void {
    this.#byKey.set(record.accessKeyId, record);
  }

  get(accessKeyId: string): CredentialRecord | undefined {
    return this.#byKey.get(accessKeyId);
  }

  /** A long-term key of the account's root user, if a local identity is that root (the deployer). */
  rootKey(accountId: string): { accessKeyId: string; secretAccessKey: string } | undefined {
    for (const r of this.#byKey.values())
      if (r.principal.arn === `arn:aws:iam::${accountId}:root` && r.sessionToken === undefined)
        return { accessKeyId: r.accessKeyId, secretAccessKey: r.secretAccessKey };
    return undefined;
  }

  /** Accounts that some identity belongs to: the simulated AWS accounts. */
  accounts(): string[] {
    return [...new Set([...this.#byKey.values()].map((r) => r.principal.accountId))].sort();
  }
}
