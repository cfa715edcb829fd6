/**
 * `crosslink dr export` against the running local cloud (handshake in .crosslink/local.json): the
 * AWS side's recorded log read from DynamoDB through the local AWS edge as the `--as` identity, and
 * replayed by `dr evaluate` to exactly the decisions of the log that was recorded.
 */
import { cpSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoDbSignalLog } from '#aws/signal-log.ts';
import type { Observation } from '#core/dr/observations.ts';
import type { LocalCloud } from '#local/index.ts';
import { cliAgainst } from '../support/cli.ts';
import { createLinksTable } from '../support/links-table.ts';
import { ADMIN_CREDENTIALS, startTestCloud } from '../support/local-cloud.ts';

const repo = resolve(import.meta.dirname, '..', '..');
const PLAN = join(repo, 'config', 'dr-plans', 'example-payments.yaml');
const FIXTURE = join(repo, 'test', 'fixtures', 'dr', 'regional-outage.jsonl');
const TABLE = 'crosslink-links-dev';

let cloud: LocalCloud;
let dynamodb: DynamoDBClient;
let cli: ReturnType<typeof cliAgainst>['cli'];
let home: ReturnType<typeof cliAgainst>;
const lines = (text: string) => text.split('\n').filter(Boolean);

beforeAll(async () => {
  cloud = await startTestCloud();
  home = cliAgainst(cloud, 'crosslink-dr-export-');
  cli = home.cli;
  mkdirSync(join(home.home, 'config'));
  cpSync(join(repo, 'config', 'local-identities.yaml'), join(home.home, 'config', 'local-identities.yaml'));
  dynamodb = new DynamoDBClient({
    region: cloud.aws.region,
    endpoint: cloud.aws.endpoint,
    credentials: ADMIN_CREDENTIALS,
  });
  await createLinksTable(dynamodb, TABLE);
}, 60_000);

afterAll(async () => {
  dynamodb?.destroy();
  home?.remove();
  await cloud?.stop();
});

describe('crosslink dr export', () => {
  it('prints the recorded log as JSON lines that dr evaluate replays to the same decisions', async () => {
    // Prepare: the regional outage's observations recorded twice over (a relayed copy) on the AWS side
    const recorded = readFileSync(FIXTURE, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Observation);
    const log = new DynamoDbSignalLog(dynamodb, TABLE);
    await log.record(recorded);
    await log.record(recorded.slice(0, 50));

    // Act
    const exported = await cli('dr', 'export', PLAN);
    const since = await cli('dr', 'export', PLAN, '--since', '2026-03-02T10:05:00Z');
    const file = join(home.home, 'incident.jsonl');
    writeFileSync(file, `${exported.out}\n`);
    const replayed = await cli('dr', 'evaluate', '--json', '--plan', PLAN, '--signals', file);
    const original = await cli('dr', 'evaluate', '--json', '--plan', PLAN, '--signals', FIXTURE);

    // Assess
    expect([exported.code, exported.err]).toEqual([0, '']);
    expect(lines(exported.out)).toHaveLength(recorded.length);
    expect(
      lines(since.out)
        .map((l) => JSON.parse(l).time)
        .every((t: string) => Date.parse(t) >= Date.parse('2026-03-02T10:05:00Z')),
    ).toBe(true);
    expect(lines(since.out).length).toBeGreaterThan(0);
    expect(lines(since.out).length).toBeLessThan(recorded.length);
    expect(replayed.code).toBe(0);
    expect(JSON.parse(replayed.out)).toEqual(JSON.parse(original.out));
    const moves = (JSON.parse(replayed.out) as { decision: string }[]).filter((d) => d.decision !== 'hold');
    expect(moves.map((d) => d.decision)).toEqual(['failover']);
  });

  it('refuses a bad --since and names a table that does not exist', async () => {
    const bad = await cli('dr', 'export', PLAN, '--since', 'yesterday');
    const missing = await cli('dr', 'export', PLAN, '--table', 'no-such-table');
    expect([bad.code, bad.err]).toEqual([
      2,
      '--since: "yesterday" is not an RFC 3339 time (e.g. 2026-03-02T10:15:00Z)',
    ]);
    expect(missing.code).not.toBe(0);
    expect(missing.err).toMatch(/no-such-table|not found|ResourceNotFound/i);
  });
});
