/** The BGP sessions port (the watcher's link health), per account and region like the prefixes. */
import { DirectConnectClient } from '@aws-sdk/client-direct-connect';
import { credentialsFor } from '../assume-role.ts';
import { AccountRoutedBgpSessions, DirectConnectBgpSessions } from '../bgp-sessions.ts';
import { accountRoles, type PortFactory, perRegion, region } from '../runtime.ts';
import { clientConfig, SESSION, stsClient } from './accounts.ts';

export const bgp: PortFactory<'bgp'> = (env) => {
  const roles = accountRoles(env);
  const sessionsOf = (account: string | undefined) => {
    const credentials = account ? credentialsFor(stsClient(env), roles, account, SESSION) : undefined;
    return new DirectConnectBgpSessions(
      perRegion((r) => new DirectConnectClient(clientConfig(env, r, credentials))),
      region(env),
    );
  };
  return new AccountRoutedBgpSessions(
    sessionsOf(undefined),
    new Map(Object.keys(roles).map((a) => [a, sessionsOf(a)])),
  );
};
