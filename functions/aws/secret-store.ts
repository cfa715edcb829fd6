/**
 * Where an activation key lives on AWS: one Secrets Manager secret per link, named
 * `<prefix>/<linkId>/activation-key`, tagged with the link id. The key is written the moment the
 * provider issues it and only its name travels on (state, events, history carry the reference).
 */
import {
  CreateSecretCommand,
  DeleteSecretCommand,
  GetSecretValueCommand,
  PutSecretValueCommand,
  ResourceExistsException,
  ResourceNotFoundException,
  type SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import type { SecretStore } from '#core/link/ports.ts';

export type { SecretStore };

export class SecretsManagerStore implements SecretStore {
  readonly #client: SecretsManagerClient;
  readonly #prefix: string;
  readonly #tags: Record<string, string>;
  constructor(client: SecretsManagerClient, prefix = 'crosslink', tags: Record<string, string> = {}) {
    this.#client = client;
    this.#prefix = prefix;
    this.#tags = tags;
  }

  nameOf(linkId: string): string {
    return `${this.#prefix}/${linkId}/activation-key`;
  }

  async putActivationKey(linkId: string, key: string): Promise<string> {
    const name = this.nameOf(linkId);
    try {
      await this.#client.send(
        new CreateSecretCommand({
          Name: name,
          SecretString: key,
          Description: `activation key of crosslink link ${linkId}`,
          Tags: Object.entries({ ...this.#tags, 'crosslink:link-id': linkId }).map(([Key, Value]) => ({
            Key,
            Value,
          })),
        }),
      );
    } catch (e) {
      if (!(e instanceof ResourceExistsException || (e as Error).name === 'ResourceExistsException')) throw e;
      await this.#client.send(new PutSecretValueCommand({ SecretId: name, SecretString: key }));
    }
    return name;
  }

  async getActivationKey(ref: string): Promise<string> {
    const out = await this.#client.send(new GetSecretValueCommand({ SecretId: ref }));
    if (!out.SecretString) throw new Error(`secret ${ref} has no string value`);
    return out.SecretString;
  }

  async deleteActivationKey(linkId: string): Promise<void> {
    try {
      await this.#client.send(
        new DeleteSecretCommand({ SecretId: this.nameOf(linkId), ForceDeleteWithoutRecovery: true }),
      );
    } catch (e) {
      if (!(e instanceof ResourceNotFoundException || (e as Error).name === 'ResourceNotFoundException'))
        throw e;
    }
  }
}
