/** Finding and loading the policy a command judges by. */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { loadPolicy, type Policy } from '#core/policy/policy.ts';
import { readStructuredFile } from './io.ts';

/** `--policy`, else `$CROSSLINK_POLICY`, else ./config/policy.yaml, else the shipped one. */
export function policyPath(
  home: string,
  override: string | undefined,
  env: Record<string, string | undefined>,
): string {
  if (override) return resolve(home, override);
  if (env.CROSSLINK_POLICY) return resolve(home, env.CROSSLINK_POLICY);
  const local = join(home, 'config', 'policy.yaml');
  return existsSync(local) ? local : resolve(import.meta.dirname, '..', '..', 'config', 'policy.yaml');
}

export async function readPolicy(path: string): Promise<Policy> {
  const raw = await readStructuredFile(path);
  try {
    return loadPolicy(raw);
  } catch (e) {
    (e as Error).message = `${path}: ${(e as Error).message}`;
    throw e;
  }
}
