/**
 * The `link` verbs against the real Google intake: the root gcp.yml's `intake` function
 * (functions/gcp/handlers/index.ts, core routeIntake over Firestore, behind the edge's IAM invoker check)
 * hosted by the local cloud as `npm start` hosts it (test/support/gcp-half.ts). The CLI signs as the
 * `--as` identity with an ID token from its key file (google-auth-library's JWT flow), so this is the
 * whole path: file check, token, edge, intake, store, answer, exit code.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { jwtClient } from '#gcp/google-credentials.ts';
import { cliAgainst } from '../support/cli.ts';
import {
  cloud,
  dumpOnFailure,
  eventually,
  executionsOf,
  intakeUrl,
  provisioning,
  request,
  startGoogleHalf,
  stopGoogleHalf,
} from '../support/gcp-half.ts';
import { hubIdentities } from '../support/local-cloud.ts';

let run: ReturnType<typeof cliAgainst>;
let requestFile: string;

beforeAll(async () => {
  await startGoogleHalf();
  run = cliAgainst(cloud, 'crosslink-gcp-intake-cli-');
  mkdirSync(join(run.home, 'config'));
  // The identities as this cloud has them: the hub's service accounts in its (leased) project.
  writeFileSync(join(run.home, 'config', 'local-identities.yaml'), hubIdentities(cloud.gcp.project));
  mkdirSync(join(run.home, '.crosslink', 'keys'));
  for (const who of ['alice', 'carol', 'admin', 'crosslink'])
    writeFileSync(
      join(run.home, '.crosslink', 'keys', `${who}.json`),
      JSON.stringify(cloud.gcp.auth.keyFile(who)),
    );
  requestFile = join(run.home, 'link.yaml');
  writeFileSync(requestFile, stringify(request('cli-google')));
}, 120_000);
afterEach(dumpOnFailure);
afterAll(async () => {
  run?.remove();
  await stopGoogleHalf();
}, 60_000);

describe('crosslink link against the Google intake of the root gcp.yml', () => {
  let linkId: string;

  it('the handshake names the intake function as the Google intake', () => {
    expect(cloud.handshake().intakes.gcp).toBe(cloud.plumbing?.functions.url('intake'));
  });

  it('request as alice: the Google-initiated link is created there, exit 0', async () => {
    const r = await run.cli('link', 'request', requestFile, '--as', 'alice', '--json');
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const link = JSON.parse(r.out);
    expect(link).toMatchObject({ name: 'cli-google', initiator: 'gcp', requester: 'alice@example.com' });
    linkId = link.id;
    expect(linkId).toMatch(/^lk-/);
    // The intake started provisioning (the start guard): one execution, waiting for approvals.
    await eventually(() => provisioning.callbacks.waiting(executionsOf(linkId)[0]?.name ?? '') === 1);
    // The same file again is the same link (the idempotency key of the file's canonical JSON).
    const again = await run.cli('link', 'request', requestFile, '--as', 'alice');
    expect(again.code).toBe(0);
    expect(again.out).toContain(linkId);
    expect(again.out).toMatch(/AWAITING_APPROVAL/);
    expect(executionsOf(linkId)).toHaveLength(1);
  });

  it('the requester approving her own link is refused: exit 3, one line', async () => {
    const r = await run.cli('link', 'approve', linkId, '--side', 'gcp', '--as', 'alice');
    expect(r.code).toBe(3);
    expect(r.err.split('\n')).toHaveLength(1);
    expect(r.err).toMatch(/alice@example\.com requested this link and cannot approve it/);
  });

  it('a forged Authorization beside a valid X-Serverless-Authorization: the caller is alice, so 403, and carol approved nothing', async () => {
    // Prepare: alice's own ID token where Cloud Run checks it, a made-up unsigned one naming carol
    // in Authorization (which Cloud Run then passes through unverified)
    const url = intakeUrl();
    const alice = await jwtClient(cloud.gcp.auth.keyFile('alice')).fetchIdToken(url);
    const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
    const now = Math.floor(Date.now() / 1000);
    const carol = `${b64({ alg: 'RS256', typ: 'JWT' })}.${b64({ iss: cloud.gcp.auth.issuer, aud: url, email: 'carol@example.com', email_verified: true, iat: now, exp: now + 600 })}.SIGNATURE_REMOVED_BY_GOOGLE`;
    const approve = (headers: Record<string, string>) =>
      fetch(`${url}/links/${linkId}/approvals`, {
        method: 'POST',
        headers: { ...headers, 'content-type': 'application/json' },
        body: JSON.stringify({ decision: 'approve' }),
      });
    // Act
    const forged = await approve({
      'x-serverless-authorization': `Bearer ${alice}`,
      authorization: `Bearer ${carol}`,
    });
    // Assess: the caller is the verified alice, who requested the link
    expect(forged.status).toBe(403);
    expect(await forged.text()).toMatch(/alice@example\.com requested this link and cannot approve it/);
    const show = await run.cli('link', 'show', linkId, '--side', 'gcp', '--as', 'carol', '--json');
    expect(JSON.parse(show.out).approvals).toEqual([]);
    // A valid token in X-Serverless-Authorization alone is a caller like any other.
    const alone = await fetch(`${url}/links/${linkId}`, {
      headers: { 'x-serverless-authorization': `Bearer ${alice}` },
    });
    expect(alone.status).toBe(200);
  });

  it("carol's approval is accepted, and show --json returns the link resource with it", async () => {
    const r = await run.cli('link', 'approve', linkId, '--side', 'gcp', '--as', 'carol', '--json');
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out).approvals).toEqual([
      expect.objectContaining({ side: 'gcp', decision: 'approved', by: 'carol@example.com' }),
    ]);

    const show = await run.cli('link', 'show', linkId, '--side', 'gcp', '--as', 'carol', '--json');
    expect(show.code).toBe(0);
    const link = JSON.parse(show.out);
    expect(link).toMatchObject({
      id: linkId,
      name: 'cli-google',
      state: 'AWAITING_APPROVAL', // bob (AWS) has not approved
      initiator: 'gcp',
      requester: 'alice@example.com',
      halves: { aws: expect.any(Object), gcp: expect.any(Object) },
      approvals: [expect.objectContaining({ by: 'carol@example.com' })],
    });
    expect(link.stages.map((s: { state: string }) => s.state)).toContain('AWAITING_APPROVAL');
    expect(Array.isArray(link.audit)).toBe(true);
    // The self-approval above was refused and audited, never recorded as an approval.
    expect(link.approvals).toHaveLength(1);

    const text = await run.cli('link', 'show', linkId, '--side', 'gcp', '--as', 'alice');
    expect(text.code).toBe(0);
    expect(text.out).toMatch(new RegExp(`${linkId}.*AWAITING_APPROVAL`));

    const ls = await run.cli('link', 'ls', '--side', 'gcp', '--as', 'alice', '--json');
    expect(ls.code).toBe(0);
    expect(JSON.parse(ls.out).map((l: { id: string }) => l.id)).toContain(linkId);
  });

  it("carol's rejection needs a reason, and with one the link is REJECTED (--wait)", async () => {
    const file = join(run.home, 'second.yaml');
    writeFileSync(file, stringify(request('cli-google-rejected')));
    const created = await run.cli('link', 'request', file, '--as', 'alice', '--json');
    expect(created.code).toBe(0);
    const id = JSON.parse(created.out).id as string;
    const noReason = await run.cli('link', 'reject', id, '--side', 'gcp', '--as', 'carol');
    expect(noReason.code).toBe(2);
    expect(noReason.err).toMatch(/reason/);
    await eventually(() => provisioning.callbacks.waiting(executionsOf(id)[0]?.name ?? '') === 1);
    const r = await run.cli(
      'link',
      'reject',
      id,
      '--side',
      'gcp',
      '--as',
      'carol',
      '--reason',
      'not this quarter',
      '--wait',
      '--timeout',
      '10m',
    );
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/REJECTED/);
  });

  it('an identity that is not an invoker of the intake: exit 3 with the reason', async () => {
    // crosslink's own service identity: a service, not among the intake's invokers.
    const r = await run.cli('link', 'show', linkId, '--side', 'gcp', '--as', 'crosslink');
    expect(r.code).toBe(3);
    expect(r.err).toMatch(
      new RegExp(`crosslink@${cloud.gcp.project}\\.iam\\.gserviceaccount\\.com is not an invoker`),
    );
    expect(r.err.split('\n')).toHaveLength(1);
  });

  it('the operator (admin) is among the local invokers: it reads the Google side', async () => {
    const r = await run.cli('link', 'show', linkId, '--side', 'gcp', '--as', 'admin', '--json');
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out).id).toBe(linkId);
  });

  it('a malformed request file: exit 2 naming the field, nothing sent', async () => {
    const bad = join(run.home, 'bad.yaml');
    writeFileSync(bad, stringify({ ...request('cli-bad'), bandwidth: 'fast' }));
    const before = (await run.cli('link', 'ls', '--side', 'gcp', '--as', 'alice', '--json')).out;
    const r = await run.cli('link', 'request', bad, '--as', 'alice');
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/bad\.yaml: bandwidth: /);
    const after = (await run.cli('link', 'ls', '--side', 'gcp', '--as', 'alice', '--json')).out;
    expect(JSON.parse(after)).toHaveLength(JSON.parse(before).length);

    const missing = await run.cli('link', 'request', join(run.home, 'nope.yaml'), '--as', 'alice');
    expect(missing.code).toBe(2);
  });
});
