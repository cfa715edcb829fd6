/**
 * The `link` verbs' Google side: calls to the Google intake carry an ID token of the `--as`
 * identity whose audience is the intake URL, obtained with google-auth-library's JWT flow from the
 * identity's key file (token_uri = the local Google edge). The local edge hosts an IAM-invoker
 * HTTP function (test/fixtures/gcp/cli-intake.yml: `whoami`, which answers with the verified
 * caller's email) at the place of `intakes.gcp`, so these tests check the real auth path: who the
 * function sees, and the edge's 401 / 403 mapped to the CLI's exits.
 */
import { cpSync, mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { GoogleAuth } from 'google-auth-library';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jwtClient, readKeyFile } from '#gcp/google-credentials.ts';
import type { LocalCloud } from '#local/index.ts';
import { applicationDefaultIdTokens, IntakeClient } from '#scripts/cli/intake-client.ts';
import { main } from '#scripts/cli/main.ts';
import { startTestCloud } from '../support/local-cloud.ts';

const repo = resolve(import.meta.dirname, '..', '..');
let cloud: LocalCloud;
let home: string;
let url: string;

async function cli(...args: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(args, { out: (l) => out.push(l), err: (l) => err.push(l), cwd: home, env: {} });
  return { code, out: out.join('\n'), err };
}

beforeAll(async () => {
  home = mkdtempSync(join(tmpdir(), 'crosslink-gcp-cli-'));
  mkdirSync(join(home, 'config'));
  mkdirSync(join(home, '.crosslink'));
  cpSync(join(repo, 'config', 'local-identities.yaml'), join(home, 'config', 'local-identities.yaml'));
  cloud = await startTestCloud({
    emulators: false,
    gcp: { keysDir: join(home, '.crosslink', 'keys') },
    gcpConfig: join(repo, 'test/fixtures/gcp/cli-intake.yml'),
  });
  url = cloud.plumbing!.functions.url('whoami');
  const handshake = cloud.handshake();
  writeFileSync(
    join(home, '.crosslink', 'local.json'),
    JSON.stringify({ ...handshake, intakes: { ...handshake.intakes, gcp: url } }),
  );
}, 120_000);

afterAll(async () => {
  await cloud?.stop();
  if (home) rmSync(home, { recursive: true, force: true });
}, 60_000);

describe('link verbs against the Google intake (--side gcp)', () => {
  it('call it with an ID token of the --as identity, audience the intake URL', async () => {
    const r = await cli(
      'link',
      'show',
      'lk-01jx0000000000000000000000',
      '--side',
      'gcp',
      '--as',
      'alice',
      '--json',
    );
    expect(r.err).toEqual([]);
    expect(r.code).toBe(0);
    // What the function saw: the edge verified the token and forwarded it without its signature.
    expect(JSON.parse(r.out)).toMatchObject({
      email: 'alice@example.com',
      signature: 'SIGNATURE_REMOVED_BY_GOOGLE',
      method: 'GET',
    });
  });

  it('an identity that is not an invoker is refused by the edge (403): exit 3, one line', async () => {
    const r = await cli('link', 'show', 'lk-01jx0000000000000000000000', '--side', 'gcp', '--as', 'carol');
    expect(r.code).toBe(3);
    expect(r.err).toEqual([
      expect.stringMatching(/does not have permission .*carol@example\.com is not an invoker/),
    ]);
  });

  it('an identity without a Google side or key file: exit 2', async () => {
    const bob = await cli('link', 'approve', 'lk-01jx0000000000000000000000', '--side', 'gcp', '--as', 'bob');
    expect(bob.code).toBe(2);
    expect(bob.err).toEqual(['--as bob: this identity has no Google identity']);
    const keyFile = join(home, '.crosslink', 'keys', 'alice.json');
    renameSync(keyFile, `${keyFile}.away`);
    const alice = await cli('link', 'ls', '--side', 'gcp', '--as', 'alice');
    renameSync(`${keyFile}.away`, keyFile);
    expect(alice.code).toBe(2);
    expect(alice.err[0]).toMatch(/^--as alice: no Google key file/);
  });

  it('--target cloud needs CROSSLINK_GCP_INTAKE_URL: exit 2', async () => {
    const r = await cli(
      'link',
      'decommission',
      'lk-01jx0000000000000000000000',
      '--side',
      'gcp',
      '--target',
      'cloud',
    );
    expect(r.code).toBe(2);
    expect(r.err).toEqual([
      expect.stringMatching(
        /^the Google intake is not available: --target cloud needs CROSSLINK_GCP_INTAKE_URL/,
      ),
    ]);
  });

  it('the application-default path fetches an ID token through GoogleAuth for the same audience', async () => {
    // GoogleAuth over the identity's (edge-redirected) JWT client: the ADC code path minus discovery.
    const key = await readKeyFile(join(home, '.crosslink', 'keys', 'alice.json'));
    const client = new IntakeClient({
      url,
      idToken: applicationDefaultIdTokens(new GoogleAuth({ authClient: jwtClient(key) })),
    });
    expect(await client.get('lk-01jx0000000000000000000000')).toMatchObject({ email: 'alice@example.com' });
  });

  it('a token the intake no longer accepts (virtual clock past its expiry) is replaced once', async () => {
    const key = await readKeyFile(join(home, '.crosslink', 'keys', 'alice.json'));
    const fresh: boolean[] = [];
    const jwt = jwtClient(key);
    const client = new IntakeClient({
      url,
      idToken: async (audience, again) => {
        fresh.push(again);
        return jwt.fetchIdToken(audience);
      },
    });
    await client.get('lk-a');
    // Tokens are minted on the virtual clock: two hours on, the first one has expired at the edge.
    const token = await jwt.fetchIdToken(url);
    await cloud.clock.advance(2 * 3600_000);
    const stale = await fetch(url, { headers: { authorization: `Bearer ${token}` } });
    expect(stale.status).toBe(401);
    const cached = new IntakeClient({
      url,
      idToken: async (_aud, again) => {
        fresh.push(again);
        return again ? jwt.fetchIdToken(url) : token;
      },
    });
    expect(await cached.get('lk-b')).toMatchObject({ email: 'alice@example.com' });
    expect(fresh).toEqual([false, false, true]);
  });
});
