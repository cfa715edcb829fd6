/** The Direct Connect gateways' allowed prefixes port, per account and region like the halves. */
import { DirectConnectClient } from '@aws-sdk/client-direct-connect';
import { credentialsFor } from '../assume-role.ts';
import { DirectConnectGatewayPrefixes } from '../gateway-prefixes.ts';
import { AccountRoutedPrefixes } from '../network-halves.ts';
import { accountRoles, type PortFactory, perRegion, region } from '../runtime.ts';
import { clientConfig, SESSION, stsClient } from './accounts.ts';

export const prefixes: PortFactory<'prefixes'> = (env) => {
  const roles = accountRoles(env);
  const prefixesOf = (account: string | undefined) => {
    const credentials = account ? credentialsFor(stsClient(env), roles, account, SESSION) : undefined;
    return new DirectConnectGatewayPrefixes(
      perRegion((r) => new DirectConnectClient(clientConfig(env, r, credentials))),
      region(env),
    );
  };
  return new AccountRoutedPrefixes(
    prefixesOf(undefined),
    new Map(Object.keys(roles).map((a) => [a, prefixesOf(a)])),
  );
};
