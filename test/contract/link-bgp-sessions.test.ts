/**
 * A link's BGP sessions in the local world and how Direct Connect shows them, with the real SDK
 * client: DescribeVirtualInterfaces lists the Interconnect connection's virtual interface with one
 * BGP peer per session; `bgp-down` / `bgp-up` / `bgp-flap` move sessions while the connection stays
 * available, and a link with every session down carries no routes. The watcher's reader
 * (`DirectConnectBgpSessions`) reads the same.
 */
import {
  DescribeVirtualInterfacesCommand,
  DirectConnectClient,
  DirectConnectClientException,
} from '@aws-sdk/client-direct-connect';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DirectConnectBgpSessions } from '#aws/bgp-sessions.ts';
import { GetConnectionCommand, type InterconnectClient } from '#aws/interconnect-client.ts';
import type { LocalCloud } from '#local/index.ts';
import {
  ADMIN_CREDENTIALS,
  admin,
  interconnectClient,
  startTestCloud,
  upLink,
} from '../support/local-cloud.ts';

let cloud: LocalCloud;
let aws: InterconnectClient;
let dx: DirectConnectClient;
let conn: { id: string; sharedId: string };

beforeAll(async () => {
  cloud = await startTestCloud();
  aws = interconnectClient(cloud);
  dx = new DirectConnectClient({
    region: 'us-east-1',
    endpoint: cloud.aws.endpoint,
    credentials: ADMIN_CREDENTIALS,
  });
  conn = await upLink(cloud, 'lk-bgp', { advertisedRoutes: ['10.60.0.0/16'] });
  expect(cloud.world.isUp(conn.sharedId)).toBe(true);
});
afterAll(async () => {
  dx?.destroy();
  await cloud?.stop();
});

async function peers() {
  const out = await dx.send(new DescribeVirtualInterfacesCommand({ connectionId: conn.id }));
  return (out.virtualInterfaces ?? []).flatMap((v) =>
    (v.bgpPeers ?? []).map((p) => `${v.virtualInterfaceState} ${p.bgpPeerId} ${p.bgpStatus}`),
  );
}
const routesToAws = () => cloud.world.routesToAws().filter((r) => r.sharedId === conn.sharedId);
const state = async () =>
  (await aws.send(new GetConnectionCommand({ identifier: conn.id }))).connection!.state;

describe('a link BGP sessions, as Direct Connect shows them', () => {
  it('lists the connection virtual interface with both sessions up, and refuses a connection that does not exist', async () => {
    // Act
    const all = await dx.send(new DescribeVirtualInterfacesCommand({}));
    const listed = await peers();
    const missing = dx.send(new DescribeVirtualInterfacesCommand({ connectionId: 'mcc-nothere0' }));
    // Assess
    const vif = all.virtualInterfaces?.find((v) => v.connectionId === conn.id);
    expect(vif).toMatchObject({ virtualInterfaceType: 'transit', virtualInterfaceState: 'available' });
    expect(vif?.virtualInterfaceId).toMatch(/^dxvif-[0-9a-z]{8}$/);
    expect(listed).toHaveLength(2);
    expect(listed.every((p) => /^available dxpeer-[0-9a-z]{8} up$/.test(p))).toBe(true);
    await expect(missing).rejects.toBeInstanceOf(DirectConnectClientException);
  });

  it('one session down, then every session down (no routes), then up; the connection stays available', async () => {
    // Act / Assess: one down
    await admin(cloud, 'POST', '/world/bgp-down', { sharedId: conn.sharedId, sessions: 1 });
    expect((await peers()).map((p) => p.split(' ')[2])).toEqual(['down', 'up']);
    expect(routesToAws().map((r) => r.prefix)).toEqual(['10.60.0.0/16']);
    // every one down: the link carries nothing, though both halves are up
    await admin(cloud, 'POST', '/world/bgp-down', { sharedId: conn.sharedId, sessions: 'all' });
    expect((await peers()).map((p) => p.split(' ')[2])).toEqual(['down', 'down']);
    expect(routesToAws()).toEqual([]);
    expect(await state()).toBe('available');
    // up again
    await admin(cloud, 'POST', '/world/bgp-up', { sharedId: conn.sharedId });
    expect((await peers()).map((p) => p.split(' ')[2])).toEqual(['up', 'up']);
    expect(routesToAws().map((r) => r.prefix)).toEqual(['10.60.0.0/16']);
  });

  it('flaps a session on the period until bgp-up, and the watcher reader sees what Direct Connect says', async () => {
    // Prepare
    const reader = new DirectConnectBgpSessions(() => dx, 'us-east-1');
    // Act
    await admin(cloud, 'POST', '/world/bgp-flap', { sharedId: conn.sharedId, sessions: 1, period: '1m' });
    const first = await reader.sessions(conn.id);
    await cloud.clock.advance(60_000);
    const second = await reader.sessions(conn.id);
    await cloud.clock.advance(60_000);
    const third = await reader.sessions(conn.id);
    await admin(cloud, 'POST', '/world/bgp-up', { sharedId: conn.sharedId });
    await cloud.clock.advance(60_000);
    const steady = await reader.sessions(conn.id);
    // Assess
    expect([first, second, third, steady].map((s) => s.map((x) => x.up))).toEqual([
      [false, true],
      [true, true],
      [false, true],
      [true, true],
    ]);
  });

  it('refuses a session count the link does not have, naming the field', async () => {
    // Act
    const res = await fetch(`${cloud.admin}/world/bgp-down`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ sharedId: conn.sharedId, sessions: 3 }),
    });
    // Assess
    expect(res.status).toBe(400);
    expect(await res.text()).toContain('sessions must be 1 to 2 or all');
  });

  it('shows a link that went down as a virtual interface down with its sessions down', async () => {
    // Act
    await admin(cloud, 'POST', '/world/link-down', { sharedId: conn.sharedId });
    const listed = await peers();
    await admin(cloud, 'POST', '/world/link-up', { sharedId: conn.sharedId });
    // Assess
    expect(listed.map((p) => `${p.split(' ')[0]} ${p.split(' ')[2]}`)).toEqual(['down down', 'down down']);
  });
});
