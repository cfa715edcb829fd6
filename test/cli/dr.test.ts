import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '#scripts/cli/main.ts';

const ROOT = join(import.meta.dirname, '..', '..');
const PLAN = 'config/dr-plans/example-payments.yaml';

/** Runs the CLI in the repository folder and captures what it prints. */
async function crosslink(...argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(argv, { out: (l) => out.push(l), err: (l) => err.push(l), cwd: ROOT, env: {} });
  return { code, out, err };
}

function tempFile(name: string, text: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'crosslink-dr-'));
  const file = join(dir, name);
  writeFileSync(file, text);
  return file;
}

describe('crosslink dr validate', () => {
  it('accepts the example plan and says what it means', async () => {
    // Act
    const { code, out, err } = await crosslink('dr', 'validate', PLAN);

    // Assess: valid, with a warning: Route 53's HealthCheckStatus is read in us-east-1, the primary's region
    expect(err).toEqual([
      expect.stringMatching(
        /^config\/dr-plans\/example-payments\.yaml: warning: vantagePoints\[2\]: external checker route53-checkers \(route53-health-checks\) is read from aws us-east-1, the primary's region/,
      ),
    ]);
    expect(code).toBe(0);
    expect(out[0]).toBe(`${PLAN}: valid`);
    expect(out.join('\n')).toMatch(/quorum 2 of 3 independent vantage points/);
  });

  it('prints one line per problem and exits 2 for a bad plan', async () => {
    // Prepare
    const file = tempFile(
      'bad.yaml',
      `version: 1
service: payments-api
primary: { cloud: aws, region: us-east-1 }
standby: { cloud: aws, region: us-east-1 }
objectives: { rto: 15m, rpo: 1m }
vantagePoints:
  - { id: a, cloud: aws, region: us-west-2 }
  - { id: b, cloud: gcp, region: us-west1 }
  - { id: c, cloud: external, provider: route53-health-checks }
signals:
  - { name: up, observes: primary, source: probe, vantagePoints: [a, b, c] }
  - { name: ready, observes: standby, source: probe, vantagePoints: [a, b, c] }
actions:
  failover:
    - { cloud: aws, type: route53-change-resource-record-sets, hostedZoneId: Z1 }
  failback:
    - cloud: aws
      type: arc-routing-control
      states: [{ routingControlArn: "arn:aws:route53-recovery-control::123456789012:controlpanel/abc/routingcontrol/def", state: On }]
failback: { stablePeriod: 30m, approval: required }
`,
    );

    // Act
    const { code, out, err } = await crosslink('dr', 'validate', file);

    // Assess
    expect(code).toBe(2);
    expect(out).toEqual([]);
    expect(err).toEqual([
      expect.stringMatching(
        /^\S+bad\.yaml: actions\.failover\[0\]\.type: a Route 53 record edit \(ChangeResourceRecordSets\) is a control-plane call/,
      ),
      expect.stringMatching(/^\S+bad\.yaml: standby\.cloud: must differ from the primary's cloud \(aws\)/),
      expect.stringMatching(/^\S+bad\.yaml: actions\.failover: needs a traffic flip/),
    ]);
  });

  it('exits 2 (malformed input) when the plan file does not exist', async () => {
    // Act
    const { code, err } = await crosslink('dr', 'validate', 'config/dr-plans/nope.yaml');

    // Assess
    expect(code).toBe(2);
    expect(err).toEqual(['config/dr-plans/nope.yaml: no such file']);
  });
});

describe('crosslink dr evaluate', () => {
  it('prints each decision with its time, epoch and reasons', async () => {
    // Act
    const { code, out } = await crosslink(
      'dr',
      'evaluate',
      '--plan',
      PLAN,
      '--signals',
      'test/fixtures/dr/regional-outage.jsonl',
    );

    // Assess
    expect(code).toBe(0);
    expect(out).toContain('2026-03-02T10:06:03Z  epoch 3  FAILOVER approval not required -> standby');
    expect(out.at(-1)).toBe(
      'payments-api: 4 decisions (1 failover, 0 failback); standby serving at the end, epoch 4',
    );
  });

  it('prints the decisions as JSON with --json and names ignored records by line', async () => {
    // Act
    const { code, out, err } = await crosslink(
      'dr',
      'evaluate',
      '--json',
      '--plan',
      PLAN,
      '--signals',
      'test/fixtures/dr/recovery.jsonl',
    );

    // Assess
    expect(code).toBe(0);
    const decisions = JSON.parse(out.join('\n')) as { decision: string; approval?: string; epoch: number }[];
    expect(decisions.filter((d) => d.decision !== 'hold').map((d) => [d.decision, d.approval])).toEqual([
      ['failover', 'not-required'],
      ['failback', 'pending'],
      ['failback', 'approved'],
    ]);
    expect(err).toEqual([
      expect.stringMatching(/^test\/fixtures\/dr\/recovery\.jsonl:\d+: ignored: approval of a failback/),
    ]);
  });

  it('exits 2 with one line per malformed line of the signal log', async () => {
    // Prepare
    const file = tempFile(
      'signals.jsonl',
      [
        '{"time":"2026-03-02T10:00:10Z","service":"payments-api","vantage":"aws-us-west-2","signal":"api-availability","status":"healthy"}',
        '{"time":"2026-03-02T10:00:00Z","service":"payments-api","vantage":"aws-us-west-2","signal":"api-availability","status":"healthy"}',
        '{"time":"2026-03-02T10:00:20Z","service":"payments-api","vantage":"aws-us-west-2","signal":"api-availability","status":"down"}',
        'not json',
      ].join('\n'),
    );

    // Act
    const { code, err } = await crosslink('dr', 'evaluate', '--plan', PLAN, '--signals', file);

    // Assess
    expect(code).toBe(2);
    expect(err).toEqual([
      `${file}: line 2.time: 2026-03-02T10:00:00Z is earlier than line 1; the log must be in time order`,
      `${file}: line 3.status: must be one of "healthy", "unhealthy", "unknown"`,
      expect.stringMatching(new RegExp(`^${file}: line 4: not valid JSON`)),
    ]);
  });

  it('exits 2 when the signal log does not exist, and without --signals', async () => {
    // Act
    const missing = await crosslink('dr', 'evaluate', '--plan', PLAN, '--signals', 'nope.jsonl');
    const usage = await crosslink('dr', 'evaluate', '--plan', PLAN);

    // Assess
    expect(missing.code).toBe(2);
    expect(missing.err).toEqual(['nope.jsonl: no such file']);
    expect(usage.code).toBe(2);
    expect(usage.err).toEqual(['missing --signals <file>']);
  });
});

describe('crosslink dr status', () => {
  const log = (lines: object[]) => tempFile('signals.jsonl', lines.map((l) => JSON.stringify(l)).join('\n'));
  const signal = (time: string, vantage: string, signal: string, status: string, extra = {}) => ({
    time,
    service: 'payments-api',
    vantage,
    signal,
    status,
    ...extra,
  });

  it("prints the serving side, each vantage point's freshness and the last decisions", async () => {
    // Prepare: Google's vantage point last heard at 10:01, the AWS one blind at 10:10
    const file = log([
      signal('2026-03-02T10:00:00Z', 'aws-us-west-2', 'api-availability', 'healthy'),
      signal('2026-03-02T10:01:00Z', 'gcp-us-west1', 'api-availability', 'healthy'),
      signal('2026-03-02T10:10:00Z', 'route53-checkers', 'api-health-check', 'healthy'),
      signal('2026-03-02T10:10:00Z', 'aws-us-west-2', 'api-availability', 'unknown', {
        reason: 'vantage-down',
      }),
    ]);

    // Act
    const { code, out, err } = await crosslink(
      'dr',
      'status',
      PLAN,
      '--signals',
      file,
      '--at',
      '2026-03-02T10:12:00Z',
    );

    // Assess
    expect(err).toEqual([]);
    expect(code).toBe(0);
    expect(out[0]).toBe(
      'payments-api at 2026-03-02T10:12:00Z: primary serving by the decisions (aws us-east-1), epoch 1',
    );
    expect(out.slice(1, 8)).toEqual([
      'vantage points:',
      '  aws-us-west-2        blind  last report 2026-03-02T10:10:00Z (2m ago): api-availability unknown (vantage-down)',
      '  gcp-us-west1         stale  last report 2026-03-02T10:01:00Z (11m ago): api-availability healthy',
      '  route53-checkers     fresh  last report 2026-03-02T10:10:00Z (2m ago): api-health-check healthy',
      'gaps longer than 5m per side:',
      '  aws       gap 2026-03-02T10:00:00Z -> 2026-03-02T10:10:00Z (10m)',
      '  gcp       silent since 2026-03-02T10:01:00Z (11m)',
    ]);
    expect(out.slice(8)).toEqual([
      'last decisions:',
      '  2026-03-02T10:00:00Z  epoch 1  hold (primary serving)',
      expect.stringMatching(/^ {6}no-quorum: 0 of 3/),
    ]);
  });

  it('prints JSON with --json, and refuses a bad --at or a missing --signals', async () => {
    // Prepare
    const file = log([signal('2026-03-02T10:00:00Z', 'aws-us-west-2', 'api-availability', 'healthy')]);

    // Act
    const json = await crosslink('dr', 'status', '--json', PLAN, '--signals', file);
    const badAt = await crosslink('dr', 'status', PLAN, '--signals', file, '--at', 'noon');
    const noSignals = await crosslink('dr', 'status', PLAN);

    // Assess
    expect(json.code).toBe(0);
    expect(JSON.parse(json.out.join('\n'))).toMatchObject({
      service: 'payments-api',
      now: '2026-03-02T10:00:00Z',
      active: 'primary',
      vantagePoints: [
        { vantage: 'aws-us-west-2', freshness: 'fresh' },
        { freshness: 'silent' },
        { freshness: 'silent' },
      ],
      gaps: [{ side: 'gcp' }, { side: 'external' }],
    });
    expect(JSON.parse(json.out.join('\n')).gaps[0]).toEqual({ side: 'gcp' });
    expect([badAt.code, badAt.err]).toEqual([
      2,
      ['--at: "noon" is not an RFC 3339 time (e.g. 2026-03-02T10:15:00Z)'],
    ]);
    expect([noSignals.code, noSignals.err]).toEqual([2, ['missing --signals <file>']]);
  });
});
