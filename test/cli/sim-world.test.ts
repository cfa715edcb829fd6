/**
 * `crosslink sim region | service | vantage | relay` against a running local cloud: a Google region
 * outage takes the protected service's side there down, the service promoted, scaled, fenced and stalled,
 * a vantage point's network and the relay cut, with the exit codes of a usage error.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalCloud } from '#local/index.ts';
import { cliAgainst } from '../support/cli.ts';
import { admin, startTestCloud } from '../support/local-cloud.ts';

let cloud: LocalCloud;
let local: ReturnType<typeof cliAgainst>;
const cli = (...args: string[]) => local.cli(...args);

beforeAll(async () => {
  cloud = await startTestCloud();
  local = cliAgainst(cloud, 'crosslink-sim-world-');
  await admin(cloud, 'POST', '/world/service-create', {
    name: 'payments-api',
    primary: 'aws',
    aws: { region: 'us-east-1', ip: '192.0.2.10' },
    gcp: { region: 'us-central1', ip: '192.0.2.20' },
  });
});
afterAll(async () => {
  await cloud.stop();
  local.remove();
});

describe('crosslink sim region / service / vantage / relay', () => {
  it("a Google region outage takes the service's side there down; --off brings it back", async () => {
    expect((await cli('sim', 'region', 'outage', 'gcp', 'us-central1')).out).toBe(
      'gcp us-central1: outage on',
    );
    expect((await cli('sim', 'service', 'status', 'payments-api')).out).toMatch(
      /payments-api\s+gcp\s+us-central1\s+region-down\s+0\/2\s+replica/,
    );
    expect((await cli('sim', 'region', 'outage', 'gcp', 'us-central1', '--off')).out).toBe(
      'gcp us-central1: outage off',
    );
    expect((await cli('sim', 'service', 'status')).out).toMatch(
      /payments-api\s+gcp\s+us-central1\s+ok\s+2\/2/,
    );
  });

  it('promotes, scales and stalls the service; cuts a vantage network and the relay', async () => {
    expect((await cli('sim', 'service', 'stall', 'payments-api')).code).toBe(0);
    expect((await cli('sim', 'service', 'promote', 'payments-api', 'gcp')).out).toMatch(
      /^payments-api: gcp promoted; 0 writes lost/,
    );
    expect((await cli('sim', 'service', 'scale', 'payments-api', 'gcp', '12')).out).toBe(
      'payments-api gcp: 2 of 12 tasks running',
    );
    expect((await cli('sim', 'service', 'fence', 'payments-api', 'aws')).out).toBe(
      'payments-api: aws fenced (a writer): its writes are refused',
    );
    expect((await cli('sim', 'service', 'status', 'payments-api')).out).toMatch(
      /payments-api\s+aws\s+us-east-1\s+\S+\s+\S+\s+writer \(fenced\)/,
    );
    expect((await cli('sim', 'vantage', 'down', 'gcp-us-west1')).out).toBe(
      'vantage points with their network down: gcp-us-west1',
    );
    expect((await cli('sim', 'relay', 'partition')).out).toBe('relay between the clouds: cut');
    expect((await cli('sim', 'relay', 'partition', '--off')).out).toBe('relay between the clouds: connected');
  });

  it('usage errors exit 2, naming what is wrong', async () => {
    const badCloud = await cli('sim', 'region', 'outage', 'azure', 'eastus');
    const badTasks = await cli('sim', 'service', 'scale', 'payments-api', 'gcp', 'many');
    const unknown = await cli('sim', 'service', 'status', 'billing');
    expect(badCloud.code).toBe(2);
    expect(badCloud.err).toContain('cloud: "azure" is not aws or gcp');
    expect(badTasks.code).toBe(2);
    expect(unknown.code).toBe(2);
    expect(unknown.err).toContain('name: no protected service named "billing"');
  });
});
