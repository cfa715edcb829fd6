/**
 * The pure parts of the link CLI: intake error answers -> exit codes, `--wait` polling (backoff,
 * timeout on the target's clock, another end state), and `link plan` without live values.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import {
  ConflictError,
  IllegalTransitionError,
  NotFoundError,
  PermissionDeniedError,
  PolicyRefusedError,
  ValidationError,
} from '#core/errors.ts';
import { errorToHttp } from '#core/link/http-errors.ts';
import type { LinkRecord } from '#core/link/model.ts';
import { linkSummary } from '#core/link/resource.ts';
import { loadPolicy } from '#core/policy/policy.ts';
import { parseLinkRequest } from '#core/policy/request.ts';
import { errorLines, exitCodeFor } from '#scripts/cli/errors.ts';
import {
  errorOfResponse,
  type IntakeAccess,
  IntakeClient,
  type LinkResource,
  regionOfApiUrl,
} from '#scripts/cli/intake-client.ts';
import { buildPlan, readPricing } from '#scripts/cli/link-plan.ts';
import { decisionWait, waitForLinkState } from '#scripts/cli/link-wait.ts';

/** What the CLI makes of the intake's own answer for `e`. */
function viaHttp(e: Error) {
  const a = errorToHttp(e);
  const err = errorOfResponse(a.statusCode, JSON.parse(a.body), 'POST /links');
  return { code: exitCodeFor(err), lines: errorLines(err) };
}

describe('intake errors -> exit codes', () => {
  it('400: exit 2, one line per issue naming the field', () => {
    expect(
      viaHttp(
        new ValidationError([
          { path: 'bandwidth', reason: 'must be one of ...' },
          { path: 'aws.routes[0]', reason: 'is not a CIDR' },
        ]),
      ),
    ).toEqual({ code: 2, lines: ['bandwidth: must be one of ...', 'aws.routes[0]: is not a CIDR'] });
  });

  it('403: exit 3 with the policy reasons, or the permission message', () => {
    expect(viaHttp(new PolicyRefusedError(['bandwidth: too big', 'residency: EU only']))).toEqual({
      code: 3,
      lines: ['refused: bandwidth: too big', 'refused: residency: EU only'],
    });
    expect(viaHttp(new PermissionDeniedError('alice requested this link and cannot approve it'))).toEqual({
      code: 3,
      lines: ['alice requested this link and cannot approve it'],
    });
  });

  it('404: exit 4; 409: exit 3 for a state that forbids it, 1 for a lost race; 5xx: exit 1', () => {
    expect(viaHttp(new NotFoundError('link lk-x does not exist')).code).toBe(4);
    const illegal = viaHttp(new IllegalTransitionError('ACTIVE', 'approve'));
    expect(illegal).toEqual({ code: 3, lines: ['cannot approve a link in state ACTIVE'] });
    expect(viaHttp(new ConflictError('changed meanwhile')).code).toBe(1);
    const internal = viaHttp(new Error('secret detail'));
    expect(internal.code).toBe(1);
    expect(internal.lines.join('\n')).not.toContain('secret detail');
  });

  it("API Gateway's own 403 (a refused signature) says so", () => {
    const err = errorOfResponse(403, { message: 'Forbidden' }, 'GET /links');
    expect(exitCodeFor(err)).toBe(3);
    expect(errorLines(err)).toEqual(["GET /links: the intake refused the caller's credentials (Forbidden)"]);
  });

  it('reads the region of an execute-api URL', () => {
    expect(regionOfApiUrl('https://a1b2c3.execute-api.eu-west-2.amazonaws.com/')).toBe('eu-west-2');
    expect(regionOfApiUrl('http://127.0.0.1:4010')).toBeUndefined();
  });
});

describe('IntakeClient', () => {
  const record = (id: string) => ({
    id,
    name: id,
    state: 'ACTIVE',
    initiator: 'aws',
    environment: 'prod',
    requester: 'arn:aws:iam::000000000000:user/alice',
    halves: {
      aws: { cloud: 'aws', condition: 'UP', nativeState: 'available', sequence: 2, resourceId: 'mcc-1' },
      gcp: { cloud: 'gcp', condition: 'UP', nativeState: 'ACTIVE', sequence: 1 },
    },
    approvals: [],
    stages: [],
    health: { status: 'healthy', at: null },
    outbox: [],
  });

  it('follows the cursor through every page, signing each call, and returns resources', async () => {
    const seen: { url: string; auth: string | undefined }[] = [];
    const client = new IntakeClient({
      url: 'https://abc.execute-api.us-east-1.amazonaws.com',
      region: 'us-east-1',
      credentials: async () => ({ accessKeyId: 'AKIAEXAMPLE', secretAccessKey: 'secret' }),
      fetch: (async (url: URL, init: RequestInit) => {
        const headers = init.headers as Record<string, string>;
        seen.push({ url: String(url), auth: headers.authorization });
        const cursor = url.searchParams.get('cursor');
        // The intake lists summaries (core/link/resource.ts) of its records.
        const item = (id: string) => linkSummary(record(id) as unknown as LinkRecord);
        const page = cursor ? { items: [item('lk-b')] } : { items: [item('lk-a')], cursor: 'c1' };
        return new Response(JSON.stringify(page), { status: 200 });
      }) as unknown as typeof fetch,
    });
    const all = await client.listAll('ACTIVE');
    expect(all.map((l) => l.id)).toEqual(['lk-a', 'lk-b']);
    expect(seen.map((s) => new URL(s.url).searchParams.get('cursor'))).toEqual([null, 'c1']);
    expect(seen.every((s) => new URL(s.url).searchParams.get('state') === 'ACTIVE')).toBe(true);
    expect(seen[0]?.auth).toMatch(
      /^AWS4-HMAC-SHA256 Credential=AKIAEXAMPLE\/\d{8}\/us-east-1\/execute-api\/aws4_request, SignedHeaders=\S*host/,
    );
    expect(all[0]?.halves).toEqual({
      aws: { state: 'UP', nativeState: 'available', sequence: 2, connectionId: 'mcc-1' },
      gcp: { state: 'UP', nativeState: 'ACTIVE', sequence: 1 },
    });
    expect(Object.keys(all[0] ?? {})).not.toContain('outbox');
  });
});

const link = (state: string, reason?: string): LinkResource => ({
  id: 'lk-01',
  name: 'n',
  state,
  initiator: 'aws',
  halves: {
    aws: { state: 'NONE', nativeState: null, sequence: 0 },
    gcp: { state: 'NONE', nativeState: null, sequence: 0 },
  },
  approvals: [],
  stages: [{ state, at: '2026-06-01T00:00:00Z', ...(reason ? { reason } : {}) }],
});

/** An intake whose link goes through `states`, one per GET, on a clock that `sleep` moves. */
function fakeAccess(states: string[], reason?: string) {
  let now = 0;
  let i = 0;
  const pauses: number[] = [];
  const access = {
    client: { get: async () => link(states[Math.min(i++, states.length - 1)] as string, reason) },
    clock: { now: async () => now },
    maxPollMs: 1000,
  } as unknown as IntakeAccess;
  const sleep = async (ms: number) => {
    pauses.push(ms);
    now += ms;
  };
  return { access, sleep, pauses };
}

describe('--wait', () => {
  it('polls with doubling pauses up to the cap until the state is reached', async () => {
    const f = fakeAccess([
      'REQUESTED',
      'AWAITING_APPROVAL',
      'AWAITING_APPROVAL',
      'APPROVED',
      'PROVISIONING',
      'ACTIVE',
    ]);
    const seen: string[] = [];
    const out = await waitForLinkState(f.access, 'lk-01', {
      until: 'ACTIVE',
      timeoutMs: 60_000,
      sleep: f.sleep,
      onState: (l) => seen.push(l.state),
    });
    expect(out.state).toBe('ACTIVE');
    expect(f.pauses).toEqual([200, 400, 800, 1000, 1000]);
    expect(seen).toEqual(['REQUESTED', 'AWAITING_APPROVAL', 'APPROVED', 'PROVISIONING', 'ACTIVE']);
  });

  it("gives up after --timeout of the target's clock: exit 5", async () => {
    const f = fakeAccess(['AWAITING_APPROVAL']);
    const err = await waitForLinkState(f.access, 'lk-01', {
      until: 'ACTIVE',
      timeoutMs: 5000,
      sleep: f.sleep,
    }).catch((e) => e);
    expect(exitCodeFor(err)).toBe(5);
    expect(err.message).toBe(
      'timed out after 5s waiting for link lk-01 to be ACTIVE; it is AWAITING_APPROVAL',
    );
    expect(f.pauses.reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(5000);
  });

  it('another end state ends the wait at once with its reason: exit 6', async () => {
    const f = fakeAccess(['AWAITING_APPROVAL', 'EXPIRED'], 'no approval within 72h');
    const err = await waitForLinkState(f.access, 'lk-01', {
      until: 'ACTIVE',
      timeoutMs: 60_000,
      sleep: f.sleep,
    }).catch((e) => e);
    expect(exitCodeFor(err)).toBe(6);
    expect(err.message).toBe('link lk-01 ended EXPIRED (no approval within 72h), not ACTIVE');
  });
});

describe('--wait for DECOMMISSIONED', () => {
  type D = NonNullable<LinkResource['decommission']>;
  /** An intake whose link goes through `seq` (state and decommission request), one per GET. */
  function decommissioning(seq: [string, D | undefined][]) {
    let i = 0;
    let now = 0;
    const access = {
      client: {
        get: async () => {
          const [state, d] = seq[Math.min(i++, seq.length - 1)] as [string, D | undefined];
          return { ...link(state), ...(d ? { decommission: d } : {}) };
        },
      },
      clock: { now: async () => now },
      maxPollMs: 1000,
    } as unknown as IntakeAccess;
    const sleep = async (ms: number) => {
      now += ms;
    };
    return { access, sleep };
  }
  const pending: D = { status: 'PENDING', requestedBy: 'alice', attempt: 1 };

  it('keeps waiting while the link is ACTIVE with the request pending, then ends DECOMMISSIONED', async () => {
    const f = decommissioning([
      ['ACTIVE', pending],
      ['ACTIVE', pending],
      ['DECOMMISSIONING', { ...pending, status: 'APPROVED' }],
      ['DECOMMISSIONED', { ...pending, status: 'APPROVED' }],
    ]);
    const out = await waitForLinkState(f.access, 'lk-01', {
      until: 'DECOMMISSIONED',
      timeoutMs: 60_000,
      sleep: f.sleep,
    });
    expect(out.state).toBe('DECOMMISSIONED');
  });

  it('a rejected or expired request ends the wait: exit 6', async () => {
    for (const status of ['REJECTED', 'EXPIRED'] as const) {
      const f = decommissioning([
        ['ACTIVE', pending],
        ['ACTIVE', { ...pending, status }],
      ]);
      const err = await waitForLinkState(f.access, 'lk-01', {
        until: 'DECOMMISSIONED',
        timeoutMs: 60_000,
        sleep: f.sleep,
      }).catch((e) => e);
      expect(exitCodeFor(err)).toBe(6);
      expect(err.message).toBe(
        `link lk-01: the decommission request was ${status.toLowerCase()}, not DECOMMISSIONED`,
      );
    }
  });

  it("a stall of this wait's attempt ends it; one left from an earlier attempt does not", async () => {
    const stalled = { at: '2026-06-01T06:00:00Z', reason: 'the Google half was not drained within 6h' };
    const f = decommissioning([
      ['DECOMMISSIONING', { ...pending, status: 'APPROVED', attempt: 2, stalled }],
      ['DECOMMISSIONING', { ...pending, status: 'APPROVED', attempt: 3, stalled }],
    ]);
    const err = await waitForLinkState(f.access, 'lk-01', {
      until: 'DECOMMISSIONED',
      timeoutMs: 60_000,
      sleep: f.sleep,
    }).catch((e) => e);
    expect(exitCodeFor(err)).toBe(6);
    expect(err.message).toContain('decommission attempt 2 stopped before deleting');
  });
});

describe('approve / reject --wait follow what the approval was for', () => {
  type D = NonNullable<LinkResource['decommission']>;
  const pending: D = { status: 'PENDING', requestedBy: 'alice', attempt: 1 };
  const withD = (state: string, d?: D): LinkResource => ({
    ...link(state),
    ...(d ? { decommission: d } : {}),
  });

  it("a link's own approval waits for ACTIVE / REJECTED", () => {
    expect(decisionWait('approve', withD('APPROVED')).until).toBe('ACTIVE');
    expect(decisionWait('reject', withD('REJECTED')).until).toBe('REJECTED');
  });

  it('an approved decommission waits for DECOMMISSIONED (not ACTIVE: that ended it with exit 6)', () => {
    const w = decisionWait('approve', withD('DECOMMISSIONING', { ...pending, status: 'APPROVED' }));
    expect(w).toMatchObject({ until: 'DECOMMISSIONED', said: 'approved the decommission' });
  });

  it('a rejected decommission is done at once, the link still ACTIVE: exit 0, not "ended ACTIVE"', async () => {
    const rejected = withD('ACTIVE', { ...pending, status: 'REJECTED' });
    const w = decisionWait('reject', rejected);
    let polls = 0;
    const access = {
      client: {
        get: async () => {
          polls++;
          return rejected;
        },
      },
      clock: { now: async () => 0 },
      maxPollMs: 1000,
    } as unknown as IntakeAccess;
    const out = await waitForLinkState(access, 'lk-01', {
      until: w.until,
      ...(w.done ? { done: w.done } : {}),
      timeoutMs: 60_000,
      sleep: async () => {},
    });
    expect(out.state).toBe('ACTIVE');
    expect(polls).toBe(1);
  });
});

describe('link plan without live values', () => {
  const policy = loadPolicy(parse(readFileSync('config/policy.yaml', 'utf8')));
  const base = {
    name: 'p',
    initiator: 'gcp',
    bandwidth: '10Gbps',
    environment: 'nonprod',
    residency: 'US',
    aws: {
      accountId: '000000000000',
      region: 'us-east-1',
      directConnectGateway: '90392BE3-219C-47FD-BBA5-03DF76D2542A',
      routes: ['10.1.0.0/16'],
    },
    gcp: { project: 'payments-dev', region: 'us-east4', network: 'vpc', routes: ['10.2.0.0/16'] },
  };

  it('Google first: AWS accepts a proposal and the transport names the AWS account; cost adds both sides', async () => {
    const pricing = await readPricing('config/pricing.yaml');
    pricing.aws.hourly['10Gbps'] = 3;
    pricing.gcp.hourly.BPS_10G = 1.5;
    const plan = buildPlan(policy, parseLinkRequest(base), pricing, undefined);
    expect(plan.aws.operation).toBe('AcceptConnectionProposal');
    expect(plan.gcp.create).toMatchObject({
      bandwidth: 'BPS_10G',
      network: 'projects/payments-dev/global/networks/vpc',
      remoteAccountId: '000000000000',
      remoteProfile: '(discovered: the profile in us-east4 toward AWS us-east-1)',
    });
    expect(plan.aws.create).toEqual({
      attachPoint: { directConnectGateway: base.aws.directConnectGateway },
      activationKey: '(from Google)',
    });
    expect(plan.cost).toMatchObject({ aws: 3, gcp: 1.5, hourly: 4.5 });
    expect(plan.aws.live).toBeUndefined();
  });

  it('a region pair no environment serves is refused by the policy, and nothing is looked up', () => {
    const req = parseLinkRequest({ ...base, aws: { ...base.aws, region: 'eu-west-1' } });
    const plan = buildPlan(
      policy,
      req,
      {
        currency: 'USD',
        aws: { source: 's', retrieved: '2026-11-26', hourly: {} },
        gcp: { source: 's', retrieved: '2026-11-26', hourly: {} },
      },
      undefined,
    );
    expect(plan.accepted).toBe(false);
    expect(plan.decisions.find((d) => d.rule === 'region-pair')?.ok).toBe(false);
    expect(plan.gcp.create.remoteProfile).toBe('(discovered: the profile in us-east4 toward AWS eu-west-1)');
    expect(plan.cost.hourly).toBeNull();
  });
});
