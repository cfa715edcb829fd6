/**
 * `npm run iam-report [-- <decisions dir>]`: the least-privilege report (scripts/iam/least-privilege.ts)
 * over the IAM decisions the local cloud recorded (CROSSLINK_IAM_DECISIONS, default
 * .crosslink/iam-decisions), against serverless.yml's grants and reasons. Exit 1 when an action was
 * refused or a grant is unused without a reason.
 *
 *   CROSSLINK_IAM_DECISIONS=.crosslink/iam-decisions npx vitest run test/e2e && npm run iam-report
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import {
  formatReport,
  leastPrivilege,
  problems,
  readDecisionRecords,
  readServiceIam,
} from './iam/least-privilege.ts';

const root = resolve(import.meta.dirname, '..');
const dir = resolve(
  process.argv[2] ?? process.env.CROSSLINK_IAM_DECISIONS ?? resolve(root, '.crosslink/iam-decisions'),
);
if (!existsSync(dir)) {
  process.stderr.write(
    `iam-report: no decisions in ${dir}: run the end-to-end tests with CROSSLINK_IAM_DECISIONS=${dir} first\n`,
  );
  process.exit(2);
}
const report = leastPrivilege(readDecisionRecords(dir), readServiceIam(resolve(root, 'serverless.yml')));
process.stdout.write(`${formatReport(report)}\n`);
const found = problems(report);
if (found.length > 0) {
  process.stderr.write(`\n${found.length} problem(s):\n${found.map((p) => `  ${p}`).join('\n')}\n`);
  process.exit(1);
}
