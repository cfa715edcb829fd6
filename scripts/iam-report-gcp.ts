/**
 * `npm run iam-report:gcp [dir] [--json]`: the Google half's least-privilege report
 * (docs/local-gcp-iam.md) from what the local clouds of a test run recorded
 * (CROSSLINK_IAM_USED_DIR, default .crosslink/iam-used): for each service account of gcp.yml, the
 * permissions its calls used against the roles deploy-gcp grants it. Exits 1 when a used
 * permission is not granted or a granted role went unused without a reason in gcp.yml
 * (`serviceAccounts[].unusedLocally`), 2 when there is nothing to report.
 *
 *   CROSSLINK_IAM_USED_DIR=.crosslink/iam-used npx vitest run test/e2e && npm run iam-report:gcp
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { loadGcpConfig } from '#deployment/gcp-config.ts';
import { formatReport, type IamUseRecord, leastPrivilegeReport } from '#local/index.ts';

const ROOT = resolve(import.meta.dirname, '..');
/** The project the report names accounts in (each record's own project is mapped onto it). */
const PROJECT = 'crosslink-local';

function main(): number {
  const { values, positionals } = parseArgs({
    options: { json: { type: 'boolean' } },
    allowPositionals: true,
  });
  const dir = resolve(
    positionals[0] ?? process.env.CROSSLINK_IAM_USED_DIR ?? join(ROOT, '.crosslink', 'iam-used'),
  );
  const files = existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.json')) : [];
  if (files.length === 0) {
    process.stderr.write(
      `no records in ${dir}: run tests with CROSSLINK_IAM_USED_DIR=${dir} first (docs/local-gcp-iam.md)\n`,
    );
    return 2;
  }
  const used = new Map<string, Map<string, number>>();
  let region = 'us-east4';
  for (const f of files) {
    const r = JSON.parse(readFileSync(join(dir, f), 'utf8')) as IamUseRecord;
    region = r.region;
    for (const [principal, perms] of Object.entries(r.used)) {
      const p = principal.replace(
        `@${r.project}.iam.gserviceaccount.com`,
        `@${PROJECT}.iam.gserviceaccount.com`,
      );
      const into = used.get(p) ?? new Map<string, number>();
      for (const [perm, n] of Object.entries(perms)) into.set(perm, (into.get(perm) ?? 0) + n);
      used.set(p, into);
    }
  }
  const written = loadGcpConfig(join(ROOT, 'gcp.yml'));
  // The report is about gcp.yml's service accounts; federated publishers are not among them.
  const config = { ...written, topics: written.topics.map(({ awsPublishers: _, ...t }) => t) };
  const report = leastPrivilegeReport(config, PROJECT, '100000000001', region, used);
  process.stdout.write(`${values.json ? JSON.stringify(report, null, 2) : formatReport(report)}\n`);
  const bad = report.some((a) => a.ungranted.length > 0 || a.unused.some((u) => u.reason === undefined));
  return bad ? 1 : 0;
}

process.exitCode = main();
