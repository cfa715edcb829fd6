/**
 * gcp.yml functions whose instances start on request (`functionInstances: 'request'`, what
 * `npm start` runs), as Cloud Run starts them with no minimum instances: deployed, a function has
 * its URL and no process; the first request waits for its instance's cold start and is served by
 * it, and the instance stays for the next; a request at capacity is refused even while the
 * instance starts; an instance that cannot start answers 503 naming the function, and the next
 * request tries again; the cloud's stop ends the instances.
 */
import { cp, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jwtClient } from '#gcp/google-credentials.ts';
import type { LocalCloud } from '#local/index.ts';
import { pidAlive } from '#local/processes.ts';
import { startTestCloud } from '../support/local-cloud.ts';

const GCP_YML = `version: 1
region: us-east4
serviceAccounts:
  - id: crosslink
    displayName: crosslink service identity
    roles: []
functions:
  # One instance serving two requests at once: a third at once is refused (429).
  - name: whoami
    source: functions/whoami.ts
    entryPoint: whoami
    runtime: nodejs24
    serviceAccount: crosslink
    maxInstances: 1
    concurrency: 2
    trigger:
      http:
        invokers: [user:alice@example.com]
  # Throws as its module loads: its instance never listens.
  - name: broken
    source: functions/broken.ts
    entryPoint: broken
    runtime: nodejs24
    serviceAccount: crosslink
    trigger:
      http:
        invokers: [user:alice@example.com]
`;

let dir: string;
let cloud: LocalCloud;
const logged: string[] = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'crosslink-instances-'));
  await mkdir(join(dir, 'functions'));
  await cp(join('test', 'fixtures', 'gcp', 'functions', 'whoami.ts'), join(dir, 'functions', 'whoami.ts'));
  await writeFile(
    join(dir, 'functions', 'broken.ts'),
    "throw new Error('broken as its module loads');\nexport const broken = () => undefined;\n",
  );
  await writeFile(join(dir, 'gcp.yml'), GCP_YML);
  await symlink(join(process.cwd(), 'node_modules'), join(dir, 'node_modules'), 'dir');
  cloud = await startTestCloud({
    gcpConfig: join(dir, 'gcp.yml'),
    functionInstances: 'request',
    log: (line) => logged.push(line),
  });
}, 120_000);

afterAll(async () => {
  await cloud?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
}, 60_000);

/** `fetch` of the function's URL (with `query`) as alice, with an ID token for its URL. */
async function asAlice(name: string, query = ''): Promise<Response> {
  const url = cloud.plumbing!.functions.url(name);
  const idToken = await jwtClient(cloud.gcp.auth.keyFile('alice')).fetchIdToken(url);
  return fetch(`${url}${query}`, { headers: { authorization: `Bearer ${idToken}` } });
}

describe('function instances started on request', () => {
  it('a deployed function has its URL and no instance until a request reaches it', () => {
    const functions = cloud.plumbing!.functions;
    expect(
      functions
        .deployments()
        .map((f) => f.spec.name)
        .sort(),
    ).toEqual(['broken', 'whoami']);
    expect(functions.deployment('whoami')?.url).toBe(functions.url('whoami'));
    expect(functions.list()).toEqual([]);
    expect(logged.join('\n')).toContain('an instance starts at its first request');
  });

  it('the first requests wait for one cold start and are served by that instance, which stays; one past capacity is refused at once', async () => {
    // Act: two requests at once (the instance's concurrency), a third past it.
    const [a, b, c] = await Promise.all([
      asAlice('whoami', '?holdMs=300'),
      asAlice('whoami', '?holdMs=300'),
      new Promise<void>((r) => setTimeout(r, 50)).then(() => asAlice('whoami')),
    ]);
    // Assess
    expect([a.status, b.status, c.status]).toEqual([200, 200, 429]);
    expect(((await a.json()) as { email: string }).email).toBe('alice@example.com');
    expect(((await b.json()) as { email: string }).email).toBe('alice@example.com');
    const running = cloud.plumbing!.functions.list();
    expect(running.map((f) => f.spec.name)).toEqual(['whoami']);
    const pid = running[0]?.child.pid as number;
    expect(pidAlive(pid)).toBe(true);
    expect(logged.filter((l) => /whoami instance started for a request/.test(l))).toHaveLength(1);
    // The next request is served by the same instance.
    expect((await asAlice('whoami')).status).toBe(200);
    expect(cloud.plumbing!.functions.get('whoami')?.child.pid).toBe(pid);
    expect(cloud.plumbing!.functions.deployment('whoami')?.load).toMatchObject({ peak: 2, refused: 1 });
  });

  it('an instance that cannot start answers 503 naming the function, and the next request tries again', async () => {
    const first = await asAlice('broken');
    expect(first.status).toBe(503);
    expect(await first.text()).toContain('function broken is unavailable: its instance did not start');
    const second = await asAlice('broken');
    expect(second.status).toBe(503);
    const why = logged.filter((l) => l.includes('broken: its instance did not start'));
    expect(why).toHaveLength(2);
    // Why, from the instance's own last lines: the framework could not load the module.
    expect(why[0]).toMatch(/exited 1 before serving: .*Could not load the function/);
    expect(cloud.plumbing!.functions.get('broken')).toBeUndefined();
  });

  it("the cloud's stop ends the instances", async () => {
    const pid = cloud.plumbing!.functions.get('whoami')?.child.pid as number;
    expect(pidAlive(pid)).toBe(true);
    await cloud.stop();
    expect(pidAlive(pid)).toBe(false);
  });
});
