/** An in-memory SecretStore: where an activation key went, for tests (Secrets Manager reaches the edge with #3b). */
import type { SecretStore } from '#aws/secret-store.ts';

export class MemorySecretStore implements SecretStore {
  readonly secrets = new Map<string, string>();
  async putActivationKey(linkId: string, key: string) {
    this.secrets.set(`crosslink/${linkId}/activation-key`, key);
    return `crosslink/${linkId}/activation-key`;
  }
  async getActivationKey(ref: string) {
    const v = this.secrets.get(ref);
    if (v === undefined) throw new Error(`no secret ${ref}`);
    return v;
  }
  async deleteActivationKey(linkId: string) {
    this.secrets.delete(`crosslink/${linkId}/activation-key`);
  }
}
