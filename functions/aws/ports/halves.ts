/**
 * The halves port: Interconnect per account and region (a link's half lives in its request's
 * account and region; the regions are the policy's AWS ones), the hub's and each network account's
 * (its role assumed with STS). The secrets port is reached through `deps` only when a half's key is
 * stored or read, so a function that never creates a half does not build Secrets Manager.
 */

import { awsRegionsOf } from '#core/policy/policy.ts';
import { credentialsFor } from '../assume-role.ts';
import { InterconnectHalves } from '../halves.ts';
import { InterconnectClient } from '../interconnect-client.ts';
import { AccountRoutedHalves } from '../network-halves.ts';
import { InterconnectEnvironments } from '../offerings.ts';
import { accountRoles, type PortFactory, perRegion } from '../runtime.ts';
import type { SecretStore } from '../secret-store.ts';
import { clientConfig, SESSION, stsClient } from './accounts.ts';

export const halves: PortFactory<'halves'> = (env, deps) => {
  const roles = accountRoles(env);
  const regions = awsRegionsOf(deps.policy.document);
  const keys: SecretStore = {
    putActivationKey: (linkId, key) => deps.secrets.putActivationKey(linkId, key),
    getActivationKey: (ref) => deps.secrets.getActivationKey(ref),
    deleteActivationKey: (linkId) => deps.secrets.deleteActivationKey(linkId),
  };
  const halvesOf = (account: string | undefined) => {
    const credentials = account ? credentialsFor(stsClient(env), roles, account, SESSION) : undefined;
    const interconnect = perRegion((r) => new InterconnectClient(clientConfig(env, r, credentials)));
    return new InterconnectHalves({
      clientFor: interconnect,
      regions,
      environments: new InterconnectEnvironments({ clientFor: interconnect }),
      secrets: keys,
    });
  };
  return new AccountRoutedHalves(
    halvesOf(undefined),
    new Map(Object.keys(roles).map((a) => [a, halvesOf(a)])),
  );
};
