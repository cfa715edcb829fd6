/**
 * `crosslink sim link ...` against a running local cloud: list the links between the clouds, take
 * one down and up, flap it, and a Google region outage, with the exit codes of docs/architecture.md ("CLI and exit codes").
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GetConnectionCommand } from '#aws/interconnect-client.ts';
import type { LocalCloud } from '#local/index.ts';
import { cliAgainst } from '../support/cli.ts';
import { interconnectClient, startTestCloud, upLink } from '../support/local-cloud.ts';

let cloud: LocalCloud;
let local: ReturnType<typeof cliAgainst>;
const cli = (...args: string[]) => local.cli(...args);

beforeAll(async () => {
  cloud = await startTestCloud();
  local = cliAgainst(cloud, 'crosslink-sim-link-');
});
afterAll(async () => {
  await cloud.stop();
  local.remove();
});

describe('crosslink sim link', () => {
  it('lists an up link, takes it down and up, flaps it; unknown links exit 4, bad periods 2', async () => {
    // Prepare: an up link (AWS first)
    const aws = interconnectClient(cloud);
    const conn = await upLink(cloud, 'lk-cli');
    // Act / Assess
    const list = await cli('sim', 'link', 'list');
    expect(list.code).toBe(0);
    expect(list.out).toContain(conn.sharedId);
    expect(list.out).toMatch(/lk-cli ACTIVE\s+up/);
    expect((await cli('sim', 'link', 'down', conn.sharedId)).out).toContain('fault');
    expect((await aws.send(new GetConnectionCommand({ identifier: conn.id }))).connection?.state).toBe(
      'down',
    );
    expect((await cli('sim', 'link', 'up', conn.sharedId)).code).toBe(0);
    expect((await cli('sim', 'link', 'flap', conn.sharedId, '--period', '2m')).out).toContain('flap');
    expect((await cli('sim', 'link', 'steady', conn.sharedId)).code).toBe(0);
    expect((await aws.send(new GetConnectionCommand({ identifier: conn.id }))).connection?.state).toBe(
      'available',
    );
    // One BGP session down, then every one, then all up again; the connection stays available
    const one = await cli('sim', 'link', 'down', conn.sharedId, '--bgp', '1');
    expect(one.out).toMatch(/1\/2 up\s*$/m);
    expect((await cli('sim', 'link', 'down', conn.sharedId, '--bgp', 'all')).out).toMatch(/0\/2 up\s*$/m);
    expect((await aws.send(new GetConnectionCommand({ identifier: conn.id }))).connection?.state).toBe(
      'available',
    );
    expect((await cli('sim', 'link', 'flap', conn.sharedId, '--bgp', '1', '--period', '1m')).out).toMatch(
      /\(flapping\)\s*$/m,
    );
    expect((await cli('sim', 'link', 'up', conn.sharedId, '--bgp', 'all')).out).toMatch(/2\/2 up\s*$/m);
    expect((await cli('sim', 'link', 'down', conn.sharedId, '--bgp', '3')).code).toBe(2);
    expect((await cli('sim', 'link', 'down', conn.sharedId, '--bgp', 'some')).code).toBe(2);
    expect((await cli('sim', 'link', 'steady', conn.sharedId, '--bgp', '1')).code).toBe(2);
    expect((await cli('sim', 'link', 'flap', conn.sharedId, '--period', 'soon')).code).toBe(2);
    expect((await cli('sim', 'link', 'down', '00000000-0000-4000-8000-000000000000')).code).toBe(4);
    expect((await cli('sim', 'link', 'sideways', conn.sharedId)).code).toBe(2);
  });

  it('starts and ends a Google region outage', async () => {
    expect((await cli('sim', 'link', 'outage', 'us-east4')).out).toBe('us-east4: outage on');
    expect((await cli('sim', 'link', 'outage', 'us-east4', '--off')).out).toBe('us-east4: outage off');
  });
});
