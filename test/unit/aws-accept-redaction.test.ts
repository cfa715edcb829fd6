/**
 * An activation key the provider quotes in its refusal of AcceptConnectionProposal never leaves the
 * adapter: the error reaches logs and Step Functions' error cause.
 */
import { describe, expect, it } from 'vitest';
import { InterconnectHalves } from '#aws/halves.ts';
import type { InterconnectClient } from '#aws/interconnect-client.ts';
import { InterconnectEnvironments } from '#aws/offerings.ts';
import { MemorySecretStore } from '../support/memory-secrets.ts';

const KEY = 'eyJ2ZXJzaW9uIjoiMSIsInNoYXJlZENvbm5lY3Rpb25VdWlkIjoiYWJjIn0=';

describe('InterconnectHalves.acceptHalf', () => {
  it('takes the key out of the provider error it rethrows', async () => {
    // Prepare: a provider that quotes the key it refuses.
    const refusing = {
      send: async () => {
        throw Object.assign(new Error(`Activation key ${KEY} has expired`), {
          name: 'InterconnectValidationException',
        });
      },
    } as unknown as InterconnectClient;
    const halves = new InterconnectHalves({
      clientFor: () => refusing,
      regions: ['us-east-1'],
      environments: new InterconnectEnvironments({ clientFor: () => refusing }),
      secrets: new MemorySecretStore(),
    });
    // Act
    const error = await halves
      .acceptHalf({
        linkId: 'lk-01jgc000000000000000000001',
        region: 'us-east-1',
        activationKey: KEY,
        directConnectGateway: '90392BE3-219C-47FD-BBA5-03DF76D2542A',
      })
      .catch((e: unknown) => e as Error);
    // Assess: the same error, named as the provider named it, without the key.
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).name).toBe('InterconnectValidationException');
    expect((error as Error).message).toBe('Activation key [key] has expired');
  });
});
