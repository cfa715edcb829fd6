/**
 * What the Interconnect and Direct Connect ports share: the network accounts (CROSSLINK_ACCOUNT_ROLES),
 * the STS client that assumes their roles (made only when a network account is used: the hub's
 * clients sign with the function's own role), and the clients' configuration.
 */
import type { CredentialProvider } from '../assume-role.ts';
import { type Env, region } from '../runtime.ts';
import { StsClient } from '../sts.ts';

/** The role session name crosslink uses in network accounts. */
export const SESSION = 'crosslink-aws-half';

let sts: StsClient | undefined;
export const stsClient = (env: Env) => {
  sts ??= new StsClient({ region: region(env) });
  return sts;
};

/** A client's configuration in region `r`: the local cloud's endpoint when set, the account's credentials when assumed. */
export const clientConfig = (env: Env, r: string, credentials: CredentialProvider | undefined) => ({
  region: r,
  ...(env.AWS_ENDPOINT_URL ? { endpoint: env.AWS_ENDPOINT_URL } : {}),
  ...(credentials ? { credentials } : {}),
});
