/**
 * `crosslink dr status --dns-failover` against the running local cloud's Cloud DNS: the ledger
 * plan's record set (its failover's cloud-dns-failover-policy action) read with the
 * @google-cloud/dns client as the `--as` identity; its primaryBackup policy's targets and the side it
 * routes to, a record set without the policy (exit 1), an identity without the DNS permissions
 * refused, and a plan without a Cloud DNS switch (exit 2).
 */
import { cpSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { DNS, type Zone } from '@google-cloud/dns';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jwtClient } from '#gcp/google-credentials.ts';
import type { LocalCloud } from '#local/index.ts';
import { cliAgainst } from '../support/cli.ts';
import { startTestCloud } from '../support/local-cloud.ts';

const repo = resolve(import.meta.dirname, '..', '..');
const LEDGER = join(repo, 'config', 'dr-plans', 'example-ledger.yaml');
const PAYMENTS = join(repo, 'config', 'dr-plans', 'example-payments.yaml');
const NAME = 'api.ledger.example.com.';
const PRIMARY = '192.0.2.30';
const BACKUP = '192.0.2.40';

let cloud: LocalCloud;
let home: ReturnType<typeof cliAgainst>;
let zone: Zone;
let signals: string;

/** The record set of the ledger plan, with `routingPolicy` or plain data. */
async function setRecord(routingPolicy: unknown | undefined): Promise<void> {
  const [existing] = await zone.getRecords({ name: NAME } as never);
  const add = zone.record('a', {
    name: NAME,
    ttl: 30,
    ...(routingPolicy ? { routingPolicy } : { data: [PRIMARY] }),
  } as never);
  await zone.createChange({ ...(existing.length > 0 ? { delete: existing } : {}), add });
  await cloud.clock.advance(5_000);
}

const primaryBackup = (primary: string[], trickle: number) => ({
  primaryBackup: {
    primaryTargets: { externalEndpoints: primary },
    backupGeoTargets: { items: [{ location: 'europe-west1', rrdatas: [BACKUP] }] },
    trickleTraffic: trickle,
  },
  healthCheck: `projects/${cloud.gcp.project}/global/healthChecks/ledger-api`,
});

const status = (...args: string[]) => home.cli('dr', 'status', LEDGER, '--signals', signals, ...args);

beforeAll(async () => {
  cloud = await startTestCloud();
  home = cliAgainst(cloud, 'crosslink-dr-status-dns-');
  mkdirSync(join(home.home, 'config'));
  cpSync(join(repo, 'config', 'local-identities.yaml'), join(home.home, 'config', 'local-identities.yaml'));
  mkdirSync(join(home.home, '.crosslink', 'keys'));
  for (const who of ['admin', 'carol'])
    writeFileSync(
      join(home.home, '.crosslink', 'keys', `${who}.json`),
      JSON.stringify(cloud.gcp.auth.keyFile(who)),
    );
  signals = join(home.home, 'signals.jsonl');
  writeFileSync(
    signals,
    `${JSON.stringify({ time: '2026-06-01T10:00:00Z', service: 'ledger-api', vantage: 'gcp-europe-west4', signal: 'ledger-api', status: 'healthy' })}\n`,
  );
  // A project turns the Cloud DNS API on before using it, as on Google.
  await jwtClient(cloud.gcp.auth.keyFile('admin')).request({
    url: `${cloud.gcp.endpoint}/v1/projects/${cloud.gcp.project}/services/dns.googleapis.com:enable`,
    method: 'POST',
  });
  const dns = new DNS({
    projectId: cloud.gcp.project,
    authClient: jwtClient(cloud.gcp.auth.keyFile('admin')),
  } as never);
  dns.baseUrl = `${cloud.gcp.endpoint}/dns/v1`;
  [zone] = await dns.createZone('ledger-example-com', { dnsName: 'ledger.example.com.', description: '' });
}, 60_000);

afterAll(async () => {
  home?.remove();
  await cloud?.stop();
});

describe('crosslink dr status reads the serving side from Cloud DNS', () => {
  it("prints the primaryBackup policy's targets and the side it routes to", async () => {
    // Prepare
    await setRecord(primaryBackup([PRIMARY], 0.1));
    // Act
    const r = await status('--dns-failover');
    const json = await status('--dns-failover', '--json');
    // Assess
    expect([r.code, r.err]).toEqual([0, '']);
    expect(r.out.split('\n').slice(1, 4)).toEqual([
      `serving (Cloud DNS primaryBackup ${NAME} in ledger-example-com, A, TTL 30s): primary (gcp europe-west1) while a primary target is healthy, else standby (aws eu-west-1); 10% of answers to the standby; the Cloud DNS API does not expose the targets' health`,
      `  primary  ${PRIMARY}`,
      `  standby  europe-west1: ${BACKUP}`,
    ]);
    expect(JSON.parse(json.out).dns).toEqual({
      switch: 'cloud-dns',
      managedZone: 'ledger-example-com',
      recordName: NAME,
      serving: 'primary-while-healthy',
      policy: {
        type: 'A',
        ttl: 30,
        primaryTargets: [PRIMARY],
        backupTargets: [{ location: 'europe-west1', targets: [BACKUP] }],
        trickleTraffic: 0.1,
      },
    });
  });

  it('exits 1 naming why when the record set has no primaryBackup policy', async () => {
    await setRecord(undefined);
    const r = await status('--dns-failover');
    expect(r.code).toBe(1);
    expect(r.err).toBe(
      `ledger: serving (Cloud DNS primaryBackup ${NAME} in ledger-example-com): unknown: ${NAME} (A) in ledger-example-com has no primaryBackup routing policy`,
    );
  });

  it('passes on a refusal: an identity without dns.resourceRecordSets.list', async () => {
    const r = await status('--dns-failover', '--as', 'carol');
    expect(r.code).not.toBe(0);
    expect(r.err).toMatch(/dns\.resourceRecordSets\.list/);
  });

  it('refuses a plan whose failover has no Cloud DNS switch, and both switches at once (exit 2)', async () => {
    const payments = await home.cli('dr', 'status', PAYMENTS, '--signals', signals, '--dns-failover');
    const both = await status('--dns-failover', '--arc-endpoints', signals);
    expect(payments.code).toBe(2);
    expect(payments.err).toMatch(/actions\.failover: no cloud-dns-failover-policy action/);
    expect(both.code).toBe(2);
    expect(both.err).toMatch(/--arc-endpoints and --dns-failover: give one switch to read/);
  });
});
