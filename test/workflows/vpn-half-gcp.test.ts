/**
 * The Google half of a VPN run through its workflow on the local cloud, as `npm start` runs it: the
 * root gcp.yml (the vpn-half workflow, the vpnHalf function as crosslink-vpn, the peer-events and
 * starter functions), Google IAM enforced, two of the estate's VPNs (config/local-estate.yaml: the
 * prod one on the virtual private gateway, the one on the Transit Gateway; the second VPN on that
 * gateway left out, so the VPC's routes to Google leave the gateway when the first drains) in the
 * network project payments-prod, reached as that project's account. Commands are published as the
 * AWS relay would (on crosslink-peer-events) or as this side would (on crosslink-events); results
 * are read from crosslink-events. Each action changes only the VPN it names, the routes and traffic
 * follow (the drained VPN's BGP sessions go down, its learned routes are withdrawn on both sides and
 * the VPC's traffic to Google leaves it; undrain brings it back), a
 * repeat and an older run's command change nothing, the pause switch changes nothing, a prod
 * delete waits for an approver's approval at the intake (once; its deadline ends it, deleting
 * nothing), and a delete removes the tunnels, the router's peers and interfaces for
 * them, and the external VPN gateway.
 */
import { generateKeyPairSync } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DescribeRouteTablesCommand, EC2Client } from '@aws-sdk/client-ec2';
import { PubSub, type Subscription } from '@google-cloud/pubsub';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildEvent, type CloudEvent } from '#core/envelope.ts';
import type { VpnHalfResultData } from '#core/events/catalog.ts';
import { toPubSubMessage } from '#gcp/envelope.ts';
import { jwtClient } from '#gcp/google-credentials.ts';
import { VPN_APPROVAL_WAIT_MS } from '#gcp/vpn-half.ts';
import { networkOf } from '#local/aws/common/network.ts';
import { type Estate, loadEstate } from '#local/estate.ts';
import type { WorkflowsService } from '#local/gcp/workflows-api.ts';
import type { LocalCloud } from '#local/index.ts';
import { cliAgainst } from '../support/cli.ts';
import { ADMIN_CREDENTIALS, hubIdentities, startTestCloud } from '../support/local-cloud.ts';

const ACCOUNT = '000000000000';
const AWS = { cloud: 'aws' as const, accountId: ACCOUNT, region: 'us-east-1' };
const NET = 'payments-prod';
const REGION = 'us-east4';
const GOOGLE_CIDR = '10.20.0.0/16';
const peer = generateKeyPairSync('rsa', { modulusLength: 2048 });

let cloud: LocalCloud;
let pubsub: PubSub;
let results: Subscription;
let workflows: WorkflowsService;
let ec2: EC2Client;
const published: CloudEvent<VpnHalfResultData>[] = [];
/** The estate's VPNs: the AWS id and the Google tunnels each pairs with. */
const vpn = {
  vgw: { id: '', tunnels: [] as string[] },
  tgw: { id: '', tunnels: [] as string[] },
};

const world = () => networkOf(cloud.aws.edge.world);

function vpnNamed(name: string) {
  for (const v of world().vpnConnections.values()) {
    const tunnels = world()
      .pairedTunnels(v.vpnConnectionId)
      .map((p) => p.gcpTunnel);
    if (tunnels.length && tunnels.every((t) => t.name.startsWith(`${name}-tunnel-`)))
      return {
        id: v.vpnConnectionId,
        tunnels: tunnels.map((t) => `projects/${t.project}/regions/${t.region}/vpnTunnels/${t.name}`).sort(),
      };
  }
  throw new Error(`no VPN ${name} in the estate`);
}

/** The estate without its second VPN on the virtual private gateway. */
function twoEstateVpns(): Estate {
  const e = loadEstate('config/local-estate.yaml');
  return { ...e, aws: { ...e.aws, vpns: e.aws.vpns.filter((v) => v.name !== 'payments-vpn-vgw-2') } };
}

beforeAll(async () => {
  cloud = await startTestCloud({
    clock: { mode: 'manual', start: new Date().toISOString() },
    emulators: true,
    gcpConfig: 'gcp.yml',
    estate: twoEstateVpns(),
    gcpVariables: {
      CROSSLINK_PEER_PUBLIC_KEY_PEM: peer.publicKey.export({ type: 'spki', format: 'pem' }).toString(),
      CROSSLINK_PEER_KEY_ID: `arn:aws:kms:us-east-1:${ACCOUNT}:key/test-peer`,
    },
  });
  pubsub = new PubSub({
    projectId: cloud.gcp.project,
    apiEndpoint: cloud.emulators?.pubsubHost as string,
    emulatorMode: true,
  });
  [results] = await pubsub.topic('crosslink-events').createSubscription('test-vpn-results');
  results.on('message', (m) => {
    const e = JSON.parse(m.data.toString('utf8')) as CloudEvent<VpnHalfResultData>;
    if (/^crosslink\.Vpn(Drained|Undrained|HalfDeleted)\./.test(e.type)) published.push(e);
    m.ack();
  });
  workflows = cloud.plumbing?.workflow('vpn-half') as WorkflowsService;
  ec2 = new EC2Client({ region: 'us-east-1', endpoint: cloud.aws.endpoint, credentials: ADMIN_CREDENTIALS });
  // The VPNs' tunnels come up and BGP establishes.
  await cloud.clock.advance(3 * 60_000);
  vpn.vgw = vpnNamed('payments-vpn-vgw');
  vpn.tgw = vpnNamed('payments-vpn-tgw');
}, 120_000);

afterAll(async () => {
  ec2?.destroy();
  await results?.close();
  await pubsub?.close();
  await cloud?.stop();
});

type Command = 'VpnDrainRequested' | 'VpnUndrainRequested' | 'VpnDeleteRequested';
const RESULT = {
  VpnDrainRequested: 'VpnDrained',
  VpnUndrainRequested: 'VpnUndrained',
  VpnDeleteRequested: 'VpnHalfDeleted',
};

const executions = (vpnId: string) =>
  workflows.list(
    `projects/${cloud.gcp.project}/locations/${cloud.gcp.region}/workflows/vpn-half`,
    `labels.crosslink-vpn-id="${vpnId}"`,
  );

async function eventually<T>(what: string, f: () => T | undefined | false, ms = 60_000): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const v = f();
    if (v) return v;
    if (Date.now() > until) throw new Error(`${what}: not within ${ms / 1000} s`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * Publishes a command (relayed from AWS by default) and waits for the execution it starts; returns
 * that execution's state, result or error, and the result event it published (if any).
 */
async function command(
  name: Command,
  which: typeof vpn.vgw,
  runId: string,
  requestedAt: string,
  o: { from?: 'aws' | 'gcp'; requestedBy?: string; parked?: boolean } = {},
) {
  const known = new Set(executions(which.id).map((e) => e.name));
  const event = buildEvent({
    name,
    origin: o.from === 'gcp' ? { cloud: 'gcp', project: cloud.gcp.project, region: cloud.gcp.region } : AWS,
    subject: which.id,
    data: {
      runId,
      vpnId: which.id,
      requestedBy: o.requestedBy ?? 'planner@example.com',
      requestedAt,
      gcpTunnels: which.tunnels,
    },
    clock: cloud.clock,
  }) as CloudEvent;
  const m = toPubSubMessage(event);
  await pubsub
    .topic(o.from === 'gcp' ? 'crosslink-events' : 'crosslink-peer-events')
    .publishMessage({ data: m.data, attributes: { ...m.attributes } });
  const fresh = await eventually(`${name} ${which.id}`, () => {
    const e = executions(which.id).find((x) => !known.has(x.name));
    if (!e) return undefined;
    if (e.state !== 'ACTIVE') return e;
    // A prod delete waiting for its approval on its callback.
    return o.parked && workflows.callbacks.waiting(e.name) > 0 ? e : undefined;
  });
  return outcomeOf(fresh.name, name, runId);
}

/** An execution's state, result or error, and the result event it published (if any). */
async function outcomeOf(execution: string, name: Command, runId: string) {
  const newest = [...executions(vpn.vgw.id), ...executions(vpn.tgw.id)].find((e) => e.name === execution);
  const result =
    newest?.state === 'SUCCEEDED' ? (JSON.parse(newest.result as string) as VpnHalfResultData) : undefined;
  // A repeated delete that found another execution waiting publishes nothing.
  const resultEvent = result?.appliedAt
    ? await eventually(`${RESULT[name]} event`, () =>
        published.find(
          (e) =>
            e.type === `crosslink.${RESULT[name]}.v1` &&
            e.data.runId === runId &&
            e.data.appliedAt === result.appliedAt,
        ),
      )
    : undefined;
  return { name: execution, state: newest?.state, result, error: newest?.error?.payload, resultEvent };
}

/** Waits for a waiting execution to end; its outcome. */
async function settled(execution: string, name: Command, runId: string) {
  await eventually(`${execution} ends`, () =>
    [...executions(vpn.vgw.id), ...executions(vpn.tgw.id)].some(
      (e) => e.name === execution && e.state !== 'ACTIVE',
    ),
  );
  return outcomeOf(execution, name, runId);
}

/** Each BGP peer of the estate's VPN routers: enable and status. */
function peers() {
  const out: Record<string, { enable: string; status: string; learned: number }> = {};
  for (const r of ['payments-vpn-vgw-router', 'payments-vpn-tgw-router']) {
    let s: ReturnType<ReturnType<typeof world>['routerStatus']>;
    try {
      s = world().routerStatus(NET, REGION, r);
    } catch {
      continue;
    }
    for (const p of s.bgpPeerStatus)
      out[p.name] = { enable: p.enable, status: p.status, learned: p.numLearnedRoutes };
  }
  return out;
}

/** The AWS VPC's routes to the Google network (the VGW's propagated route is the VGW VPN's). */
async function awsRoutesToGoogle() {
  const tables = (await ec2.send(new DescribeRouteTablesCommand({}))).RouteTables ?? [];
  return tables
    .flatMap((t) => t.Routes ?? [])
    .filter((r) => r.DestinationCidrBlock === GOOGLE_CIDR)
    .map((r) => r.GatewayId ?? r.TransitGatewayId);
}

const gcpState = () => ({
  tunnels: [...world().vpnTunnels.values()].map((t) => t.name).sort(),
  externalGateways: [...world().externalVpnGateways.values()].map((g) => g.name).sort(),
  routers: Object.fromEntries(
    [...world().routers.values()]
      .filter((r) => r.project === NET)
      .map((r) => [
        r.name,
        {
          interfaces: r.interfaces.map((i) => i.name),
          peers: r.bgpPeers.map((p) => `${p.name}:${p.enable ?? 'TRUE'}`),
        },
      ]),
  ),
});

/** An approval at the Google intake, as `who` (an ID token for the intake's URL). */
async function intake(who: string, vpnId: string, body: unknown) {
  const url = cloud.plumbing?.functions.url('intake') as string;
  const token = await jwtClient(cloud.gcp.auth.keyFile(who)).fetchIdToken(url);
  const res = await fetch(`${url}/vpns/${vpnId}/approvals`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: await res.text() };
}

/** The executions waiting for an approval across the tests below. */
let waiting: Awaited<ReturnType<typeof command>>;
let byCarol: Awaited<ReturnType<typeof command>>;

/** `crosslink vpn approve <vpnId> --run <runId> --side gcp --as <who> --json` against this cloud. */
async function approveWithCli(who: string, vpnId: string, runId: string) {
  const run = cliAgainst(cloud, 'crosslink-vpn-approve-gcp-');
  try {
    mkdirSync(join(run.home, 'config'));
    writeFileSync(join(run.home, 'config', 'local-identities.yaml'), hubIdentities(cloud.gcp.project));
    mkdirSync(join(run.home, '.crosslink', 'keys'));
    writeFileSync(
      join(run.home, '.crosslink', 'keys', `${who}.json`),
      JSON.stringify(cloud.gcp.auth.keyFile(who)),
    );
    const r = await run.cli('vpn', 'approve', vpnId, '--run', runId, '--side', 'gcp', '--as', who, '--json');
    return { ...r, err: r.err ? r.err.split('\n') : [] };
  } finally {
    run.remove();
  }
}

const T = (h: number) => `2026-12-01T${String(h).padStart(2, '0')}:00:00Z`;

describe('the Google vpn-half workflow', () => {
  it('drains only the named VPN: its BGP peers disabled, its routes withdrawn on both sides', async () => {
    // Prepare
    const before = peers();
    const awsBefore = await awsRoutesToGoogle();
    const stateBefore = gcpState();
    // Traffic from the VGW VPN's VPC to the Google network.
    const vgwId = world().vpnConnections.get(vpn.vgw.id)?.vpnGatewayId as string;
    const vpcId = world().vpnGateways.get(vgwId)?.vpcAttachments[0]?.vpcId as string;
    world().addFlow({ name: 'to-google', from: vpcId, to: '10.20.1.10', bytesPerSecond: 1000 });
    const pathBefore = structuredClone(world().flow('to-google').path);
    // Act
    const out = await command('VpnDrainRequested', vpn.vgw, 'run-1', T(1));
    // Assess
    expect(out.state, out.error).toBe('SUCCEEDED');
    expect(out.result).toMatchObject({ side: 'gcp', outcome: 'changed', method: 'gcp-bgp-peers' });
    expect(out.result?.changed).toEqual([
      `projects/${NET}/regions/${REGION}/routers/payments-vpn-vgw-router/bgpPeers/payments-vpn-vgw-peer-0`,
      `projects/${NET}/regions/${REGION}/routers/payments-vpn-vgw-router/bgpPeers/payments-vpn-vgw-peer-1`,
    ]);
    expect(out.resultEvent?.source).toMatch(/^crosslink:\/\/gcp\//);
    const after = peers();
    expect(before['payments-vpn-vgw-peer-0']).toMatchObject({ enable: 'TRUE', status: 'UP' });
    expect(after['payments-vpn-vgw-peer-0']).toMatchObject({ enable: 'FALSE', status: 'DOWN', learned: 0 });
    expect(after['payments-vpn-vgw-peer-1']).toMatchObject({ enable: 'FALSE', status: 'DOWN', learned: 0 });
    expect(after['payments-vpn-tgw-peer-0']).toEqual(before['payments-vpn-tgw-peer-0']);
    expect(after['payments-vpn-tgw-peer-1']).toEqual(before['payments-vpn-tgw-peer-1']);
    expect(awsBefore.some((g) => g?.startsWith('vgw-'))).toBe(true);
    expect((await awsRoutesToGoogle()).some((g) => g?.startsWith('vgw-'))).toBe(false);
    expect(pathBefore).toMatchObject({ delivered: true, via: { kind: 'vpn', vpnConnectionId: vpn.vgw.id } });
    expect(world().flow('to-google').path).not.toMatchObject({ via: { vpnConnectionId: vpn.vgw.id } });
    const stateAfter = gcpState();
    expect(stateAfter.tunnels).toEqual(stateBefore.tunnels);
    expect(stateAfter.routers['payments-vpn-tgw-router']).toEqual(
      stateBefore.routers['payments-vpn-tgw-router'],
    );
  }, 120_000);

  it('changes nothing on a repeat of the same command, or an older run’s command arriving late', async () => {
    // Prepare
    const before = gcpState();
    // Act
    const again = await command('VpnDrainRequested', vpn.vgw, 'run-1', T(1));
    const older = await command('VpnUndrainRequested', vpn.vgw, 'run-0', T(0));
    // Assess
    expect(again.result).toMatchObject({ outcome: 'unchanged', changed: [] });
    expect(older.result).toMatchObject({ outcome: 'stale', changed: [] });
    expect(gcpState()).toEqual(before);
  }, 120_000);

  it('undrains exactly what the drain disabled, and the routes come back', async () => {
    // Act
    const out = await command('VpnUndrainRequested', vpn.vgw, 'run-2', T(2), { from: 'gcp' });
    await cloud.clock.advance(60_000);
    // Assess
    expect(out.result).toMatchObject({ outcome: 'changed' });
    expect(peers()['payments-vpn-vgw-peer-0']).toMatchObject({ enable: 'TRUE', status: 'UP' });
    expect((await awsRoutesToGoogle()).some((g) => g?.startsWith('vgw-'))).toBe(true);
    expect(world().flow('to-google').path).toMatchObject({
      delivered: true,
      via: { kind: 'vpn', vpnConnectionId: vpn.vgw.id },
    });
  }, 120_000);

  it('refuses a delete while the VPN is not drained; a prod delete waits for an approval, once, changing nothing', async () => {
    // Prepare
    const before = gcpState();
    // Act
    const undrained = await command('VpnDeleteRequested', vpn.vgw, 'run-3', T(3));
    await command('VpnDrainRequested', vpn.vgw, 'run-4', T(4));
    const drained = gcpState();
    waiting = await command('VpnDeleteRequested', vpn.vgw, 'run-5', T(5), { parked: true });
    const repeat = await command('VpnDeleteRequested', vpn.vgw, 'run-5', T(5));
    // Assess
    expect(undrained.state).toBe('FAILED');
    expect(undrained.error).toMatch(/VpnNotDrained/);
    expect(waiting.state, JSON.stringify(waiting.error)).toBe('ACTIVE');
    expect(repeat.state, repeat.error).toBe('SUCCEEDED');
    expect(repeat.result).toMatchObject({ parked: false, reason: expect.stringMatching(/already waits/) });
    expect(workflows.callbacks.waiting(repeat.name)).toBe(0);
    expect(drained.tunnels).toEqual(before.tunnels);
    expect(gcpState()).toEqual(drained);
  }, 120_000);

  it('deletes a prod VPN only after an approver, not its requester, approved it at the intake: the waiting execution resumes', async () => {
    // Prepare: run-5's delete waits (above); run-9's, asked by carol, waits too.
    byCarol = await command('VpnDeleteRequested', vpn.vgw, 'run-9', T(9), {
      requestedBy: 'carol@example.com',
      parked: true,
    });
    const before = gcpState();
    // Act
    const selfApproved = await intake('carol', vpn.vgw.id, { runId: 'run-9', decision: 'approve' });
    const notApprover = await intake('alice', vpn.vgw.id, { runId: 'run-5', decision: 'approve' });
    const nothingWaiting = await intake('carol', vpn.vgw.id, { runId: 'run-77', decision: 'approve' });
    const stillWaiting = (await outcomeOf(waiting.name, 'VpnDeleteRequested', 'run-5')).state;
    const unchanged = gcpState();
    // carol approves through the CLI (an ID token from her key file, for the Google intake).
    const approved = await approveWithCli('carol', vpn.vgw.id, 'run-5');
    const deleted = await settled(waiting.name, 'VpnDeleteRequested', 'run-5');
    // Assess
    expect(byCarol.state).toBe('ACTIVE');
    expect(selfApproved.status).toBe(403);
    expect(selfApproved.body).toMatch(/carol@example.com requested the delete of vpn-/);
    expect(notApprover.status).toBe(403);
    expect(notApprover.body).toMatch(/alice@example.com is not an approver for gcp in prod/);
    expect(nothingWaiting.status).toBe(404);
    expect(stillWaiting).toBe('ACTIVE');
    expect(unchanged).toEqual(before);
    expect(approved.err).toEqual([]);
    expect(approved.code).toBe(0);
    expect(JSON.parse(approved.out).approval).toMatchObject({
      approver: 'carol@example.com',
      requestedBy: 'planner@example.com',
    });
    expect(deleted.state, deleted.error).toBe('SUCCEEDED');
    expect(deleted.result?.changed.slice(0, 2)).toEqual(vpn.vgw.tunnels);
    expect(gcpState().tunnels.filter((t) => t.startsWith('payments-vpn-vgw-'))).toEqual([]);
  }, 180_000);

  it('a delete whose approval does not come within 72 h ends deleting nothing, and its result says why', async () => {
    // Act: run-9's delete (carol's, above) is still waiting.
    await cloud.clock.advance(VPN_APPROVAL_WAIT_MS + 60_000);
    const expired = await settled(byCarol.name, 'VpnDeleteRequested', 'run-9');
    const said = await eventually('the expired result', () =>
      published.find((e) => e.data.runId === 'run-9' && e.data.outcome === 'expired'),
    );
    // Assess
    expect(expired.state).toBe('FAILED');
    expect(expired.error).toMatch(/VpnDeleteApprovalExpired/);
    expect(said.type).toBe('crosslink.VpnHalfDeleted.v1');
    expect(said.data).toMatchObject({
      vpnId: vpn.vgw.id,
      changed: [],
      reason: expect.stringMatching(/no approval .* came within 72 h: nothing deleted/),
    });
  }, 120_000);

  it('deletes a nonprod VPN: tunnels, then its router peers and interfaces, then its external gateway; a repeat answers changed, another run gone', async () => {
    // Prepare
    await command('VpnDrainRequested', vpn.tgw, 'run-6', T(6));
    const before = gcpState();
    // Act
    const out = await command('VpnDeleteRequested', vpn.tgw, 'run-7', T(7));
    const again = await command('VpnDeleteRequested', vpn.tgw, 'run-7', T(7));
    // Assess
    expect(out.state, out.error).toBe('SUCCEEDED');
    expect(out.result?.changed).toEqual([
      ...vpn.tgw.tunnels,
      `projects/${NET}/regions/${REGION}/routers/payments-vpn-tgw-router`,
      `projects/${NET}/global/externalVpnGateways/payments-vpn-tgw-aws`,
    ]);
    const after = gcpState();
    expect(after.tunnels).toEqual(before.tunnels.filter((t) => !t.startsWith('payments-vpn-tgw-')));
    expect(after.externalGateways).toEqual(
      before.externalGateways.filter((g) => g !== 'payments-vpn-tgw-aws'),
    );
    expect(after.routers['payments-vpn-tgw-router']).toEqual({ interfaces: [], peers: [] });
    expect(after.routers['payments-vpn-vgw-router']).toEqual(before.routers['payments-vpn-vgw-router']);
    // The same command again answers what it did; another run's delete finds the half gone.
    expect(again.result).toMatchObject({ outcome: 'changed', changed: [] });
    const later = await command('VpnDeleteRequested', vpn.tgw, 'run-8', T(8));
    expect(later.result).toMatchObject({ outcome: 'gone', changed: [] });
  }, 180_000);

  it('refuses a command without its Google tunnels before any execution starts, naming the field', async () => {
    // Prepare
    const before = executions(vpn.vgw.id).length;
    const event = buildEvent({
      name: 'VpnDrainRequested',
      origin: AWS,
      subject: vpn.vgw.id,
      data: { runId: 'run-8', vpnId: vpn.vgw.id, requestedBy: 'planner@example.com', requestedAt: T(8) },
      clock: cloud.clock,
    }) as CloudEvent;
    const m = toPubSubMessage(event);
    // Act
    await pubsub
      .topic('crosslink-peer-events')
      .publishMessage({ data: m.data, attributes: { ...m.attributes } });
    const logged = await eventually('the refusal logged', () =>
      cloud.plumbing?.functions
        .get('peer-events')
        ?.output.find((l) => l.includes('dropped') && l.includes('gcpTunnels')),
    );
    // Assess: the push is acknowledged (a redelivery cannot fix it) and nothing started.
    expect(logged).toMatch(/gcpTunnels: is required by the Google half/);
    expect(executions(vpn.vgw.id).length).toBe(before);
  }, 120_000);

  it('made every Compute call as the network project’s account, with the VPN half’s permissions, none refused', () => {
    // Assess (after the runs above)
    const compute = Object.fromEntries(
      [...cloud.gcp.iam.used()]
        .map(([principal, perms]): [string, string[]] => [
          principal,
          [...perms.keys()].filter((p) => p.startsWith('compute.')).sort(),
        ])
        .filter(([, perms]) => perms.length > 0),
    );
    const refused = cloud.gcp.iam.refused().filter((r) => r.permission.startsWith('compute.'));
    expect(compute).toEqual({
      'serviceAccount:crosslink-net@payments-prod.iam.gserviceaccount.com': [
        'compute.externalVpnGateways.delete',
        'compute.externalVpnGateways.get',
        'compute.routers.get',
        'compute.routers.update',
        'compute.vpnTunnels.delete',
        'compute.vpnTunnels.get',
        'compute.vpnTunnels.list',
      ],
    });
    expect(refused).toEqual([]);
  });
});
