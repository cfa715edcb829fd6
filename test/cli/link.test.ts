/**
 * `crosslink link request|approve|reject|show|ls|decommission|plan` against a local cloud whose AWS
 * intake is served over real HTTP with IAM auth (test/support/link-cloud.ts): every call is SigV4
 * signed by the CLI as the `--as` identity and verified by the local HTTP API. The Google half is
 * played by the test (peer events on the bus, the Interconnect simulator's admin calls); time is the
 * manual virtual clock.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { stringify } from 'yaml';
import { mintLinkId } from '#core/ids.ts';
import { ACCOUNT } from '../support/aws-half.ts';
import { type LinkCloud, startLinkCloud } from '../support/link-cloud.ts';
import { admin } from '../support/local-cloud.ts';
import { eventually } from '../support/timers.ts';

const MIN = 60_000;
const HOUR = 60 * MIN;
const BOB = `arn:aws:iam::${ACCOUNT}:user/bob`;
const GATEWAY = '90392BE3-219C-47FD-BBA5-03DF76D2542A';

const request = (name: string, overrides: Record<string, unknown> = {}) => ({
  name,
  initiator: 'aws',
  bandwidth: '1Gbps',
  environment: 'prod',
  residency: 'US',
  aws: { accountId: ACCOUNT, region: 'us-east-1', directConnectGateway: GATEWAY, routes: ['10.10.0.0/16'] },
  gcp: { project: 'payments-prod', region: 'us-east4', network: 'payments-vpc', routes: ['10.20.0.0/16'] },
  ...overrides,
});

let lc: LinkCloud;
const file = (name: string, body: unknown) => {
  const path = join(lc.home, name);
  writeFileSync(path, typeof body === 'string' ? body : stringify(body));
  return name;
};
const cli = (...args: string[]) => lc.cli(args);
const json = (out: string) => JSON.parse(out);

/** Runs a CLI command while virtual time moves on, as a person waiting on a real cloud would see it. */
async function whileAdvancing(
  run: Promise<{ code: number; out: string; err: string }>,
  ms: number,
  step = 5 * MIN,
) {
  let done = false;
  const watched = run.finally(() => {
    done = true;
  });
  for (let t = 0; t < ms && !done; t += step) {
    await lc.cloud.clock.advance(Math.min(step, ms - t));
    await new Promise((r) => setTimeout(r, 60));
  }
  return watched;
}

beforeAll(async () => {
  lc = await startLinkCloud({ escalateAfterMs: 24 * HOUR, expireAfterMs: 72 * HOUR });
}, 120_000);

afterAll(async () => {
  await lc?.stop();
});

describe('link request -> approve -> ACTIVE -> decommission', () => {
  let linkId = '';

  it('requests as alice over the signed HTTP API and prints the link', async () => {
    const f = file('payments-east.yaml', request('payments-east'));
    const r = await cli('link', 'request', f, '--as', 'alice', '--json');
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const link = json(r.out);
    expect(link.id).toMatch(/^lk-[0-9a-z]{26}$/);
    expect(link).toMatchObject({ name: 'payments-east', initiator: 'aws', state: 'REQUESTED' });
    expect(link.requester).toBe(`arn:aws:iam::${ACCOUNT}:user/alice`);
    linkId = link.id;
    await eventually(async () => (await lc.half.deps.store.get(linkId))?.link.state === 'AWAITING_APPROVAL');
  });

  it('a retried request of the same file is the same link (idempotency key from the content)', async () => {
    const r = await cli('link', 'request', 'payments-east.yaml', '--as', 'alice');
    expect(r.code).toBe(0);
    expect(r.out).toBe(`requested: ${linkId}  "payments-east"  AWAITING_APPROVAL`);
    expect((await lc.half.deps.store.list({})).items.filter((l) => l.name === 'payments-east')).toHaveLength(
      1,
    );
  });

  it('refuses a self-approval by the requester: exit 3, one line', async () => {
    const r = await cli('link', 'approve', linkId, '--as', 'alice');
    expect(r.code).toBe(3);
    expect(r.err.split('\n')).toHaveLength(1);
    expect(r.err).toMatch(/alice/);
    expect((await lc.half.deps.store.get(linkId))?.link.approvals).toEqual([]);
  });

  it('a Google-initiated request goes to the Google intake, which is not there: exit 2, nothing sent', async () => {
    const f = file('google-first.yaml', request('google-first', { initiator: 'gcp' }));
    const r = await cli('link', 'request', f, '--as', 'alice');
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/^the Google intake is not available: .*intakes\.gcp is null/);
    expect((await lc.half.deps.store.list({})).items.some((l) => l.name === 'google-first')).toBe(false);
  });

  it('says in one line that the Google intake is not there for --side gcp: exit 2', async () => {
    const r = await cli('link', 'approve', linkId, '--side', 'gcp', '--as', 'carol');
    expect(r.code).toBe(2);
    expect(r.err.split('\n')).toHaveLength(1);
    expect(r.err).toMatch(/Google intake is not available.*intakes\.gcp is null/);
  });

  it('approves as bob, then `request --wait` follows the link to ACTIVE once Google approves and accepts', async () => {
    const approved = await cli('link', 'approve', linkId, '--as', 'bob', '--reason', 'capacity reviewed');
    expect(approved.code).toBe(0);
    expect(approved.out).toMatch(new RegExp(`^approved: ${linkId}`));
    // Approving again is no error: it says the link already holds that approval.
    const again = await cli('link', 'approve', linkId, '--as', 'bob');
    expect(again.code).toBe(0);
    expect(again.out).toMatch(new RegExp(`^already approved: ${linkId}`));
    // The Google half, played by the test: carol's approval, then the key redeemed and the transport up.
    await lc.putPeer('LinkApproved', {
      linkId,
      side: 'gcp',
      approver: 'carol@example.com',
      approvedAt: lc.now(),
      auto: false,
    });
    await eventually(() => lc.keyIssued(linkId));
    await admin(lc.cloud, 'POST', '/aws/interconnect/redeem-key', {
      activationKey: await lc.half.secrets.getActivationKey(`crosslink/${linkId}/activation-key`),
    });
    await lc.putPeer('LinkSideStateChanged', {
      linkId,
      side: 'gcp',
      sequence: 1,
      nativeState: 'ACTIVE',
      previousNativeState: null,
      condition: 'UP',
      resourceId: `projects/payments-prod/locations/us-east4/transports/${linkId}`,
      observedAt: lc.now(),
    });
    // The AWS half comes up after the provider's delay; the hourly fallback poll sees it.
    const r = await whileAdvancing(
      cli('link', 'request', 'payments-east.yaml', '--as', 'alice', '--wait'),
      3 * HOUR,
    );
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toContain('waiting for ACTIVE');
    // Every stage once, in order, with its time.
    expect(
      r.out
        .split('\n')
        .filter((l) => l.startsWith('  2026-'))
        .map((l) => l.split('  ')[2]),
    ).toEqual(['REQUESTED', 'AWAITING_APPROVAL', 'APPROVED', 'PROVISIONING', 'ACTIVE']);
    expect(r.out.split('\n').at(-1)).toBe(`${linkId}  "payments-east"  ACTIVE`);
  });

  it('show --json is exactly the link resource of GET /links/{id}', async () => {
    const r = await cli('link', 'show', linkId, '--as', 'bob', '--json');
    expect(r.code).toBe(0);
    const link = json(r.out);
    expect(Object.keys(link).sort()).toEqual(
      [
        'approvals',
        'audit',
        'environment',
        'halves',
        'id',
        'initiator',
        'name',
        'requester',
        'stages',
        'state',
      ].sort(),
    );
    expect(link.state).toBe('ACTIVE');
    expect(link.halves.aws).toMatchObject({ state: 'UP', nativeState: 'available' });
    expect(link.halves.aws.connectionId).toMatch(/^mcc-/);
    expect(link.halves.gcp).toMatchObject({
      state: 'UP',
      nativeState: 'ACTIVE',
      sequence: 1,
      transportName: `projects/payments-prod/locations/us-east4/transports/${linkId}`,
    });
    expect(link.approvals.map((a: { by: string }) => a.by).sort()).toEqual([BOB, 'carol@example.com']);
    expect(link.stages.map((s: { state: string }) => s.state)).toEqual([
      'REQUESTED',
      'AWAITING_APPROVAL',
      'APPROVED',
      'PROVISIONING',
      'ACTIVE',
    ]);
    expect(link.audit.length).toBeGreaterThan(0);
    // Same resource as the intake's own answer to a signed GET.
    const again = await cli('link', 'show', linkId, '--as', 'alice', '--json');
    expect(json(again.out)).toEqual(link);
  });

  it('show prints stages with timestamps, both halves, approvals and the audit', async () => {
    const r = await cli('link', 'show', linkId, '--as', 'bob');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^lk-\S+ {2}"payments-east" {2}ACTIVE/);
    expect(r.out).toMatch(
      /halves:\n {2}SIDE\s+STATE\s+NATIVE\s+SEQ\s+RESOURCE\n {2}aws\s+UP\s+available\s+\d+\s+mcc-/,
    );
    expect(r.out).toMatch(/gcp\s+UP\s+ACTIVE\s+1\s+projects\/payments-prod/);
    expect(r.out).toMatch(/\d{4}-\d\d-\d\dT\S+ {2}aws {2}approved by arn:aws:iam::000000000000:user\/bob$/m);
    expect(r.out).toMatch(/stages:\n {2}2026-06-01T\S+ {2}REQUESTED/);
    expect(r.out).toMatch(/\d{4}-\d\d-\d\dT\S+ {2}ACTIVE/);
    expect(r.out).toMatch(/audit:\n {2}AT\s+ACTOR\s+ACTION\s+OUTCOME/);
  });

  it('ls lists links (table and --json), and filters by --state', async () => {
    const table = await cli('link', 'ls', '--as', 'bob');
    expect(table.code).toBe(0);
    expect(table.out.split('\n')[0]).toMatch(/^ID\s+NAME\s+STATE\s+INITIATOR\s+AWS\s+GCP\s+SINCE$/);
    expect(table.out).toMatch(new RegExp(`${linkId}\\s+payments-east\\s+ACTIVE\\s+aws\\s+UP\\s+UP`));
    const list = json((await cli('link', 'ls', '--as', 'bob', '--json')).out);
    expect(Array.isArray(list)).toBe(true);
    const mine = list.find((l: { id: string }) => l.id === linkId);
    expect(mine).toMatchObject({ name: 'payments-east', state: 'ACTIVE', halves: { aws: { state: 'UP' } } });
    expect(mine.outbox).toBeUndefined();
    const none = await cli('link', 'ls', '--as', 'bob', '--state', 'REJECTED');
    expect(none.out).toBe('no links in state REJECTED');
    const bad = await cli('link', 'ls', '--as', 'bob', '--state', 'active');
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/^--state must be one of REQUESTED, .*, got "active"$/);
  });

  it('decommission --wait: approved by another person, drained by Google, then both halves gone', async () => {
    // alice asks; the link stays ACTIVE with the request pending until an approver other than her decides.
    const run = cli(
      'link',
      'decommission',
      linkId,
      '--as',
      'alice',
      '--reason',
      'migrated',
      '--wait',
      '--json',
    );
    await eventually(
      async () => (await lc.half.deps.store.get(linkId))?.link.decommission?.status === 'PENDING',
    );
    expect((await lc.half.deps.store.get(linkId))?.link.state).toBe('ACTIVE');
    const self = await cli('link', 'approve', linkId, '--as', 'alice');
    expect(self.code).toBe(3);
    const approved = await cli('link', 'approve', linkId, '--as', 'bob');
    expect(approved.err).toBe('');
    expect(approved.code).toBe(0);
    expect(approved.out).toMatch(new RegExp(`^approved the decommission: ${linkId}`));
    const again = await cli('link', 'approve', linkId, '--as', 'bob');
    expect(again.code).toBe(0);
    expect(again.out).toMatch(new RegExp(`^already approved the decommission: ${linkId}`));
    await eventually(async () => (await lc.half.deps.store.get(linkId))?.link.state === 'DECOMMISSIONING');
    // Google disables its transport (the drain), later deletes it.
    await lc.putPeer('LinkSideStateChanged', {
      linkId,
      side: 'gcp',
      sequence: 2,
      nativeState: 'ACTIVE',
      previousNativeState: 'ACTIVE',
      condition: 'DOWN',
      adminEnabled: false,
      observedAt: lc.now(),
    });
    await lc.putPeer('LinkSideStateChanged', {
      linkId,
      side: 'gcp',
      sequence: 3,
      nativeState: null,
      previousNativeState: 'ACTIVE',
      condition: 'GONE',
      observedAt: lc.now(),
    });
    const r = await whileAdvancing(run, 3 * HOUR);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const link = json(r.out);
    expect(link.state).toBe('DECOMMISSIONED');
    expect(link.halves.aws.state).toBe('GONE');
  });
});

describe('waiting that ends otherwise', () => {
  it('--wait --timeout gives up after that much virtual time: exit 5', async () => {
    const f = file(
      'payments-west.json',
      JSON.stringify(
        request('payments-west', {
          aws: { ...request('x').aws, routes: ['10.30.0.0/16'] },
          gcp: { ...request('x').gcp, routes: ['10.40.0.0/16'] },
        }),
      ),
    );
    const r = await whileAdvancing(
      cli('link', 'request', f, '--as', 'alice', '--wait', '--timeout', '30m'),
      2 * HOUR,
      MIN,
    );
    expect(r.code).toBe(5);
    expect(r.err).toMatch(
      /^timed out after 30m waiting for link lk-\S+ to be ACTIVE; it is AWAITING_APPROVAL$/,
    );
  });

  it('reject --wait ends REJECTED; a --wait for ACTIVE then ends with exit 6', async () => {
    const id = (await lc.half.deps.store.list({ state: 'AWAITING_APPROVAL' })).items.find(
      (l) => l.name === 'payments-west',
    )?.id as string;
    const bare = await cli('link', 'reject', id, '--as', 'bob');
    expect(bare.code).toBe(2);
    expect(bare.err).toBe('reason: is required when rejecting');
    const rejected = await cli('link', 'reject', id, '--as', 'bob', '--reason', 'no budget', '--wait');
    expect(rejected.code).toBe(0);
    expect(rejected.out.split('\n').at(-1)).toBe(`${id}  "payments-west"  REJECTED`);
    const shown = json((await cli('link', 'show', id, '--as', 'bob', '--json')).out);
    expect(shown.approvals).toEqual([
      expect.objectContaining({ side: 'aws', decision: 'rejected', by: BOB, reason: 'no budget' }),
    ]);
    const again = await cli('link', 'request', 'payments-west.json', '--as', 'alice', '--wait');
    expect(again.code).toBe(6);
    expect(again.err).toMatch(new RegExp(`^link ${id} ended REJECTED .*, not ACTIVE$`));
  });
});

describe('errors map to exit codes', () => {
  it('an unknown link id: exit 4', async () => {
    const r = await cli('link', 'approve', mintLinkId(lc.cloud.clock), '--as', 'bob');
    expect(r.code).toBe(4);
    expect(r.err).toMatch(/^link lk-\S+ does not exist$/);
    expect((await cli('link', 'show', mintLinkId(lc.cloud.clock), '--as', 'bob')).code).toBe(4);
  });

  it('something that is not a link id: the intake says 400, exit 2 naming the field', async () => {
    const r = await cli('link', 'show', 'payments', '--as', 'bob');
    expect(r.code).toBe(2);
    expect(r.err).toBe('id: is not a link id');
  });

  it('a malformed file: exit 2, one line per field, nothing sent', async () => {
    const bad = request('bad', { bandwidth: 'fast' }) as Record<string, unknown>;
    (bad.aws as { routes: string[] }).routes = ['10.0.0.0/33'];
    const f = file('bad.yaml', bad);
    const before = (await lc.half.deps.store.list({})).items.length;
    const r = await cli('link', 'request', f, '--as', 'alice');
    expect(r.code).toBe(2);
    const lines = r.err.split('\n');
    expect(lines.some((l) => l.startsWith('bad.yaml: bandwidth: '))).toBe(true);
    expect(lines.some((l) => l.startsWith('bad.yaml: aws.routes[0]: '))).toBe(true);
    expect((await lc.half.deps.store.list({})).items.length).toBe(before);
  });

  it('a request the policy refuses at the intake: exit 3 with its reasons', async () => {
    const f = file(
      'by-bob.yaml',
      request('by-bob', { aws: { ...request('x').aws, routes: ['10.50.0.0/16'] } }),
    );
    const r = await cli('link', 'request', f, '--as', 'bob');
    expect(r.code).toBe(3);
    expect(r.err).toMatch(
      /^refused: roles\.requester: arn:aws:iam::000000000000:user\/bob may not request prod links on aws$/m,
    );
  });

  describe('--target cloud (the default AWS credential chain)', () => {
    afterEach(() => {
      vi.unstubAllEnvs();
    });

    it('signs with the credentials of the default chain, and the intake names the caller', async () => {
      vi.stubEnv('AWS_ACCESS_KEY_ID', 'AKIALOCALBOB00000001');
      vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'bob-local-secret');
      const r = await lc.cli(['link', 'ls', '--target', 'cloud', '--json'], {
        CROSSLINK_AWS_INTAKE_URL: lc.intakeUrl,
        AWS_REGION: 'us-east-1',
      });
      expect(r.err).toBe('');
      expect(r.code).toBe(0);
      expect(json(r.out).map((l: { name: string }) => l.name)).toContain('payments-east');
    });

    it('keys the intake does not know: exit 3, one line', async () => {
      vi.stubEnv('AWS_ACCESS_KEY_ID', 'AKIANOBODY0000000000');
      vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'not-a-secret');
      const r = await lc.cli(['link', 'ls', '--target', 'cloud'], {
        CROSSLINK_AWS_INTAKE_URL: lc.intakeUrl,
        AWS_REGION: 'us-east-1',
      });
      expect(r.code).toBe(3);
      expect(r.err).toBe("GET /links: the intake refused the caller's credentials (Forbidden)");
    });

    it('--as is refused there (it names local identities)', async () => {
      const r = await lc.cli(['link', 'ls', '--target', 'cloud', '--as', 'bob'], {
        CROSSLINK_AWS_INTAKE_URL: lc.intakeUrl,
      });
      expect(r.code).toBe(2);
      expect(r.err).toMatch(/^--as is for the local cloud only/);
    });
  });

  it('--target cloud without CROSSLINK_AWS_INTAKE_URL says where to set it: exit 2', async () => {
    const r = await lc.cli(['link', 'ls', '--target', 'cloud']);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/CROSSLINK_AWS_INTAKE_URL/);
  });
});

describe('approving a FAILED link', () => {
  it('is refused by the state: exit 3, one line naming it, nothing recorded', async () => {
    const f = file('will-fail.yaml', request('will-fail'));
    const created = json((await cli('link', 'request', f, '--as', 'alice', '--json')).out);
    const linkId = created.id as string;
    await eventually(
      async () => (await lc.half.deps.store.get(linkId))?.link.state === 'AWAITING_APPROVAL',
      5000,
    );
    // The Google side's stage failed and compensated: the link is FAILED on this side too.
    await lc.putPeer('LinkFailed', {
      linkId,
      side: 'gcp',
      stage: 'request',
      error: { name: 'CapacityUnavailableError', message: 'no remote transport profile' },
      compensation: { deleted: [], remaining: [] },
      failedAt: lc.now(),
    });
    await eventually(async () => (await lc.half.deps.store.get(linkId))?.link.state === 'FAILED', 5000);
    const r = await cli('link', 'approve', linkId, '--as', 'bob');
    expect(r.code).toBe(3);
    expect(r.err.split('\n')).toHaveLength(1);
    expect(r.err).toMatch(/FAILED/);
    expect((await lc.half.deps.store.get(linkId))?.link.approvals).toEqual([]);
  });
});

describe('link plan', () => {
  const PRICING = {
    currency: 'USD',
    aws: { source: 'test', retrieved: '2026-11-26', hourly: { '1Gbps': 0.5, '10Gbps': 4 } },
    gcp: { source: 'test', retrieved: '2026-11-26', hourly: { BPS_1G: 0.25 } },
  };

  it('prints what each side would create, live capacity, and the estimated cost', async () => {
    const f = file('plan.yaml', request('plan-east'));
    const p = file('pricing.yaml', PRICING);
    const r = await cli('link', 'plan', f, '--pricing', p, '--as', 'alice');
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toContain('AWS: CreateConnection');
    expect(r.out).toContain('    environmentId: mce-aws-gcp-iad');
    expect(r.out).toContain(`    attachPoint: {"directConnectGateway":"${GATEWAY}"}`);
    expect(r.out).toContain('    remoteAccount: payments-prod');
    expect(r.out).toMatch(/ {2}live: environment mce-aws-gcp-iad available; available .*1Gbps/);
    expect(r.out).toContain('Google: CreateTransport');
    // AWS first: Google redeems the key, which names the profile and the bandwidth.
    expect(r.out).not.toContain('    remoteProfile:');
    expect(r.out).toContain('    providedActivationKey: (from AWS)');
    expect(r.out).toContain('    network: projects/payments-prod/global/networks/payments-vpc');
    expect(r.out).toContain('    advertisedRoutes: ["10.20.0.0/16"]');
    expect(r.out).toMatch(/ {2}live: profile aws-us-east-1 orderState OPEN; flow \S+; bandwidths .*BPS_1G/);
    expect(r.out).toContain('estimated cost: 0.7500 USD/h (AWS 0.5000 USD/h, Google 0.2500 USD/h)');
    expect(r.out.split('\n').at(-1)).toMatch(/^accepted {2}\(policy [0-9a-f]{12}\)$/);
  });

  it('--json gives the plan object; the shipped table has no prices, so the cost is unknown', async () => {
    const r = await cli('link', 'plan', 'plan.yaml', '--json');
    expect(r.code).toBe(0);
    const plan = json(r.out);
    expect(plan.aws.create).toEqual({
      environmentId: 'mce-aws-gcp-iad',
      bandwidth: '1Gbps',
      attachPoint: { directConnectGateway: GATEWAY },
      remoteAccount: 'payments-prod',
    });
    expect(plan.gcp.create).toEqual({
      network: 'projects/payments-prod/global/networks/payments-vpc',
      advertisedRoutes: ['10.20.0.0/16'],
      providedActivationKey: '(from AWS)',
    });
    expect(plan.gcp.live.remoteProfile).toBe(
      'projects/payments-prod/locations/us-east4/remoteTransportProfiles/aws-us-east-1',
    );
    expect(plan.aws.live).toMatchObject({ environmentId: 'mce-aws-gcp-iad', state: 'available' });
    expect(plan.gcp.live).toMatchObject({ orderState: 'OPEN' });
    expect(plan.gcp.live.supportedBandwidths).toContain('BPS_1G');
    expect(plan.cost).toMatchObject({ currency: 'USD', estimate: true, aws: null, gcp: null, hourly: null });
    expect(plan.accepted).toBe(true);
  });

  it('refuses a bandwidth the live environment does not offer, and a profile closed to orders: exit 3', async () => {
    await admin(lc.cloud, 'POST', '/aws/interconnect/set-environment', {
      environmentId: 'mce-aws-gcp-iad',
      available: ['10Gbps'],
    });
    await admin(lc.cloud, 'POST', '/gcp/networkconnectivity/set-profile', {
      location: 'us-east4',
      profile: 'aws-us-east-1',
      orderState: 'CLOSED',
    });
    const r = await cli('link', 'plan', 'plan.yaml');
    expect(r.code).toBe(3);
    expect(r.out).toMatch(
      /REFUSED {2}bandwidth: 1Gbps is supported but not available now in this environment \(available: 10Gbps\)/,
    );
    expect(r.out).toMatch(
      /REFUSED {2}capacity\.gcp: Google profile projects\/payments-prod\/locations\/us-east4\/remoteTransportProfiles\/aws-us-east-1 takes no new orders/,
    );
    expect(r.out.split('\n').at(-1)).toMatch(/^refused/);
    const j = json((await cli('link', 'plan', 'plan.yaml', '--json')).out);
    expect(j.accepted).toBe(false);
    expect(j.aws.live.available).toEqual(['10Gbps']);
  });
});
