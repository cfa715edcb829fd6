/**
 * With `watchGcpConfig`, the local cloud reloads by itself: an edited function serves its new code
 * and an edited gcp.yml applies, without a restart. HTTP functions only, so no emulator is needed.
 */
import { cp, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalCloud } from '#local/index.ts';
import { startTestCloud } from '../support/local-cloud.ts';

let dir: string;
let cloud: LocalCloud;

const GCP_YML = `version: 1
serviceAccounts:
  - {id: crosslink, roles: [roles/datastore.user]}
functions:
  - name: whoami
    source: functions/whoami.ts
    entryPoint: whoami
    runtime: nodejs24
    environment: {GREETING: hello}
    trigger: {http: {invokers: [serviceAccount:crosslink]}}
`;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'crosslink-reload-'));
  await cp('test/fixtures/gcp/functions', join(dir, 'functions'), { recursive: true });
  await symlink(join(process.cwd(), 'node_modules'), join(dir, 'node_modules'), 'dir');
  await writeFile(join(dir, 'gcp.yml'), GCP_YML);
  cloud = await startTestCloud({ gcpConfig: join(dir, 'gcp.yml'), watchGcpConfig: true });
}, 60_000);
afterAll(async () => {
  await cloud?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** Calls whoami until `predicate` holds on its answer (or 20 s pass). */
async function until(
  predicate: (body: Record<string, unknown>) => boolean,
): Promise<Record<string, unknown>> {
  const url = cloud.plumbing!.functions.url('whoami');
  const deadline = Date.now() + 20_000;
  let last: Record<string, unknown> = {};
  while (Date.now() < deadline) {
    const token = cloud.gcp.auth.mintIdToken({
      email: 'crosslink@crosslink-local.iam.gserviceaccount.com',
      audience: url,
    });
    const res = await fetch(url, { headers: { authorization: `Bearer ${token}` } }).catch(() => undefined);
    if (res?.ok) {
      last = (await res.json()) as Record<string, unknown>;
      if (predicate(last)) return last;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return last;
}

describe('reload on change', () => {
  it('serves an edited function and applies an edited gcp.yml by itself', async () => {
    expect(await until((b) => b.greeting === 'hello')).toMatchObject({ greeting: 'hello' });
    // Act: edit the function
    const source = join(dir, 'functions/whoami.ts');
    await writeFile(
      source,
      (await readFile(source, 'utf8')).replace('greeting:', "edited: 'yes', greeting:"),
    );
    // Assess
    expect(await until((b) => b.edited === 'yes')).toMatchObject({ edited: 'yes', greeting: 'hello' });
    // Act: edit gcp.yml
    await writeFile(join(dir, 'gcp.yml'), GCP_YML.replace('GREETING: hello', 'GREETING: hola'));
    // Assess
    expect(await until((b) => b.greeting === 'hola')).toMatchObject({ edited: 'yes', greeting: 'hola' });
    expect(cloud.plumbing!.reloads).toBeGreaterThanOrEqual(2);
  }, 60_000);

  it('does not reload for files that are neither gcp.yml nor a source of a function', async () => {
    // Prepare
    const before = cloud.plumbing!.reloads;
    // Act: a note beside gcp.yml, build output, a file beside the function's source.
    await writeFile(join(dir, 'notes.txt'), 'x');
    await mkdir(join(dir, '.serverless'), { recursive: true });
    await writeFile(join(dir, '.serverless', 'template.json'), '{}');
    await writeFile(join(dir, 'functions', 'unused.txt'), 'x');
    await new Promise((r) => setTimeout(r, 1_000)); // past the 300 ms debounce
    // Assess
    expect(cloud.plumbing!.reloads).toBe(before);
  });
});
