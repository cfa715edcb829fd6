/**
 * Removing a grant breaks the flow it serves, with Google IAM enforced as in every local cloud: both
 * halves run as `npm start` runs them (test/support/both-halves.ts), but from a copy of gcp.yml
 * whose steps account lacks its Secret Manager grant to create the activation-key secrets (the
 * project role crosslinkSecretCreator). A Google-first link then fails where the steps function
 * stores the transport's activation key, and the link's failure reason names PERMISSION_DENIED and
 * the permission; the transport made before it is compensated (deleted).
 *
 * Then the same copy, reloaded without the intake account's roles/datastore.user: the intake's
 * Firestore calls, which its function makes over gRPC through its IAM front of the emulator
 * (local/gcp/emulator-front.ts), are refused with PERMISSION_DENIED naming the permission, and a
 * link request fails.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import {
  type BothHalves,
  dumpOnFailure,
  GOOGLE_FIRST,
  linkOn,
  ROOT,
  startBothHalves,
  untilOk,
  waitFor,
} from '../support/both-halves.ts';

let both: BothHalves;
let dir: string;

/** gcp.yml of `from` without `role` in the project roles of `account`, written to `to`. */
function withoutRole(from: string, to: string, account: string, role: string): void {
  const config = parse(readFileSync(from, 'utf8'));
  const sa = config.serviceAccounts.find((a: { id: string }) => a.id === account);
  const before = sa.roles.length;
  sa.roles = sa.roles.filter((r: string) => r !== role);
  expect(sa.roles.length).toBe(before - 1);
  writeFileSync(to, stringify(config));
}

/** The repository beside a gcp.yml whose steps account may not create secrets. */
function withoutSecretsGrant(): string {
  const d = mkdtempSync(join(tmpdir(), 'gcp-iam-'));
  for (const entry of readdirSync(ROOT))
    if (!['gcp.yml', '.git', '.crosslink'].includes(entry)) symlinkSync(join(ROOT, entry), join(d, entry));
  withoutRole(join(ROOT, 'gcp.yml'), join(d, 'gcp.yml'), 'crosslink-steps', 'crosslinkSecretCreator');
  return d;
}

beforeAll(async () => {
  dir = withoutSecretsGrant();
  // Virtual time flows at 10x wall time while something runs (not 60x): a function's first gRPC
  // call to an emulator has its 60 s virtual deadline, which a slow connect on a loaded machine
  // would otherwise outrun.
  both = await startBothHalves({ gcpConfig: join(dir, 'gcp.yml') }, { busyRate: 10 });
}, 120_000);

afterAll(async () => {
  await both?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('a grant removed from gcp.yml', () => {
  it("fails the Google-first flow at the activation key's secret, the reason naming PERMISSION_DENIED and the permission", async (ctx) => {
    dumpOnFailure(ctx, both, 'gcp-iam-no-secrets-grant');
    // Prepare: alice requests on Google; carol approves there, bob on AWS once the request crossed
    const requested = await both.cli('link', 'request', GOOGLE_FIRST, '--as', 'alice', '--json');
    expect(requested.code, requested.err).toBe(0);
    const id = (JSON.parse(requested.out) as { id: string }).id;
    const carol = await both.cli('link', 'approve', id, '--side', 'gcp', '--as', 'carol');
    expect(carol.code, carol.err).toBe(0);
    const bob = await untilOk(both.cli, ['link', 'approve', id, '--as', 'bob']);
    expect(bob.code, bob.err).toBe(0);
    // Act: the Google half activates: the transport is made, its key cannot be stored
    const failed = await waitFor(`${id} FAILED on Google`, async () => {
      const v = await linkOn<{ state: string; stages: { reason?: string }[] }>(both, id, 'gcp', 'carol');
      return v.state === 'FAILED' ? v : undefined;
    });
    // Assess
    const reason = failed.stages.at(-1)?.reason ?? '';
    expect(reason).toMatch(/PERMISSION_DENIED/);
    expect(reason).toMatch(/secretmanager\.secrets\.create/);
    const steps = `serviceAccount:crosslink-steps@${both.cloud.gcp.project}.iam.gserviceaccount.com`;
    expect(both.cloud.gcp.iam.refused()).toContainEqual(
      expect.objectContaining({ principal: steps, permission: 'secretmanager.secrets.create' }),
    );
  }, 120_000);
});

describe("the functions' Firestore grant removed from gcp.yml", () => {
  it("fails a link request at the intake's Firestore call, PERMISSION_DENIED naming the permission", async (ctx) => {
    dumpOnFailure(ctx, both, 'gcp-iam-no-firestore-grant');
    // Prepare: the running cloud reloads its gcp.yml without the intake account's Firestore role
    const file = join(dir, 'gcp.yml');
    withoutRole(file, file, 'crosslink-intake', 'roles/datastore.user');
    await both.cloud.plumbing!.reload();
    const intake = both.cloud.plumbing!.functions.get('intake')!;
    const logged = intake.output.length;
    // Act
    const requested = await both.cli('link', 'request', GOOGLE_FIRST, '--as', 'alice', '--json');
    // Assess
    expect(requested.code).not.toBe(0);
    const principal = `serviceAccount:crosslink-intake@${both.cloud.gcp.project}.iam.gserviceaccount.com`;
    const refused = both.cloud.gcp.iam.refused().filter((r) => r.principal === principal);
    expect(refused.map((r) => r.permission)).toContainEqual(expect.stringMatching(/^datastore\.entities\./));
    expect(refused[0]?.resource).toBe(`projects/${both.cloud.gcp.project}/databases/(default)`);
    const why = intake.output.slice(logged).join('\n');
    expect(why).toMatch(
      new RegExp(
        `PERMISSION_DENIED: Permission '${refused[0]?.permission.replaceAll('.', '\\.')}' denied on resource`,
      ),
    );
  }, 120_000);
});
