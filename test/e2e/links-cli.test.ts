/**
 * Both link flows end to end through the CLI only, in one local cloud that runs both halves as
 * `npm start` does (test/support/both-halves.ts): alice requests, bob approves for AWS, carol for
 * Google, each from the cloud they belong to; the events cross between the clouds through the relay
 * (SQS -> Lambda -> Pub/Sub one way, push with OIDC -> JWT route -> bus the other). Each link reaches
 * ACTIVE on both halves, then `link decommission` takes it to DECOMMISSIONED with both halves gone.
 */
import { writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it, type TestContext } from 'vitest';
import {
  AWS_FIRST,
  type BothHalves,
  decommissionThroughCli,
  GOOGLE_FIRST,
  resourcesOf,
  startBothHalves,
  untilOk,
  waitFor,
} from '../support/both-halves.ts';

interface HalfView {
  state: string;
  nativeState: string | null;
  connectionId?: string;
  transportName?: string;
}
interface LinkView {
  id: string;
  state: string;
  initiator: 'aws' | 'gcp';
  halves: { aws: HalfView; gcp: HalfView };
  approvals: { side: string; by: string }[];
  decommission?: { status: string };
}

let both: BothHalves;

beforeAll(async () => {
  both = await startBothHalves();
}, 240_000);

afterAll(async () => {
  await both?.stop();
});

/** On a failure, every function's output goes to a file the failure names (the console keeps little). */
function dumpOnFailure(ctx: TestContext, name: string) {
  ctx.onTestFailed(() => {
    const file = `/tmp/crosslink-e2e-${name}-${Date.now()}.log`;
    writeFileSync(file, both.output());
    console.error(`function output of both halves: ${file}`);
  });
}

/** The link as each side's intake records it, read with the CLI as someone of that side. */
async function bothSides(id: string): Promise<{ aws: LinkView; gcp: LinkView }> {
  const [aws, gcp] = await Promise.all([
    both.json<LinkView>('link', 'show', id, '--side', 'aws', '--as', 'bob'),
    both.json<LinkView>('link', 'show', id, '--side', 'gcp', '--as', 'carol'),
  ]);
  return { aws, gcp };
}

async function expectActive(id: string) {
  // `--wait` saw ACTIVE on one side; the other side's record follows through the relay.
  await waitFor(`${id} ACTIVE on both sides`, async () => {
    const { aws, gcp } = await bothSides(id);
    return aws.state === 'ACTIVE' && gcp.state === 'ACTIVE';
  });
  const { aws, gcp } = await bothSides(id);
  const held = await resourcesOf(both, id);
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
  return aws;
}

/**
 * `link show` of both sides: each side's stages up to ACTIVE, and the events that crossed between
 * the clouds in the order they were emitted, with the exchange each flow needs.
 */
async function expectCrossed(id: string, initiator: 'aws' | 'gcp') {
  const peer = initiator === 'aws' ? 'gcp' : 'aws';
  const shown = await both.json<{
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
  const applied = shown.crossed
    .filter((c) => c.outcome === 'applied')
    .map((c) => `${c.from}>${c.to} ${c.type}`);
  // The request crosses first; the peer approves back; the key goes to the acceptor after both approvals.
  expect(applied[0]).toBe(`${initiator}>${peer} LinkRequested`);
  const seen = JSON.stringify(shown.crossed, null, 1);
  expect(applied, seen).toContain(`${peer}>${initiator} LinkApproved`);
  expect(applied, seen).toContain(`${initiator}>${peer} LinkApproved`);
  const all = shown.crossed.map((c) => `${c.from}>${c.to} ${c.type}`);
  expect(all.indexOf(`${initiator}>${peer} LinkKeyIssued`)).toBeGreaterThan(
    all.indexOf(`${peer}>${initiator} LinkApproved`),
  );
  const text = await both.cli('link', 'show', id, '--as', 'alice');
  expect(text.code, text.err).toBe(0);
  expect(text.out).toContain('events between the clouds:');
  expect(text.out).toMatch(new RegExp(`${initiator} -> ${peer}\\s+LinkRequested`));
}

async function decommission(id: string, asker: string[], approver: string[]) {
  await decommissionThroughCli(both, id, asker, approver);
  const { aws, gcp } = await bothSides(id);
  for (const view of [aws, gcp]) {
    expect(view.state).toBe('DECOMMISSIONED');
    expect(view.halves.aws.state).toBe('GONE');
    expect(view.halves.gcp.state).toBe('GONE');
  }
  const held = await resourcesOf(both, id);
  expect(held.billing).toEqual([]);
  expect(held.connections.length).toBeLessThanOrEqual(1);
  expect(held.transports.length).toBeLessThanOrEqual(1);
}

describe.concurrent('a link through the CLI only', () => {
  it('AWS first: requested by alice, approved by bob (AWS) and carol (Google), ACTIVE, then DECOMMISSIONED', async (ctx) => {
    dumpOnFailure(ctx, 'aws-first');
    const requested = await both.cli('link', 'request', AWS_FIRST, '--as', 'alice', '--json');
    expect(requested.code, requested.err).toBe(0);
    const id = (JSON.parse(requested.out) as LinkView).id;
    const bob = await both.cli('link', 'approve', id, '--as', 'bob');
    expect(bob.code, bob.err).toBe(0);
    // carol approves on Google once the request has crossed (until then her intake answers 4).
    const carol = await untilOk(both.cli, [
      'link',
      'approve',
      id,
      '--side',
      'gcp',
      '--as',
      'carol',
      '--wait',
      '--timeout',
      '8h',
    ]);
    expect(carol.code, carol.err).toBe(0);
    const view = await expectActive(id);
    expect(view.approvals.map((a) => [a.side, a.by]).sort()).toEqual([
      ['aws', 'arn:aws:iam::000000000000:user/bob'],
      ['gcp', 'carol@example.com'],
    ]);
    await expectCrossed(id, 'aws');
    // alice asks on AWS; carol approves from Google.
    await decommission(id, ['--as', 'alice'], ['--side', 'gcp', '--as', 'carol']);
  }, 900_000);

  it('Google first: requested by alice, approved by carol (Google) and bob (AWS), ACTIVE, then DECOMMISSIONED', async (ctx) => {
    dumpOnFailure(ctx, 'google-first');
    const requested = await both.cli('link', 'request', GOOGLE_FIRST, '--as', 'alice', '--json');
    expect(requested.code, requested.err).toBe(0);
    const id = (JSON.parse(requested.out) as LinkView).id;
    const carol = await both.cli('link', 'approve', id, '--side', 'gcp', '--as', 'carol');
    expect(carol.code, carol.err).toBe(0);
    const bob = await untilOk(both.cli, ['link', 'approve', id, '--as', 'bob', '--wait', '--timeout', '8h']);
    expect(bob.code, bob.err).toBe(0);
    await expectActive(id);
    await expectCrossed(id, 'gcp');
    // alice asks on Google; bob approves from AWS.
    await decommission(id, ['--side', 'gcp', '--as', 'alice'], ['--as', 'bob']);
  }, 900_000);
});
