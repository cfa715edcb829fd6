/**
 * The steps of the end-to-end link tests, through the CLI only, on a cloud of startBothHalves: alice
 * requests (AWS first or Google first), bob approves for AWS, carol for Google, each from the cloud
 * they belong to; then the checks that a link is ACTIVE on both sides, and the decommission to
 * DECOMMISSIONED with nothing billing. Shared by links-cli and the chaos tests.
 */
import { expect } from 'vitest';
import { AWS_FIRST, type BothHalves, GOOGLE_FIRST, resourcesOf, untilOk, waitFor } from './both-halves.ts';

export interface HalfView {
  state: string;
  nativeState: string | null;
  connectionId?: string;
  transportName?: string;
}
export interface AuditView {
  at: string;
  actor: string;
  action: string;
  outcome: string;
  reasons: string[];
  eventId?: string;
}
export interface LinkView {
  id: string;
  state: string;
  initiator: 'aws' | 'gcp';
  halves: { aws: HalfView; gcp: HalfView };
  approvals: { side: string; by: string }[];
  decommission?: { status: string };
  audit?: AuditView[];
}

export function linkFlows(both: () => BothHalves) {
  /** The link as each side's intake records it, read with the CLI as someone of that side. */
  async function bothSides(id: string): Promise<{ aws: LinkView; gcp: LinkView }> {
    const [aws, gcp] = await Promise.all([
      both().json<LinkView>('link', 'show', id, '--side', 'aws', '--as', 'bob'),
      both().json<LinkView>('link', 'show', id, '--side', 'gcp', '--as', 'carol'),
    ]);
    return { aws, gcp };
  }

  /** alice requests on AWS, bob approves there, carol on Google once the request crossed; waits for ACTIVE. */
  async function awsFirst(): Promise<string> {
    const requested = await both().cli('link', 'request', AWS_FIRST, '--as', 'alice', '--json');
    expect(requested.code, requested.err).toBe(0);
    const id = (JSON.parse(requested.out) as LinkView).id;
    const bob = await both().cli('link', 'approve', id, '--as', 'bob');
    expect(bob.code, bob.err).toBe(0);
    // carol approves on Google once the request has crossed (until then her intake answers 4).
    const carol = await untilOk(both().cli, [
      'link',
      'approve',
      id,
      '--side',
      'gcp',
      '--as',
      'carol',
      '--wait',
      '--timeout',
      '3h',
    ]);
    expect(carol.code, carol.err).toBe(0);
    return id;
  }

  /** alice requests on Google, carol approves there, bob on AWS once the request crossed; waits for ACTIVE. */
  async function googleFirst(): Promise<string> {
    const requested = await both().cli('link', 'request', GOOGLE_FIRST, '--as', 'alice', '--json');
    expect(requested.code, requested.err).toBe(0);
    const id = (JSON.parse(requested.out) as LinkView).id;
    const carol = await both().cli('link', 'approve', id, '--side', 'gcp', '--as', 'carol');
    expect(carol.code, carol.err).toBe(0);
    const bob = await untilOk(both().cli, [
      'link',
      'approve',
      id,
      '--as',
      'bob',
      '--wait',
      '--timeout',
      '3h',
    ]);
    expect(bob.code, bob.err).toBe(0);
    return id;
  }

  /** ACTIVE on both sides, both naming the one connection and the one transport the clouds hold. */
  async function expectActive(id: string) {
    const { aws, gcp } = await bothSides(id);
    const held = await resourcesOf(both(), id);
    expect(held.connections.map((c) => c.state)).toEqual(['available']);
    expect(held.transports.map((t) => t.state)).toEqual(['ACTIVE']);
    for (const view of [aws, gcp]) {
      expect(view.state).toBe('ACTIVE');
      expect(view.halves.aws).toMatchObject({ state: 'UP', nativeState: 'available' });
      expect(view.halves.aws.connectionId).toMatch(/^mcc-/);
      expect(view.halves.gcp).toMatchObject({ state: 'UP', nativeState: 'ACTIVE' });
      expect(view.halves.gcp.transportName).toMatch(
        /^projects\/payments-prod\/locations\/us-east4\/transports\//,
      );
    }
    // Both sides name the same two resources.
    expect(gcp.halves.aws.connectionId).toBe(aws.halves.aws.connectionId);
    expect(gcp.halves.gcp.transportName).toBe(aws.halves.gcp.transportName);
    expect(aws.halves.aws.connectionId).toBe(held.connections[0]?.id);
    return { aws, gcp };
  }

  /**
   * `link decommission` by `asker`, approved by `approver` (maybe on the other cloud) with `--wait`:
   * DECOMMISSIONED on both sides, both halves GONE, at most one connection and one transport ever,
   * nothing billing.
   */
  async function decommission(id: string, asker: string[], approver: string[]) {
    const asked = await both().cli('link', 'decommission', id, ...asker);
    expect(asked.code, asked.err).toBe(0);
    // The approver may be on the other cloud: their intake knows of the request once the relay
    // carried it there (until then `approve` would approve the ACTIVE link itself, a no-op).
    const side = approver.includes('gcp') ? 'gcp' : 'aws';
    const who = approver[approver.indexOf('--as') + 1] as string;
    await waitFor(`the decommission request on ${side}`, async () => {
      const view = await both().json<LinkView>('link', 'show', id, '--side', side, '--as', who);
      return view.decommission?.status === 'PENDING';
    });
    const approved = await untilOk(both().cli, [
      'link',
      'approve',
      id,
      ...approver,
      '--wait',
      '--timeout',
      '3h',
    ]);
    expect(approved.code, approved.err).toBe(0);
    const views = await bothSides(id);
    for (const view of [views.aws, views.gcp]) {
      expect(view.state).toBe('DECOMMISSIONED');
      expect(view.halves.aws.state).toBe('GONE');
      expect(view.halves.gcp.state).toBe('GONE');
    }
    const held = await resourcesOf(both(), id);
    expect(held.billing).toEqual([]);
    expect(held.connections.length).toBeLessThanOrEqual(1);
    expect(held.transports.length).toBeLessThanOrEqual(1);
    return views;
  }

  return { bothSides, awsFirst, googleFirst, expectActive, decommission };
}
