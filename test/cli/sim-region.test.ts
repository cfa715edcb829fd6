/**
 * `crosslink sim region outage <aws|gcp> <region> [--off]` against a running local cloud: the region
 * joins the world's outages and leaves them, and bad input exits 2 (docs/local-route53-arc.md).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalCloud } from '#local/index.ts';
import { regionOutagesOf } from '#local/world/region-outages.ts';
import { cliAgainst } from '../support/cli.ts';
import { startTestCloud } from '../support/local-cloud.ts';

let cloud: LocalCloud;
let local: ReturnType<typeof cliAgainst>;
const cli = (...args: string[]) => local.cli(...args);

beforeAll(async () => {
  cloud = await startTestCloud();
  local = cliAgainst(cloud, 'crosslink-sim-region-');
});
afterAll(async () => {
  await cloud.stop();
  local.remove();
});

describe('crosslink sim region outage', () => {
  it('puts an AWS region and a Google region out, and brings them back', async () => {
    const on = await cli('sim', 'region', 'outage', 'aws', 'us-east-1');
    expect(on.code).toBe(0);
    expect(on.out).toBe('aws us-east-1: outage on\nregions out: aws/us-east-1');
    expect(regionOutagesOf(cloud.clock).isOut('aws', 'us-east-1')).toBe(true);
    expect((await cli('sim', 'region', 'outage', 'gcp', 'us-central1')).out).toContain(
      'regions out: aws/us-east-1, gcp/us-central1',
    );
    expect((await cli('sim', 'region', 'outage', 'aws', 'us-east-1', '--off')).out).toBe(
      'aws us-east-1: outage off\nregions out: gcp/us-central1',
    );
    expect((await cli('sim', 'region', 'outage', 'gcp', 'us-central1', '--off')).out).toContain(
      'regions out: none',
    );
    expect(regionOutagesOf(cloud.clock).list()).toEqual([]);
  });

  it('refuses another cloud, a region of the wrong cloud and another action with exit 2', async () => {
    expect((await cli('sim', 'region', 'outage', 'azure', 'eastus')).code).toBe(2);
    expect((await cli('sim', 'region', 'outage', 'aws', 'us-central1')).code).toBe(2);
    expect((await cli('sim', 'region', 'restore', 'aws', 'us-east-1')).code).toBe(2);
  });
});
