/**
 * docs/deploy.md, the runbook: every command in its `sh` blocks is exercised by a test, which this
 * file names (and whose text must show that form of the command); the one command no test can run
 * here is listed as such, so a new command without a test fails this file.
 */
import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

interface Coverage {
  /** Which runbook commands this covers. */
  command: RegExp;
  /** The tests that run it (against the local cloud or offline), and what each must contain. */
  tests: { file: string; shows: string[] }[];
}

const COVERAGE: Coverage[] = [
  {
    command: /^CROSSLINK_DEPLOY_PHASE=aws-first npx osls deploy --stage \S+ --region \S+$/,
    tests: [
      {
        file: 'test/unit/deploy-values.test.ts',
        shows: ["CROSSLINK_DEPLOY_PHASE: 'aws-first'", "'package'"],
      },
      // Every local cloud of the tests packages the AWS half as the first phase.
      { file: 'local/aws-half.ts', shows: ["CROSSLINK_DEPLOY_PHASE: 'aws-first'"] },
    ],
  },
  {
    command: /^export CROSSLINK_INTAKE_INVOKERS=\S+$/,
    tests: [{ file: 'test/cli/deploy-gcp.test.ts', shows: ['CROSSLINK_INTAKE_INVOKERS', 'group:'] }],
  },
  {
    command: /^npx crosslink-deploy-gcp --project \S+ --from-aws-stack \S+ --aws-region \S+ --dry-run$/,
    tests: [
      {
        file: 'test/cli/deploy-gcp-from-aws.test.ts',
        shows: ["'--from-aws-stack', 'crosslink-dev', '--aws-region'", "'--dry-run'"],
      },
      { file: 'test/cli/deploy-gcp-bootstrap.test.ts', shows: ["deploy(sim, '--dry-run')"] },
    ],
  },
  {
    command:
      /^npx crosslink-deploy-gcp --project \S+ --from-aws-stack \S+ --aws-region \S+ --aws-env-out \S+$/,
    tests: [
      { file: 'test/cli/deploy-gcp-from-aws.test.ts', shows: ["'--from-aws-stack', 'crosslink-dev'"] },
      { file: 'test/cli/deploy-gcp-bootstrap.test.ts', shows: ["deploy(sim, '--aws-env-out', file)"] },
    ],
  },
  {
    command: /^set -a; \. \.\/\S+; set \+a; npx osls deploy --stage \S+ --region \S+$/,
    tests: [
      { file: 'test/cli/deploy-gcp-bootstrap.test.ts', shows: ['set -a; .', 'deployValues('] },
      { file: 'test/unit/deploy-values.test.ts', shows: ["packages the second phase with Google's values"] },
    ],
  },
  {
    command: /^npx crosslink doctor --target cloud --stage \S+ --region \S+ --project \S+$/,
    tests: [
      { file: 'test/cli/doctor.test.ts', shows: ["b.cli('doctor')"] },
      { file: 'test/unit/cli-doctor.test.ts', shows: ["'doctor', '--target', 'cloud'"] },
    ],
  },
  {
    command: /^export CROSSLINK_(AWS|GCP)_INTAKE_URL=\S+$/,
    tests: [
      {
        file: 'test/cli/link.test.ts',
        shows: ['CROSSLINK_AWS_INTAKE_URL: lc.intakeUrl', "'--target', 'cloud'"],
      },
    ],
  },
  {
    command: /^npx crosslink link request \S+ --target cloud --wait --timeout \S+$/,
    tests: [
      {
        file: 'test/cli/link.test.ts',
        shows: ["'link', 'request'", "'--wait', '--timeout'", "'--target', 'cloud'"],
      },
    ],
  },
  {
    command: /^npm run smoke:cloud -- --plan$/,
    tests: [{ file: 'test/unit/smoke-cloud.test.ts', shows: ["run(SETTINGS, '--plan')"] }],
  },
  {
    command: /^npx crosslink-deploy-gcp --project \S+ --config teardown\.yml --prune$/,
    tests: [{ file: 'test/cli/deploy-gcp-bootstrap.test.ts', shows: ['teardown.yml', "'--prune'"] }],
  },
  {
    command: /^npx osls remove --stage \S+ --region \S+$/,
    tests: [
      {
        file: 'test/cli/osls-remove.test.ts',
        shows: ["['remove', '--stage', 'dev', '--region', REGION]", 'AWS_ENDPOINT_URL'],
      },
    ],
  },
];

/** Not run by any test, and why (the runbook says so too): none today. */
const NOT_EXERCISED: Record<string, string> = {};

/** The commands of the runbook's `sh` blocks: comments and trailing comments dropped. */
function runbookCommands(): string[] {
  const text = readFileSync('docs/deploy.md', 'utf8');
  return [...text.matchAll(/```sh\n([\s\S]*?)```/g)].flatMap((m) =>
    (m[1] as string)
      .split('\n')
      .map((l) => l.replace(/\s+#.*$/, '').trim())
      .filter((l) => l !== '' && !l.startsWith('#')),
  );
}

describe('docs/deploy.md', () => {
  const commands = runbookCommands();

  it('has commands, each covered by tests that show it, or listed as not exercised', () => {
    expect(commands.length).toBeGreaterThan(8);
    for (const c of commands) {
      if (c in NOT_EXERCISED) continue;
      const matching = COVERAGE.filter((x) => x.command.test(c));
      expect(matching, `no test covers: ${c}`).toHaveLength(1);
      for (const t of (matching[0] as Coverage).tests) {
        expect(existsSync(t.file), t.file).toBe(true);
        const body = readFileSync(t.file, 'utf8');
        for (const s of t.shows) expect(body, `${t.file} should show ${s} (for: ${c})`).toContain(s);
      }
    }
  });

  it('lists no coverage for a command it no longer has', () => {
    for (const x of COVERAGE)
      expect(
        commands.some((c) => x.command.test(c)),
        String(x.command),
      ).toBe(true);
    for (const c of Object.keys(NOT_EXERCISED)) expect(commands).toContain(c);
  });

  it('is linked from the README', () => {
    expect(readFileSync('README.md', 'utf8')).toContain('docs/deploy.md');
  });
});
