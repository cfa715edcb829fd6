/**
 * The sample gcp.yml (test/fixtures/gcp/gcp.yml) loaded into a local cloud with the real Pub/Sub
 * emulator and exercised end to end: the scheduler fires on `sim clock advance`, a poison message
 * lands in the dead-letter subscription, a transport created through the edge produces an audit
 * entry that reaches the sink's topic, an HTTP function sees the caller's email, a push without a
 * valid token is refused and one through the proxy accepted, a request past the function's
 * instances answered 429, a CloudEvent function gets the
 * decoded message, and an edited function reloads.
 */
import { generateKeyPairSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { appendFile, cp, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jwtClient } from '#gcp/google-credentials.ts';
import { signJwt } from '#local/gcp/auth.ts';
import type { LocalCloud } from '#local/index.ts';
import { main } from '#scripts/cli/main.ts';
import { startTestCloud } from '../support/local-cloud.ts';
import { eventually } from '../support/timers.ts';

const FIXTURE = 'test/fixtures/gcp';
const NETWORK = 'network-east';
let dir: string;
let cloud: LocalCloud;

interface Pulled {
  ackId: string;
  message: { data?: string; attributes?: Record<string, string>; messageId: string };
}

/** Pulls from a subscription until `count` messages came or `timeoutMs` passed; acks them. */
async function pull(subscription: string, count = 1, timeoutMs = 20_000): Promise<Pulled[]> {
  const base = `http://${cloud.emulators?.pubsubHost}/v1/projects/${cloud.gcp.project}/subscriptions/${subscription}`;
  const out: Pulled[] = [];
  const deadline = Date.now() + timeoutMs;
  while (out.length < count && Date.now() < deadline) {
    const res = await fetch(`${base}:pull`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ maxMessages: 10, returnImmediately: true }),
    });
    const got = ((await res.json()) as { receivedMessages?: Pulled[] }).receivedMessages ?? [];
    if (got.length > 0) {
      out.push(...got);
      await fetch(`${base}:acknowledge`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ ackIds: got.map((m) => m.ackId) }),
      });
    } else await new Promise((r) => setTimeout(r, 200));
  }
  return out;
}

async function publish(topic: string, data: string, attributes?: Record<string, string>): Promise<void> {
  const res = await fetch(
    `http://${cloud.emulators?.pubsubHost}/v1/projects/${cloud.gcp.project}/topics/${topic}:publish`,
    {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ messages: [{ data: Buffer.from(data).toString('base64'), attributes }] }),
    },
  );
  expect(res.status).toBe(200);
}

/** `crosslink <args>` against this cloud (its handshake where the CLI looks for it). */
async function cli(...args: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(args, { out: (l) => out.push(l), err: (l) => err.push(l), cwd: dir, env: {} });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

const text = (m: Pulled) => Buffer.from(m.message.data ?? '', 'base64').toString('utf8');

beforeAll(async () => {
  // A copy of the fixture, so the reload test can edit it.
  dir = await mkdtemp(join(tmpdir(), 'crosslink-gcp-'));
  await cp(FIXTURE, dir, { recursive: true });
  // A network project whose copy of the audit sink feeds the hub's topic.
  await appendFile(
    join(dir, 'gcp.yml'),
    `networkProjects:
  - project: ${NETWORK}
    serviceAccount: crosslink-net@${NETWORK}.iam.gserviceaccount.com
    impersonators: [crosslink]
    logSink: transport-audit
`,
  );
  // The functions import functions-framework as they would from the repo.
  await symlink(join(process.cwd(), 'node_modules'), join(dir, 'node_modules'), 'dir');
  cloud = await startTestCloud({
    emulators: { firestore: false },
    gcpConfig: join(dir, 'gcp.yml'),
  });
  await mkdir(join(dir, '.crosslink'), { recursive: true });
  await writeFile(join(dir, '.crosslink', 'local.json'), JSON.stringify(cloud.handshake()));
}, 120_000);

afterAll(async () => {
  await cloud?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
}, 60_000);

describe('functions behind the IAM check', () => {
  it('an HTTP function sees the email of the caller, from a token with its signature removed', async () => {
    // Prepare
    const url = cloud.plumbing!.functions.url('whoami');
    const idToken = await jwtClient(cloud.gcp.auth.keyFile('alice')).fetchIdToken(url);
    // Act
    const res = await fetch(url, {
      method: 'POST',
      headers: { authorization: `Bearer ${idToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ hi: 1 }),
    });
    // Assess
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      email: 'alice@example.com',
      signature: 'SIGNATURE_REMOVED_BY_GOOGLE',
      authorization: { email: 'alice@example.com', signature: 'SIGNATURE_REMOVED_BY_GOOGLE' },
      serverless: null,
      greeting: 'hello',
      method: 'POST',
      body: { hi: 1 },
      runtimeIdentity: `crosslink@${cloud.gcp.project}.iam.gserviceaccount.com`,
      project: cloud.gcp.project,
    });
  });

  it("a function's Google clients authenticate as its service account, with the metadata server's tokens", async () => {
    const url = cloud.plumbing!.functions.url('whoami');
    const idToken = await jwtClient(cloud.gcp.auth.keyFile('alice')).fetchIdToken(url);
    const res = await fetch(`${url}?token=1&audience=https://steps.example`, {
      headers: { authorization: `Bearer ${idToken}` },
    });
    const { accessToken, idToken: own } = (await res.json()) as { accessToken: string; idToken: string };
    const email = `crosslink@${cloud.gcp.project}.iam.gserviceaccount.com`;
    expect(cloud.gcp.auth.authenticate(`Bearer ${accessToken}`)).toMatchObject({ email });
    expect(cloud.gcp.auth.verifyIdToken(own, 'https://steps.example')).toMatchObject({
      email,
      aud: 'https://steps.example',
    });
  });

  it('a function runs from its package with only the platform variables, gcp.yml environment and the local network', async () => {
    const hosted = cloud.plumbing!.functions.get('whoami')!;
    expect(Object.keys(hosted.environment).sort()).toEqual(
      [
        'CROSSLINK_GCP_ENDPOINT',
        'CROSSLINK_NETWORK_PROJECTS', // gcp.yml's, from its networkProjects
        'FUNCTION_SIGNATURE_TYPE',
        'FUNCTION_TARGET',
        'GCE_METADATA_HOST',
        'GREETING',
        'K_CONFIGURATION',
        'K_REVISION',
        'K_SERVICE',
        'PATH',
        'PORT',
        'PUBSUB_EMULATOR_HOST',
      ].sort(),
    );
    // The process starts with the local cloud's compile cache, which the function itself does not see.
    expect(readFileSync(`/proc/${hosted.child.pid}/environ`, 'utf8').split('\0')).toContainEqual(
      expect.stringMatching(/^NODE_COMPILE_CACHE=.+/),
    );
    const url = cloud.plumbing!.functions.url('whoami');
    const alice = await jwtClient(cloud.gcp.auth.keyFile('alice')).fetchIdToken(url);
    const seen = await fetch(`${url}?variables=1`, { headers: { authorization: `Bearer ${alice}` } });
    expect(((await seen.json()) as { variables: string[] }).variables).toEqual(
      Object.keys(hosted.environment).sort(),
    );
    expect(hosted.packageDir.startsWith(join(dir, '.crosslink', 'gcp-functions', 'whoami-'))).toBe(true);
    const manifest = JSON.parse(await readFile(join(hosted.packageDir, 'package.json'), 'utf8'));
    expect(manifest).toMatchObject({ main: 'index.js', type: 'module' });
  });

  it("a function with its own region answers at that region's URL only, and its metadata server says that region", async () => {
    // Prepare
    const url = cloud.plumbing!.functions.url('whoami-west');
    const elsewhere = url.replace('/us-west1-', '/us-east4-');
    const idToken = await jwtClient(cloud.gcp.auth.keyFile('alice')).fetchIdToken(url);
    const otherToken = await jwtClient(cloud.gcp.auth.keyFile('alice')).fetchIdToken(elsewhere);
    // Act
    const there = await fetch(`${url}?region=1`, { headers: { authorization: `Bearer ${idToken}` } });
    const notThere = await fetch(`${elsewhere}?region=1`, {
      headers: { authorization: `Bearer ${otherToken}` },
    });
    const home = cloud.plumbing!.functions.url('whoami');
    // Assess
    expect(url).toBe(`${cloud.gcp.endpoint}/us-west1-${cloud.gcp.project}.cloudfunctions.net/whoami-west`);
    expect(home).toBe(`${cloud.gcp.endpoint}/us-east4-${cloud.gcp.project}.cloudfunctions.net/whoami`);
    expect(there.status).toBe(200);
    expect((await there.json()) as { region: string }).toEqual({
      region: expect.stringMatching(/^projects\/\d+\/regions\/us-west1$/),
    });
    expect(notThere.status).toBe(404);
    expect(await notThere.text()).toContain('was not found on this server');
  });

  it('X-Serverless-Authorization is the token Cloud Run checks: verified, signature removed; Authorization passes untouched', async () => {
    // Prepare: alice's valid token in X-Serverless-Authorization, an unsigned token naming carol in Authorization
    const url = cloud.plumbing!.functions.url('whoami');
    const alice = await jwtClient(cloud.gcp.auth.keyFile('alice')).fetchIdToken(url);
    const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
    const madeUp = `${b64({ alg: 'none' })}.${b64({ email: 'carol@example.com', aud: url })}.forged`;
    // Act
    const both = await fetch(url, {
      headers: { 'x-serverless-authorization': `Bearer ${alice}`, authorization: `Bearer ${madeUp}` },
    });
    const alone = await fetch(url, { headers: { 'x-serverless-authorization': `Bearer ${alice}` } });
    // Assess
    expect(both.status).toBe(200);
    expect(await both.json()).toMatchObject({
      email: 'alice@example.com',
      serverless: { email: 'alice@example.com', signature: 'SIGNATURE_REMOVED_BY_GOOGLE' },
      authorization: { email: 'carol@example.com', signature: 'forged' },
    });
    expect(alone.status).toBe(200);
    expect(await alone.json()).toMatchObject({
      email: 'alice@example.com',
      serverless: { signature: 'SIGNATURE_REMOVED_BY_GOOGLE' },
      authorization: null,
    });
  });

  it('only X-Serverless-Authorization is checked when present: an invalid one is 401 even beside a valid Authorization', async () => {
    const url = cloud.plumbing!.functions.url('whoami');
    const alice = await jwtClient(cloud.gcp.auth.keyFile('alice')).fetchIdToken(url);
    const carol = await jwtClient(cloud.gcp.auth.keyFile('carol')).fetchIdToken(url);
    const otherAudience = await jwtClient(cloud.gcp.auth.keyFile('alice')).fetchIdToken('https://elsewhere');
    const status = async (headers: Record<string, string>) => (await fetch(url, { headers })).status;
    expect(
      await status({
        'x-serverless-authorization': `Bearer ${otherAudience}`,
        authorization: `Bearer ${alice}`,
      }),
    ).toBe(401);
    expect(await status({ 'x-serverless-authorization': '', authorization: `Bearer ${alice}` })).toBe(401);
    // carol may not invoke whoami: her token in X-Serverless-Authorization is the caller, alice's aside.
    expect(
      await status({ 'x-serverless-authorization': `Bearer ${carol}`, authorization: `Bearer ${alice}` }),
    ).toBe(403);
  });

  it('serves at most maxInstances x concurrency requests at once: one more is answered 429, and served once one ends', async () => {
    const url = cloud.plumbing!.functions.url('whoami');
    const idToken = await jwtClient(cloud.gcp.auth.keyFile('alice')).fetchIdToken(url);
    const call = (query = '') => fetch(`${url}${query}`, { headers: { authorization: `Bearer ${idToken}` } });
    const hosted = cloud.plumbing!.functions.list().find((f) => f.spec.name === 'whoami')!;
    const refusedBefore = hosted.load.refused;
    // Two requests hold both instances (gcp.yml: maxInstances 2, concurrency 1).
    const held = [call('?holdMs=1500'), call('?holdMs=1500')];
    await eventually(() => hosted.load.inFlight === 2);
    const third = await call();
    expect(third.status).toBe(429);
    expect(await third.text()).toMatch(/no available instance/);
    expect(hosted.load.refused).toBe(refusedBefore + 1);
    expect((await Promise.all(held)).map((r) => r.status)).toEqual([200, 200]);
    await eventually(() => hosted.load.inFlight === 0);
    expect((await call()).status).toBe(200);
    expect(hosted.load.peak).toBe(2);
  });

  it('refuses no token, a forged token and another audience (401), and a caller who is not an invoker (403)', async () => {
    const url = cloud.plumbing!.functions.url('whoami');
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const now = Math.floor(cloud.clock.now() / 1000);
    const forged = signJwt(
      { iss: 'https://accounts.google.com', aud: url, email: 'alice@example.com', iat: now, exp: now + 600 },
      privateKey,
      'forged',
    );
    const otherAudience = await jwtClient(cloud.gcp.auth.keyFile('alice')).fetchIdToken('https://elsewhere');
    const carol = await jwtClient(cloud.gcp.auth.keyFile('carol')).fetchIdToken(url);
    const status = async (token?: string) =>
      (await fetch(url, token ? { headers: { authorization: `Bearer ${token}` } } : {})).status;
    expect(await status()).toBe(401);
    expect(await status(forged)).toBe(401);
    expect(await status(otherAudience)).toBe(401);
    expect(await status(carol)).toBe(403);
    // The function's cloud URL is an audience too (a workflow or a scheduler job names that one).
    const cloudForm = await jwtClient(cloud.gcp.auth.keyFile('alice')).fetchIdToken(
      `https://${cloud.gcp.region}-${cloud.gcp.project}.cloudfunctions.net/whoami`,
    );
    expect(await status(cloudForm)).toBe(200);
    const otherFunction = await jwtClient(cloud.gcp.auth.keyFile('alice')).fetchIdToken(
      `https://${cloud.gcp.region}-${cloud.gcp.project}.cloudfunctions.net/orders`,
    );
    expect(await status(otherFunction)).toBe(401);
  });

  it('a push without a valid token is refused by the push endpoint; one through the proxy is accepted', async () => {
    // Prepare: what Pub/Sub would push, sent by hand without a token
    const url = cloud.plumbing!.functions.url('orders');
    const body = JSON.stringify({
      message: { data: Buffer.from('order-1').toString('base64'), messageId: '1' },
      subscription: `projects/${cloud.gcp.project}/subscriptions/orders-push`,
    });
    // Act
    const unsigned = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
    });
    await publish('orders', 'order-2');
    const deadline = Date.now() + 15_000;
    let accepted: number | 'dropped' | 'error' | 'crashed' | undefined;
    while (accepted === undefined && Date.now() < deadline) {
      const d = cloud.pushProxy!.deliveries(`projects/${cloud.gcp.project}/subscriptions/orders-push`);
      accepted = d.find((x) => x.acked)?.outcome;
      await new Promise((r) => setTimeout(r, 100));
    }
    // Assess
    expect(unsigned.status).toBe(401);
    expect(accepted).toBe(204);
  });
});

describe('Pub/Sub from gcp.yml', () => {
  it('dead-letters a poison message after 5 attempts, into the dead-letter subscription', async () => {
    // Act
    await publish('orders', 'poison', { kind: 'test' });
    // The retry policy's backoff (1 to 2 s) runs on the local cloud's clock, which stands still
    // here: move it 3 s at a time (at most a minute, before the scheduler's first instant) until
    // the fifth refusal dead-letters the message.
    let dead: Pulled | undefined;
    for (let moved = 0; !dead && moved < 60_000; moved += 3_000) {
      [dead] = await pull('orders-dead-sub', 1, 1_500);
      if (!dead) await cloud.clock.advance(3_000);
    }
    // Assess
    expect(dead && text(dead)).toBe('poison');
    expect(dead?.message.attributes?.kind).toBe('test');
    const attempts = cloud
      .pushProxy!.deliveries(`projects/${cloud.gcp.project}/subscriptions/orders-push`)
      .filter((d) => d.outcome === 500);
    expect(attempts.length).toBe(5);
  }, 60_000);

  it('delivers a topic message to the CloudEvent function as a decoded CloudEvent', async () => {
    // Act
    await publish('events', 'ping');
    const [echo] = await pull('echoes-sub', 1, 20_000);
    // Assess
    expect(echo && text(echo)).toBe('echo: ping');
    expect(echo?.message.attributes?.['ce-type']).toBe('google.cloud.pubsub.topic.v1.messagePublished');
  }, 30_000);
});

describe('Cloud Scheduler on the virtual clock', () => {
  it('fires each job at its instants when the clock advances, through crosslink sim clock advance', async () => {
    // Prepare: the clock stands at 2026-06-01T00:00Z, a Monday (20:00 the day before in New York)
    const before = cloud.plumbing!.scheduler.jobs();
    expect(before.find((j) => j.name === 'tick')?.nextRunTime).toBe('2026-06-01T00:05:00.000Z');
    expect(before.find((j) => j.name === 'morning-call')?.nextRunTime).toBe('2026-06-01T13:00:00.000Z');
    // Act: 14 hours, via the CLI
    const out = await cli('sim', 'clock', 'advance', '14h');
    expect(out.code).toBe(0);
    await cloud.plumbing!.idle();
    // Assess
    const jobs = Object.fromEntries(cloud.plumbing!.scheduler.jobs().map((j) => [j.name, j]));
    expect(jobs.tick?.runs).toBe(14 * 12);
    expect(jobs.tick?.attempts.every((a) => a.status === 200)).toBe(true);
    expect(jobs['morning-call']?.attempts).toEqual([
      expect.objectContaining({ scheduleTime: '2026-06-01T13:00:00.000Z', status: 200 }),
    ]);
    expect(jobs['hourly-greet']?.runs).toBe(14);
    expect(jobs['hourly-greet']?.lastAttempt?.status).toBe(200);
    const ticks = await pull('ticks-sub', 14 * 12, 20_000);
    expect(ticks.length).toBe(14 * 12);
    expect(JSON.parse(text(ticks[0] as Pulled))).toEqual({ kind: 'tick' });
    const greet = cloud.plumbing!.workflow('greet')!;
    const executions = greet.list(`projects/${cloud.gcp.project}/locations/us-east4/workflows/greet`);
    expect(executions.length).toBe(14);
    await greet.wait(executions[0]!.name);
    expect(greet.get(executions[0]!.name).result).toBe('"hello scheduler"');
  }, 60_000);

  it('a paused job misses its instants and, resumed, fires from the next one without making them up', async () => {
    // Prepare
    const scheduler = cloud.plumbing!.scheduler;
    // Act: paused over an hour (12 instants), then resumed for ten minutes
    scheduler.pause('tick');
    await cloud.plumbing!.reload(); // a reload of gcp.yml keeps it paused (and starts its counts afresh)
    const before = scheduler.job('tick')!;
    const paused = before;
    expect((await cli('sim', 'clock', 'advance', '1h')).code).toBe(0);
    await cloud.plumbing!.idle();
    const afterPause = scheduler.job('tick')!;
    scheduler.resume('tick');
    const resumedAt = cloud.clock.now();
    expect((await cli('sim', 'clock', 'advance', '10m')).code).toBe(0);
    await cloud.plumbing!.idle();
    // Assess
    expect(paused).toMatchObject({ state: 'PAUSED', nextRunTime: undefined });
    expect(afterPause.runs).toBe(before.runs);
    const after = scheduler.job('tick')!;
    expect(after.state).toBe('ENABLED');
    expect(after.runs - before.runs).toBe(2);
    const fired = after.attempts.slice(-2).map((a) => Date.parse(a.scheduleTime));
    expect(fired.every((t) => t > resumedAt)).toBe(true);
    expect(() => scheduler.pause('no-such-job')).toThrow(/no scheduler job no-such-job/);
    await pull('ticks-sub', 2, 20_000);
  }, 60_000);
});

describe('audit-log sinks', () => {
  /** CreateTransport `id` in `project` as crosslink (no IAM on these projects: any caller). */
  async function createTransport(project: string, id: string) {
    const token = (await jwtClient(cloud.gcp.auth.keyFile('crosslink')).getAccessToken()).token;
    const res = await fetch(
      `${cloud.gcp.endpoint}/v1beta/projects/${project}/locations/us-east4/transports?transportId=${id}`,
      {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({
          network: `projects/${project}/global/networks/core`,
          remoteProfile: `projects/${project}/locations/us-east4/remoteTransportProfiles/aws-us-east-1`,
          bandwidth: 'BPS_1G',
          remoteAccountId: '000000000000',
        }),
      },
    );
    expect(res.status).toBe(200);
  }

  it('a transport created through the edge writes an Admin Activity entry that reaches the sink topic', async () => {
    // Act
    await createTransport(cloud.gcp.project, 'lk-audit1');
    const [msg] = await pull('audit-sub', 1, 15_000);
    // Assess
    expect(msg).toBeDefined();
    const entry = JSON.parse(text(msg as Pulled));
    expect(entry).toMatchObject({
      logName: `projects/${cloud.gcp.project}/logs/cloudaudit.googleapis.com%2Factivity`,
      protoPayload: {
        '@type': 'type.googleapis.com/google.cloud.audit.AuditLog',
        serviceName: 'networkconnectivity.googleapis.com',
        methodName: 'google.cloud.networkconnectivity.v1beta.TransportManager.CreateTransport',
        resourceName: `projects/${cloud.gcp.project}/locations/us-east4/transports/lk-audit1`,
        authenticationInfo: { principalEmail: `crosslink@${cloud.gcp.project}.iam.gserviceaccount.com` },
      },
    });
    expect(msg?.message.attributes?.['logging.googleapis.com/timestamp']).toBe(entry.timestamp);
    expect(cloud.plumbing!.sinks()).toEqual([
      { name: 'transport-audit', project: cloud.gcp.project, topic: 'audit', published: 1 },
      { name: 'transport-audit', project: NETWORK, topic: 'audit', published: 0 },
    ]);
  }, 30_000);

  it("a network project's sink feeds the hub topic; a project without a sink feeds nothing", async () => {
    // Act
    await createTransport('someone-else', 'lk-audit2');
    await createTransport(NETWORK, 'lk-audit3');
    await cloud.plumbing!.idle();
    const got = await pull('audit-sub', 1, 15_000);
    // Assess: only the network project's entry, through its own sink.
    expect(got.map((m) => JSON.parse(text(m)).protoPayload.resourceName)).toEqual([
      `projects/${NETWORK}/locations/us-east4/transports/lk-audit3`,
    ]);
    expect(cloud.plumbing!.sinks().map((x) => x.published)).toEqual([1, 1]);
  }, 30_000);
});

describe('reload', () => {
  it('restarts a function whose source changed, and applies an edited gcp.yml', async () => {
    // Prepare
    const url = cloud.plumbing!.functions.url('whoami');
    const source = join(dir, 'functions/whoami.ts');
    const yml = join(dir, 'gcp.yml');
    // Act: edit the function (its package changes), then the environment it gets
    await writeFile(
      source,
      (await readFile(source, 'utf8')).replace('greeting:', 'reloaded: true, greeting:'),
    );
    await cloud.plumbing!.reload();
    const idToken = await jwtClient(cloud.gcp.auth.keyFile('crosslink')).fetchIdToken(url);
    const edited = await fetch(url, { headers: { authorization: `Bearer ${idToken}` } });
    await writeFile(yml, (await readFile(yml, 'utf8')).replace('GREETING: hello', 'GREETING: bonjour'));
    await cloud.plumbing!.reload();
    const res = await fetch(url, { headers: { authorization: `Bearer ${idToken}` } });
    // Assess
    expect(await edited.json()).toMatchObject({ reloaded: true, greeting: 'hello' });
    expect(await res.json()).toMatchObject({ reloaded: true, greeting: 'bonjour' });
  }, 60_000);

  it('refuses an invalid gcp.yml with every bad field named, and keeps running', async () => {
    const yml = join(dir, 'gcp.yml');
    const good = await readFile(yml, 'utf8');
    await writeFile(
      yml,
      good
        .replace('topic: ticks\n      data', 'topic: tocks\n      data')
        .replace('runtime: nodejs24', 'runtime: nodejs18'),
    );
    await expect(cloud.plumbing!.reload()).rejects.toThrow(/functions\[0\]\.runtime: must be "nodejs24"/);
    await writeFile(yml, good.replace('topic: ticks\n      data', 'topic: tocks\n      data'));
    await expect(cloud.plumbing!.reload()).rejects.toThrow(
      /schedulerJobs\[0\]\.pubsub\.topic: names the topic tocks, which topics does not list/,
    );
    await writeFile(yml, good);
    expect(cloud.plumbing!.functions.get('whoami')).toBeDefined();
  });

  it('refuses a source that does not build, and keeps the running function', async () => {
    const source = join(dir, 'functions/whoami.ts');
    const good = await readFile(source, 'utf8');
    const before = cloud.plumbing!.functions.get('whoami')!;
    await writeFile(source, `${good}\nff.http('broken', (req, res) => {\n`);
    await expect(cloud.plumbing!.reload()).rejects.toThrow(/^function whoami: Build failed/);
    await writeFile(source, good);
    expect(cloud.plumbing!.functions.get('whoami')).toBe(before);
    const url = cloud.plumbing!.functions.url('whoami');
    const idToken = await jwtClient(cloud.gcp.auth.keyFile('alice')).fetchIdToken(url);
    expect((await fetch(url, { headers: { authorization: `Bearer ${idToken}` } })).status).toBe(200);
  });
});
