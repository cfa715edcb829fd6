/** The activation keys' port: Secrets Manager, under CROSSLINK_SECRET_PREFIX, tagged with the cost tags. */
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { costTags } from '#core/link/settings.ts';
import { type PortFactory, region } from '../runtime.ts';
import { SecretsManagerStore } from '../secret-store.ts';

export const secrets: PortFactory<'secrets'> = (env) =>
  new SecretsManagerStore(
    new SecretsManagerClient({ region: region(env) }),
    env.CROSSLINK_SECRET_PREFIX ?? 'crosslink',
    costTags(env),
  );
