/** The local identities of config/local-identities.yaml, for `--as`. */
import { join } from 'node:path';
import { assertSchema } from '#core/schema.ts';
import localIdentitiesSchema from '../../config/local-identities.schema.json' with { type: 'json' };
import { UsageError } from './errors.ts';
import { readStructuredFile } from './io.ts';

export interface LocalIdentity {
  name: string;
  service?: boolean;
  aws?: { accessKeyId: string; secretAccessKey: string; principalArn: string };
  gcp?: { email: string };
}

export async function loadIdentities(home: string): Promise<Map<string, LocalIdentity>> {
  const path = join(home, 'config', 'local-identities.yaml');
  const raw = assertSchema<Record<string, Omit<LocalIdentity, 'name'>>>(
    localIdentitiesSchema,
    await readStructuredFile(path),
    path,
  );
  return new Map(Object.entries(raw).map(([name, v]) => [name, { name, ...v }]));
}

export async function identity(home: string, name: string): Promise<LocalIdentity> {
  const all = await loadIdentities(home);
  const found = all.get(name);
  if (!found)
    throw new UsageError(
      `--as ${name}: no such identity in config/local-identities.yaml (known: ${[...all.keys()].join(', ')})`,
    );
  return found;
}
