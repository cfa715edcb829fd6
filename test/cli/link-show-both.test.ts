/**
 * `link show <id>` without `--side`: both intakes asked over real HTTP, each signed as the `--as`
 * identity the way the single-side path signs (the AWS intake behind the local HTTP API with IAM
 * auth, so SigV4 is verified against the local identities; the Google intake checks the ID token
 * the CLI got from the identity's key file against the local Google edge).
 *
 * The two intakes answer `GET /links/{id}` from two in-memory stores filled by the real core use
 * cases: alice's request on AWS, its `LinkRequested` applied on Google, carol's approval on Google
 * and its `LinkApproved` applied on AWS twice (a redelivery), plus an event under another policy
 * (refused). The test carries the events between the stores itself: no relay, no halves.
 */
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import type { HttpApiEvent } from '#aws/intake.ts';
import { ManualClock } from '#core/clock.ts';
import { buildEvent, type CloudEvent } from '#core/envelope.ts';
import { NotFoundError } from '#core/errors.ts';
import { decideApproval } from '#core/link/approve.ts';
import { errorToHttp, type HttpAnswer } from '#core/link/http-errors.ts';
import { applyPeerEvent } from '#core/link/peer-events.ts';
import type { LinkDeps } from '#core/link/ports.ts';
import { requestLink } from '#core/link/request.ts';
import { linkResource } from '#core/link/resource.ts';
import { loadPolicy } from '#core/policy/policy.ts';
import { HttpApi } from '#local/aws/http-api.ts';
import { lambdaRuntime } from '#local/aws/services/lambda.ts';
import type { LocalCloud } from '#local/index.ts';
import { main } from '#scripts/cli/main.ts';
import { ACCOUNT, REGION } from '../support/aws-half.ts';
import { letServiceCall, startTestCloud } from '../support/local-cloud.ts';
import { MemoryEventSink, MemoryLinkStore } from '../support/memory-store.ts';

const repo = resolve(import.meta.dirname, '..', '..');
const policy = loadPolicy(parse(readFileSync(join(repo, 'config/policy.yaml'), 'utf8')));
const request = parse(readFileSync(join(repo, 'examples/link-request.yaml'), 'utf8'));
const ALICE = { principal: 'arn:aws:iam::000000000000:user/alice', side: 'aws' as const };
const CAROL = { principal: 'carol@example.com', side: 'gcp' as const };

/** One cloud's record of links, written by the core as that cloud's intake and consumers would. */
function sideOf(clock: ManualClock, origin: LinkDeps['origin']) {
  const store = new MemoryLinkStore(clock);
  const events = new MemoryEventSink();
  const deps: LinkDeps = { store, events, policy, clock, origin };
  /** `GET /links/{id}` as the intakes answer it. */
  const answer = async (id: string): Promise<HttpAnswer> => {
    const stored = await store.get(id);
    if (!stored) return errorToHttp(new NotFoundError(`link ${id} does not exist`));
    return {
      statusCode: 200,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(await linkResource(store, stored.link)),
    };
  };
  return { store, events, deps, answer };
}

let cloud: LocalCloud;
let home: string;
let api: HttpApi;
let google: Server;
let runtime: ReturnType<typeof lambdaRuntime>;
const clock = new ManualClock('2026-06-01T09:00:00Z');
const aws = sideOf(clock, { cloud: 'aws', accountId: ACCOUNT, region: REGION });
const gcp = sideOf(clock, { cloud: 'gcp', project: 'crosslink-hub', region: 'us-east4' });
/** Who each intake saw calling (the verified ARN / email). */
const seen = { aws: [] as string[], gcp: [] as string[] };
/** While set, the AWS intake answers only once the Google one was asked too: the calls overlap. */
let holdAwsUntilGcpAsked = false;
let gcpAsked: () => void = () => {};
let gcpWasAsked = Promise.resolve();
let linkId: string;
let awsOnlyId: string;
/** The events the test carried: alice's request, carol's approval and the state change it made, the forgery. */
const sent: Record<'requested' | 'approved' | 'changed' | 'forged', CloudEvent> = {} as never;

/** The test's relay: every event `from` put so far, applied on the other side (again, if carried before). */
async function carry(from: ReturnType<typeof sideOf>, to: ReturnType<typeof sideOf>) {
  const sent = [...from.events.events];
  for (const ev of sent) await applyPeerEvent(to.deps, ev);
  return sent;
}

function writeHandshake(intakes: { aws: string | null; gcp: string | null }) {
  writeFileSync(join(home, '.crosslink', 'local.json'), JSON.stringify({ ...cloud.handshake(), intakes }));
}

async function cli(...args: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(args, { out: (l) => out.push(l), err: (l) => err.push(l), cwd: home, env: {} });
  return { code, out: out.join('\n'), err };
}

let googleUrl: string;

beforeAll(async () => {
  home = mkdtempSync(join(tmpdir(), 'crosslink-show-both-'));
  mkdirSync(join(home, 'config'));
  mkdirSync(join(home, '.crosslink'));
  cpSync(join(repo, 'config', 'local-identities.yaml'), join(home, 'config', 'local-identities.yaml'));
  cloud = await startTestCloud({ emulators: false, gcp: { keysDir: join(home, '.crosslink', 'keys') } });

  // The AWS intake: GET /links/{id} behind the HTTP API with IAM auth.
  runtime = lambdaRuntime(cloud.aws.edge.world, ACCOUNT, REGION);
  runtime.register({
    name: 'showIntake',
    timeout: 30,
    handler: async (e: unknown) => {
      const event = e as HttpApiEvent;
      seen.aws.push(event.requestContext.authorizer?.iam?.userArn ?? '');
      if (holdAwsUntilGcpAsked)
        await Promise.race([
          gcpWasAsked,
          new Promise((_, no) => {
            setTimeout(() => no(new Error('the Google intake was not asked meanwhile')), 5000).unref();
          }),
        ]);
      return aws.answer(event.pathParameters?.id ?? '');
    },
  });
  await letServiceCall(cloud, runtime.get('showIntake').arn, 'apigateway.amazonaws.com');
  api = new HttpApi(cloud.aws.edge.world, { accountId: ACCOUNT, region: REGION });
  api.addRoute({ routeKey: 'GET /links/{id}', functionName: 'showIntake', auth: { type: 'AWS_IAM' } });
  await api.listen(0);

  // The Google intake: the ID token verified by the local Google edge, audience this URL.
  google = createServer((req, res) => {
    void (async () => {
      const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1] ?? '';
      const claims = cloud.gcp.auth.verifyIdToken(token, googleUrl);
      if ('reason' in claims) {
        res.writeHead(401).end(`unauthorized: ${claims.message}`);
        return;
      }
      seen.gcp.push(String(claims.email));
      gcpAsked();
      const id = decodeURIComponent(/^\/links\/([^/?]+)$/.exec(req.url ?? '')?.[1] ?? '');
      const a = await gcp.answer(id);
      res.writeHead(a.statusCode, a.headers).end(a.body);
    })();
  });
  await new Promise<void>((r) => google.listen(0, '127.0.0.1', () => r()));
  googleUrl = `http://127.0.0.1:${(google.address() as AddressInfo).port}`;
  writeHandshake({ aws: api.endpoint, gcp: googleUrl });

  // Alice requests on AWS; the Google side makes its replica from LinkRequested, two seconds on.
  linkId = (await requestLink(aws.deps, { request, caller: ALICE })).link.id;
  clock.advance(2000);
  [sent.requested] = (await carry(aws, gcp)) as [CloudEvent];
  // Carol approves on Google; AWS gets her LinkApproved four seconds on, and again (a redelivery).
  clock.advance(1000);
  await decideApproval(gcp.deps, { linkId, caller: CAROL, decision: 'approve' });
  clock.advance(4000);
  const fromGoogle = await carry(gcp, aws);
  clock.advance(500);
  await carry(gcp, aws);
  const named = (type: string) => fromGoogle.find((e) => e.type === `crosslink.${type}.v1`) as CloudEvent;
  sent.approved = named('LinkApproved');
  sent.changed = named('LinkStateChanged');
  // An event made under another policy: refused on AWS, with the reason.
  const forged = buildEvent({
    name: 'LinkApproved',
    origin: gcp.deps.origin,
    subject: linkId,
    clock,
    data: {
      linkId,
      policyHash: 'b'.repeat(64),
      side: 'gcp',
      approver: CAROL.principal,
      approvedAt: new Date(clock.now()).toISOString(),
      auto: false,
    },
  });
  clock.advance(1000);
  await applyPeerEvent(aws.deps, forged).catch(() => {});
  sent.forged = forged;
  // A second link only the AWS side knows (its LinkRequested never carried).
  awsOnlyId = (await requestLink(aws.deps, { request: { ...request, name: 'aws-only' }, caller: ALICE })).link
    .id;
}, 120_000);

afterAll(async () => {
  await api?.close();
  await new Promise((r) => (google ? google.close(r) : r(undefined)));
  runtime?.remove('showIntake');
  await runtime?.close();
  await cloud?.stop();
  if (home) rmSync(home, { recursive: true, force: true });
}, 60_000);

describe('link show <id> with both intakes', () => {
  it('asks both at once, as --as, and shows both sides stages and the events between the clouds in order', async () => {
    seen.aws.length = 0;
    seen.gcp.length = 0;
    holdAwsUntilGcpAsked = true;
    gcpWasAsked = new Promise((r) => {
      gcpAsked = () => r();
    });
    const r = await cli('link', 'show', linkId, '--as', 'alice');
    holdAwsUntilGcpAsked = false;
    expect(r.err).toEqual([]);
    expect(r.code).toBe(0);
    expect(seen).toEqual({ aws: [ALICE.principal], gcp: ['alice@example.com'] });

    const lines = r.out.split('\n');
    expect(lines[0]).toBe(`${linkId}  "${request.name}"  AWAITING_APPROVAL`);
    const section = (title: string) => {
      const start = lines.indexOf(title) + 1;
      const end = lines.indexOf('', start);
      return lines.slice(start, end < 0 ? undefined : end);
    };
    // Both records start at the request (the replica takes its time from LinkRequested): equal
    // times, the initiator's first. Each then waits for the other side's approval from the moment
    // it learnt of carol's: Google at once (09:00:03), AWS when her LinkApproved arrived (09:00:07).
    expect(section('stages:')).toEqual([
      '  2026-06-01T09:00:00.000Z  aws  REQUESTED',
      '  2026-06-01T09:00:00.000Z  gcp  REQUESTED',
      expect.stringMatching(
        /^ {2}2026-06-01T09:00:03\.000Z {2}gcp {2}AWAITING_APPROVAL {2}approved by carol/,
      ),
      expect.stringMatching(
        /^ {2}2026-06-01T09:00:07\.000Z {2}aws {2}AWAITING_APPROVAL {2}approved by carol/,
      ),
    ]);
    const events = section('events between the clouds:');
    expect(events[0]).toMatch(/EMITTED +DIRECTION +TYPE +EVENT +RECEIVED +OUTCOME/);
    const rows = events.slice(1).map((l) => l.trim().split(/ {2,}/));
    const { requested, approved, changed, forged } = sent;
    const nothing = 'ignored: LinkStateChanged carries nothing this side applies';
    // By the time each was emitted: carol's events (09:00:03) before the forgery (09:00:07.5),
    // their redelivery after their first delivery (equal times keep each side's order).
    expect(rows).toEqual([
      [requested.time, 'aws -> gcp', 'LinkRequested', requested.id, '2026-06-01T09:00:02.000Z', 'applied'],
      [approved.time, 'gcp -> aws', 'LinkApproved', approved.id, '2026-06-01T09:00:07.000Z', 'applied'],
      [changed.time, 'gcp -> aws', 'LinkStateChanged', changed.id, '2026-06-01T09:00:07.000Z', nothing],
      [
        approved.time,
        'gcp -> aws',
        'LinkApproved',
        approved.id,
        '2026-06-01T09:00:07.500Z',
        'ignored: duplicate: gcp already approved',
      ],
      [changed.time, 'gcp -> aws', 'LinkStateChanged', changed.id, '2026-06-01T09:00:07.500Z', nothing],
      [
        forged.time,
        'gcp -> aws',
        'LinkApproved',
        forged.id,
        '2026-06-01T09:00:08.500Z',
        `refused: policy hash ${'b'.repeat(64)} differs from ${policy.hash}`,
      ],
    ]);
    expect([requested.time, approved.time, forged.time]).toEqual([
      '2026-06-01T09:00:00.000Z',
      '2026-06-01T09:00:03.000Z',
      '2026-06-01T09:00:07.500Z',
    ]);
    expect(section('audit:')[0]).toMatch(/AT +SIDE +ACTOR +ACTION +OUTCOME +REASONS/);
    expect(section('audit:').some((l) => / gcp +carol@example\.com +approve/.test(l))).toBe(true);
  });

  it('--json: the initiator side resource, with both sides, their stages labelled and what crossed', async () => {
    const r = await cli('link', 'show', linkId, '--as', 'alice', '--json');
    expect(r.code).toBe(0);
    const out = JSON.parse(r.out);
    const awsOnly = JSON.parse(
      (await cli('link', 'show', linkId, '--as', 'alice', '--side', 'aws', '--json')).out,
    );
    const gcpOnly = JSON.parse(
      (await cli('link', 'show', linkId, '--as', 'alice', '--side', 'gcp', '--json')).out,
    );
    expect(out.sides).toEqual({ aws: awsOnly, gcp: gcpOnly });
    const { stages: _s, sides: _x, crossed, ...rest } = out;
    const { stages: _a, ...awsRest } = awsOnly;
    expect(rest).toEqual(awsRest);
    expect(out.stages.map((s: { side: string; state: string }) => `${s.side} ${s.state}`)).toEqual([
      'aws REQUESTED',
      'gcp REQUESTED',
      'gcp AWAITING_APPROVAL',
      'aws AWAITING_APPROVAL',
    ]);
    expect(crossed[0]).toEqual({
      id: sent.requested.id,
      type: 'LinkRequested',
      from: 'aws',
      to: 'gcp',
      emittedAt: sent.requested.time,
      receivedAt: '2026-06-01T09:00:02.000Z',
      outcome: 'applied',
    });
    expect(crossed.map((e: { type: string; outcome: string }) => `${e.type} ${e.outcome}`)).toEqual([
      'LinkRequested applied',
      'LinkApproved applied',
      'LinkStateChanged ignored',
      'LinkApproved ignored',
      'LinkStateChanged ignored',
      'LinkApproved refused',
    ]);
    expect(crossed[3]).toMatchObject({ id: sent.approved.id, reason: 'duplicate: gcp already approved' });
    expect(crossed[5]).toMatchObject({
      id: sent.forged.id,
      reason: expect.stringMatching(/^policy hash b+ differs/),
    });
  });

  it('a side that does not know the link: the other side shown, which one is missing on stderr, exit 0', async () => {
    const r = await cli('link', 'show', awsOnlyId, '--as', 'alice');
    expect(r.code).toBe(0);
    expect(r.err).toEqual([
      `gcp side not shown: its intake does not know this link: link ${awsOnlyId} does not exist`,
    ]);
    expect(r.out).toContain(`${awsOnlyId}  "aws-only"`);
    expect(r.out).toMatch(/ aws {2}REQUESTED/);
    expect(r.out).not.toMatch(/ gcp {2}REQUESTED/);
  });

  it('an identity without Google credentials: the Google side is reported missing, not a crash', async () => {
    const r = await cli('link', 'show', linkId, '--as', 'bob', '--json');
    expect(r.code).toBe(0);
    expect(r.err).toEqual([expect.stringMatching(/^gcp side not shown: .*bob.*no Google identity/)]);
    expect(Object.keys(JSON.parse(r.out).sides)).toEqual(['aws']);
  });

  it('an intake that cannot be reached: reported on stderr, the other side shown', async () => {
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', () => r()));
    const dead = `http://127.0.0.1:${(closed.address() as AddressInfo).port}`;
    await new Promise((r) => closed.close(r));
    writeHandshake({ aws: dead, gcp: googleUrl });
    try {
      const r = await cli('link', 'show', linkId, '--as', 'alice');
      expect(r.code).toBe(0);
      expect(r.err).toEqual([
        expect.stringMatching(/^aws side not shown: its intake did not answer: .*cannot reach/),
      ]);
      expect(r.out).toMatch(/ gcp {2}REQUESTED/);
      // Only the Google record: just the events it received.
      expect(r.out).toMatch(/aws -> gcp +LinkRequested/);
      expect(r.out).not.toMatch(/gcp -> aws/);
    } finally {
      writeHandshake({ aws: api.endpoint, gcp: googleUrl });
    }
  });

  it('neither side knows the link: exit 4, one line per side', async () => {
    const r = await cli('link', 'show', 'lk-01jx0000000000000000000000', '--as', 'alice');
    expect(r.code).toBe(4);
    expect(r.out).toBe('');
    expect(r.err).toHaveLength(2);
    expect(r.err[0]).toMatch(/^aws side not shown: its intake does not know this link/);
    expect(r.err[1]).toMatch(/^gcp side not shown: its intake does not know this link/);
  });

  it('--side keeps the single-side view: that intake only, no side labels', async () => {
    seen.aws.length = 0;
    seen.gcp.length = 0;
    const r = await cli('link', 'show', linkId, '--as', 'alice', '--side', 'gcp');
    expect(r.code).toBe(0);
    expect(seen).toEqual({ aws: [], gcp: ['alice@example.com'] });
    expect(r.out).not.toContain('events between the clouds:');
    expect(r.out).toMatch(
      /^stages:\n {2}2026-06-01T09:00:00\.000Z {2}REQUESTED\n {2}2026-06-01T09:00:03\.000Z {2}AWAITING/m,
    );
  });
});
