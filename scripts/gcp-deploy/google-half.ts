/**
 * What scripts/deploy-gcp refuses in the functions of crosslink's Google half (those whose source
 * is functions/gcp/handlers/index.ts) before anything changes in the project:
 * - a function whose `environment` lacks a variable the half requires (functions/gcp/variables.ts):
 *   it would be deployed and then fail at every start;
 * - `allUsers` among the intake's invokers: Cloud Run then verifies no token at all, so the token
 *   the intake reads its caller from would be anyone's invention.
 */
import { resolve } from 'node:path';
import type { Issue } from '#core/errors.ts';
import type { GcpConfig } from '#deployment/gcp-config.ts';
import { REQUIRED_VARIABLES } from '#gcp/variables.ts';

const GOOGLE_HALF_SOURCE = resolve(import.meta.dirname, '../../functions/gcp/handlers/index.ts');

/** Every such problem of `config` (after `${env:NAME}` values were substituted). */
export function googleHalfIssues(config: GcpConfig): Issue[] {
  const issues: Issue[] = [];
  config.functions.forEach((f, i) => {
    if (resolve(config.root, f.source) !== GOOGLE_HALF_SOURCE) return;
    for (const name of REQUIRED_VARIABLES)
      if (!f.environment?.[name])
        issues.push({
          path: `functions[${i}].environment.${name}`,
          reason: `is required: function ${f.name} (the Google half) does not start without it`,
        });
    if (f.entryPoint === 'intake')
      f.trigger.http?.invokers.forEach((m, j) => {
        if (m === 'allUsers')
          issues.push({
            path: `functions[${i}].trigger.http.invokers[${j}]`,
            reason: `allUsers may not invoke ${f.name}: the intake takes its caller from the ID token Cloud Run verified, and with allUsers Cloud Run verifies none`,
          });
      });
  });
  return issues;
}
