/**
 * What a local cloud's Google principals were allowed to use, written when it stops (when
 * CROSSLINK_IAM_USED_DIR names a directory): one JSON file per cloud, which
 * `npm run iam-report:gcp` merges into the least-privilege report (docs/local-gcp-iam.md).
 */
import { randomUUID } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { GcpLocal } from '../index.ts';

export const IAM_USED_DIR_VARIABLE = 'CROSSLINK_IAM_USED_DIR';

export interface IamUseRecord {
  project: string;
  projectNumber: string;
  region: string;
  /** principal -> permission -> allowed calls. */
  used: Record<string, Record<string, number>>;
  /** The refusals: principal, permission, resource. */
  refused: { principal: string; permission: string; resource: string }[];
}

/** Writes `gcp`'s record into $CROSSLINK_IAM_USED_DIR (nothing when it is not set). */
export function recordIamUse(gcp: GcpLocal, env: NodeJS.ProcessEnv): void {
  const dir = env[IAM_USED_DIR_VARIABLE];
  if (!dir) return;
  const record: IamUseRecord = {
    project: gcp.project,
    projectNumber: gcp.iam.projectNumber(gcp.project),
    region: gcp.region,
    used: Object.fromEntries([...gcp.iam.used()].map(([p, perms]) => [p, Object.fromEntries(perms)])),
    refused: [...gcp.iam.refused()],
  };
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, `${gcp.project}-${randomUUID()}.json`), `${JSON.stringify(record, null, 2)}\n`);
}
