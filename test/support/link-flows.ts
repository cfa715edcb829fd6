/**
 * The steps of the end-to-end link tests, through the CLI only, on a cloud of startBothHalves: alice
 * requests (AWS first or Google first), bob approves for AWS, carol for Google, each from the cloud
 * they belong to; then the checks that a link is ACTIVE on both sides, and the decommission to
 * DECOMMISSIONED with nothing billing. Shared by links-cli and the chaos tests.
 */
import { expect } from 'vitest';
import type { LinkResource } from '#scripts/cli/intake-client.ts';
import {
  AWS_FIRST,
  type BothHalves,
  decommissionThroughCli,
  GOOGLE_FIRST,
  linkOn,
  resourcesOf,
  untilOk,
  waitFor,
} from './both-halves.ts';

/** The link as `link show --json` prints it: the intake's resource (scripts/cli/intake-client.ts). */
export type LinkView = LinkResource;

/** The region pair of the example requests. */
const US_EAST = { aws: 'us-east-1', gcp: 'us-east4' };

/** Who approves for each side, from the cloud they belong to. */
const APPROVER = { aws: ['--as', 'bob'], gcp: ['--side', 'gcp', '--as', 'carol'] } as const;

export function linkFlows(both: () => BothHalves) {
  /** The link as each side's intake records it, read with the CLI as someone of that side. */
  async function bothSides(id: string): Promise<{ aws: LinkView; gcp: LinkView }> {
    const [aws, gcp] = await Promise.all([
      linkOn<LinkView>(both(), id, 'aws', 'bob'),
      linkOn<LinkView>(both(), id, 'gcp', 'carol'),
    ]);
    return { aws, gcp };
  }

  /** alice requests `file` (the CLI sends it to its initiator's intake); returns the link id. */
  async function request(file: string): Promise<string> {
    const requested = await both().cli('link', 'request', file, '--as', 'alice', '--json');
    expect(requested.code, requested.err).toBe(0);
    return (JSON.parse(requested.out) as LinkView).id;
  }

  /**
   * The initiator's approver approves at once; the peer's once the request has crossed (until then
   * their intake answers 4), with `--wait`: resolves at ACTIVE.
   */
  async function approveBoth(id: string, initiator: 'aws' | 'gcp'): Promise<void> {
    const peer = initiator === 'aws' ? 'gcp' : 'aws';
    const first = await both().cli('link', 'approve', id, ...APPROVER[initiator]);
    expect(first.code, first.err).toBe(0);
    const then = await untilOk(both().cli, [
      'link',
      'approve',
      id,
      ...APPROVER[peer],
      '--wait',
      '--timeout',
      '8h',
    ]);
    expect(then.code, then.err).toBe(0);
  }

  /** alice requests `file` on AWS, bob approves there, carol on Google once the request crossed; waits for ACTIVE. */
  async function awsFirst(file = AWS_FIRST): Promise<string> {
    const id = await request(file);
    await approveBoth(id, 'aws');
    return id;
  }

  /** alice requests `file` on Google, carol approves there, bob on AWS once the request crossed; waits for ACTIVE. */
  async function googleFirst(file = GOOGLE_FIRST): Promise<string> {
    const id = await request(file);
    await approveBoth(id, 'gcp');
    return id;
  }

  /**
   * ACTIVE on both sides, both naming the one connection and the one transport the clouds hold: the
   * connection in the link's AWS region (`where.aws`), the transport in its Google region (`where.gcp`).
   */
  async function expectActive(id: string, where: { aws: string; gcp: string } = US_EAST) {
    // `--wait` saw ACTIVE on one side; the other side's record follows through the relay.
    await waitFor(`${id} ACTIVE on both sides`, async () => {
      const v = await bothSides(id);
      return v.aws.state === 'ACTIVE' && v.gcp.state === 'ACTIVE';
    });
    const { aws, gcp } = await bothSides(id);
    const held = await resourcesOf(both(), id);
    expect(held.connections.map((c) => `${c.region} ${c.state}`)).toEqual([`${where.aws} available`]);
    expect(held.transports.map((t) => t.state)).toEqual(['ACTIVE']);
    for (const view of [aws, gcp]) {
      expect(view.state).toBe('ACTIVE');
      expect(view.halves.aws).toMatchObject({ state: 'UP', nativeState: 'available' });
      expect(view.halves.aws.connectionId).toMatch(/^mcc-/);
      expect(view.halves.gcp).toMatchObject({ state: 'UP', nativeState: 'ACTIVE' });
      expect(view.halves.gcp.transportName).toMatch(
        new RegExp(`^projects/payments-prod/locations/${where.gcp}/transports/${id}$`),
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
    await decommissionThroughCli(both(), id, asker, approver);
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

  /**
   * `link show` of both sides (as alice, who has both identities): each side's stages up to ACTIVE,
   * and the events that crossed between the clouds in the order they were emitted, with the
   * exchange each flow needs.
   */
  async function expectCrossed(id: string, initiator: 'aws' | 'gcp') {
    const peer = initiator === 'aws' ? 'gcp' : 'aws';
    const shown = await both().json<{
      stages: { side: string; state: string }[];
      crossed: { type: string; from: string; to: string; emittedAt: string | null; outcome: string }[];
    }>('link', 'show', id, '--as', 'alice');
    for (const side of ['aws', 'gcp'])
      expect(shown.stages.filter((s) => s.side === side).map((s) => s.state)).toEqual(
        expect.arrayContaining(['REQUESTED', 'AWAITING_APPROVAL', 'APPROVED', 'PROVISIONING', 'ACTIVE']),
      );
    const emitted = shown.crossed.map((c) => Date.parse(c.emittedAt ?? ''));
    expect(emitted.every((t) => Number.isFinite(t))).toBe(true);
    expect(emitted).toEqual([...emitted].sort((a, b) => a - b));
    const seen = JSON.stringify(shown.crossed, null, 1);
    const applied = shown.crossed
      .filter((c) => c.outcome === 'applied')
      .map((c) => `${c.from}>${c.to} ${c.type}`);
    // The request crosses first; each side's approval crosses to the other; the key goes to the
    // acceptor after the peer's approval.
    expect(applied[0], seen).toBe(`${initiator}>${peer} LinkRequested`);
    expect(applied, seen).toContain(`${peer}>${initiator} LinkApproved`);
    expect(applied, seen).toContain(`${initiator}>${peer} LinkApproved`);
    const all = shown.crossed.map((c) => `${c.from}>${c.to} ${c.type}`);
    expect(all.indexOf(`${initiator}>${peer} LinkKeyIssued`), seen).toBeGreaterThan(
      all.indexOf(`${peer}>${initiator} LinkApproved`),
    );
    const text = await both().cli('link', 'show', id, '--as', 'alice');
    expect(text.code, text.err).toBe(0);
    expect(text.out).toContain('events between the clouds:');
    expect(text.out).toMatch(new RegExp(`${initiator} -> ${peer}\\s+LinkRequested`));
  }

  return {
    bothSides,
    request,
    approveBoth,
    awsFirst,
    googleFirst,
    expectActive,
    expectCrossed,
    decommission,
  };
}
