/**
 * `npm start` (scripts/start.ts) as a user runs it: it becomes ready, prints its time to ready,
 * writes the handshake, answers on the endpoint it reports, serves the AWS half's intake (deployed
 * from serverless.yml) with IAM auth, and on SIGINT exits 0, removes the handshake and leaves no
 * process of its group behind.
 */

import { type ChildProcess, spawn } from 'node:child_process';
import { constants, generateKeyPairSync, publicEncrypt } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { afterEach, describe, expect, it } from 'vitest';
import { toEventBridgeEntry } from '#aws/envelope.ts';
import { ManualClock } from '#core/clock.ts';
import { buildEvent } from '#core/envelope.ts';
import { jwtClient } from '#gcp/google-credentials.ts';
import { callIntake, IDENTITIES } from '../support/intake.ts';
import { crosslinkPutter } from '../support/local-cloud.ts';

const ROOT = resolve(import.meta.dirname, '..', '..');
let home: string | undefined;

function groupAlive(pid: number): boolean {
  try {
    process.kill(-pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function until<T>(what: string, f: () => T | undefined, timeoutMs = 20_000): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    const v = f();
    if (v !== undefined) return v;
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

afterEach(() => {
  if (home) rmSync(home, { recursive: true, force: true });
});

describe('npm start', () => {
  it('becomes ready, writes .crosslink/local.json, and exits cleanly on SIGINT leaving no process', {
    timeout: 120_000,
  }, async () => {
    // Prepare
    home = mkdtempSync(join(tmpdir(), 'crosslink-start-'));
    const { child, output } = launch(process.execPath, [join(ROOT, 'scripts', 'start.ts')], home, true);
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    const handshakeFile = join(home, '.crosslink', 'local.json');
    try {
      // Act
      // The Firestore emulator's JVM alone takes ~15 s to answer on a small machine.
      await ready(child, output, 100_000);
      const handshake = JSON.parse(readFileSync(handshakeFile, 'utf8'));
      // Assess
      expect(handshake).toMatchObject({
        version: 1,
        pid: child.pid,
        clock: { mode: 'scaled', scale: 60 },
        aws: { region: 'us-east-1', accountId: '000000000000' },
        gcp: { project: 'crosslink-local', region: 'us-east4' },
        pubsubEmulatorHost: expect.stringMatching(/^127\.0\.0\.1:\d+$/),
        firestoreEmulatorHost: expect.stringMatching(/^127\.0\.0\.1:\d+$/),
        intakes: {
          aws: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+$/),
          // The Google half of the root gcp.yml: the intake function's URL on the Google edge.
          gcp: expect.stringMatching(
            /^http:\/\/127\.0\.0\.1:\d+\/us-east4-crosslink-local\.cloudfunctions\.net\/intake$/,
          ),
        },
        keys: {
          aws: { keyId: expect.stringMatching(/^arn:aws:kms:us-east-1:000000000000:key\//) },
          gcp: {
            keyId:
              'projects/crosslink-local/locations/us-east4/keyRings/crosslink/cryptoKeys/activation/cryptoKeyVersions/1',
          },
        },
      });
      // The intake answers a signed caller and refuses an unsigned one.
      const listed = await callIntake(handshake.intakes.aws, IDENTITIES.alice, 'GET', '/links');
      expect(listed.status).toBe(200);
      expect(listed.body.items).toEqual([]);
      expect((await fetch(`${handshake.intakes.aws}/links`)).status).toBe(403);
      // The Google intake answers alice's ID token (audience its URL) and refuses a call without one.
      const aliceKey = JSON.parse(readFileSync(join(home, '.crosslink', 'keys', 'alice.json'), 'utf8'));
      const idToken = await jwtClient(aliceKey).fetchIdToken(handshake.intakes.gcp);
      const google = await fetch(`${handshake.intakes.gcp}/links`, {
        headers: { authorization: `Bearer ${idToken}` },
      });
      expect(google.status).toBe(200);
      expect(((await google.json()) as { items: unknown[] }).items).toEqual([]);
      expect((await fetch(`${handshake.intakes.gcp}/links`)).status).toBe(401);
      expect(output()).toContain(`intake   ${handshake.intakes.gcp}`);
      // Both public keys are real RSA keys: a value sealed to each is ciphertext of the key's size.
      for (const side of ['aws', 'gcp'] as const) {
        const sealed = publicEncrypt(
          {
            key: handshake.keys[side].publicKeyPem,
            padding: constants.RSA_PKCS1_OAEP_PADDING,
            oaepHash: 'sha256',
          },
          Buffer.from('probe'),
        );
        expect(sealed.length).toBe(256);
      }
      expect(handshake.aws.endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(handshake.aws.endpoint).not.toBe('http://127.0.0.1:0');
      expect(handshake.admin).toBe(`${handshake.aws.endpoint}/_crosslink`);
      expect(output()).toContain(handshake.aws.endpoint);
      expect(handshake.gcp.endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(handshake.gcp.tokenUri).toBe(`${handshake.gcp.endpoint}/token`);
      expect(output()).toContain(handshake.gcp.endpoint);
      const key = JSON.parse(readFileSync(join(home, '.crosslink', 'keys', 'crosslink.json'), 'utf8'));
      expect(key.token_uri).toBe(handshake.gcp.tokenUri);
      expect((await fetch(handshake.gcp.jwksUri)).status).toBe(200);
      const status = (await (await fetch(`${handshake.admin}/status`)).json()) as { clock: { mode: string } };
      expect(status.clock.mode).toBe('scaled');

      // The relay carries this side's events to the Pub/Sub emulator's crosslink-peer-events topic,
      // authenticated by the local STS (docs/relay.md): a test subscription sees one put on the AWS bus.
      const emulator = (path: string, body: unknown) =>
        fetch(`http://${handshake.pubsubEmulatorHost}/v1/projects/${handshake.gcp.project}/${path}`, {
          method: path.includes(':') ? 'POST' : 'PUT',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(body),
        });
      expect(
        (
          await emulator('subscriptions/npm-start-relay-check', {
            topic: `projects/${handshake.gcp.project}/topics/crosslink-peer-events`,
          })
        ).status,
      ).toBe(200);
      const relayed = buildEvent({
        name: 'LinkStateChanged',
        origin: { cloud: 'aws', accountId: '000000000000', region: 'us-east-1' },
        subject: 'lk-01jgc000000000000000000001',
        data: { linkId: 'lk-01jgc000000000000000000001' },
        clock: new ManualClock(Date.now()),
      });
      // Put as one of crosslink's roles: the bus's policy refuses a `crosslink` event from anyone else.
      const bus = await crosslinkPutter(handshake, 'crosslink-dev');
      try {
        const put = await bus.send(
          new PutEventsCommand({ Entries: [toEventBridgeEntry(relayed, 'crosslink-dev')] }),
        );
        expect(put.FailedEntryCount).toBe(0);
      } finally {
        bus.destroy();
      }
      const pulled = await (async () => {
        const t0 = Date.now();
        for (;;) {
          const res = await emulator('subscriptions/npm-start-relay-check:pull', {
            maxMessages: 10,
            returnImmediately: true,
          });
          const got = (
            (await res.json()) as { receivedMessages?: { message: { attributes: Record<string, string> } }[] }
          ).receivedMessages;
          if (got?.length) return got;
          if (Date.now() - t0 > 30_000)
            throw new Error(`nothing relayed to Google:\n${output().slice(-3000)}`);
          await new Promise((r) => setTimeout(r, 200));
        }
      })();
      expect(pulled.map((m) => m.message.attributes['ce-id'])).toEqual([relayed.id]);

      process.kill(child.pid!, 'SIGINT');
      expect(await exited, `npm start output:\n${output()}`).toBe(0);
      expect(existsSync(handshakeFile)).toBe(false);
      await until('the process group to be gone', () => (groupAlive(child.pid!) ? undefined : true), 5_000);
      await expect(fetch(`${handshake.admin}/status`)).rejects.toThrow();
      // The emulators ran in their own process groups: they are gone too.
      await expect(fetch(`http://${handshake.pubsubEmulatorHost}/`)).rejects.toThrow();
      await expect(fetch(`http://${handshake.firestoreEmulatorHost}/`)).rejects.toThrow();
    } finally {
      if (groupAlive(child.pid!)) process.kill(-child.pid!, 'SIGKILL');
    }
  });

  it('leaves no process behind within 5 s when npm start is killed with SIGKILL', {
    timeout: 120_000,
  }, async () => {
    // Prepare: `npm start` as a supervisor runs it (npm, then node scripts/start.ts under it).
    home = mkdtempSync(join(tmpdir(), 'crosslink-start-'));
    const npm = process.env.npm_execpath;
    const [command, args] = npm
      ? [process.execPath, [npm, 'start', '--', '--no-aws-half', '--clock', 'manual']]
      : ['npm', ['start', '--', '--no-aws-half', '--clock', 'manual']];
    // Without the AWS half, its sealing key and relay route come from npm start's environment.
    const { child, output } = launch(command, args, home, false, {
      CROSSLINK_AWS_RELAY_URL: 'http://127.0.0.1:9/relay/google',
      CROSSLINK_PEER_PUBLIC_KEY_PEM: generateKeyPairSync('rsa', { modulusLength: 2048 })
        .publicKey.export({ type: 'spki', format: 'pem' })
        .toString(),
      CROSSLINK_PEER_KEY_ID: 'arn:aws:kms:us-east-1:000000000000:key/npm-start-peer',
    });
    let started: number[] = [];
    try {
      await ready(child, output, 90_000);
      // A function's instance starts at its first request: the Google intake's, served.
      const handshake = JSON.parse(readFileSync(join(home, '.crosslink', 'local.json'), 'utf8'));
      const aliceKey = JSON.parse(readFileSync(join(home, '.crosslink', 'keys', 'alice.json'), 'utf8'));
      const idToken = await jwtClient(aliceKey).fetchIdToken(handshake.intakes.gcp);
      const google = await fetch(`${handshake.intakes.gcp}/links`, {
        headers: { authorization: `Bearer ${idToken}` },
      });
      expect(google.status, await google.text()).toBe(200);
      started = descendants(child.pid!);
      // npm, the start script, the reaper, both emulators and their JVMs, the intake's instance.
      expect(started.length, `processes under npm start: ${started.join(' ')}`).toBeGreaterThan(5);
      expect(
        started.filter((pid) => {
          try {
            return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('functions-framework');
          } catch {
            return false;
          }
        }),
        `processes under npm start: ${started.map(processLine).join('; ')}`,
      ).toHaveLength(1);
      // Act: npm alone is killed, with no chance to run a handler.
      child.kill('SIGKILL');
      // Assess
      await until(
        'every process npm start started to be gone',
        () => (started.some(pidAlive) ? undefined : true),
        5_000,
      ).catch((err: Error) => {
        throw new Error(`${err.message}; left: ${started.filter(pidAlive).map(processLine).join('; ')}`);
      });
    } finally {
      for (const pid of started.filter(pidAlive)) process.kill(pid, 'SIGKILL');
    }
  });

  it('refuses an invalid gcp.yml before starting anything: exit 2, one line per problem', async () => {
    // Prepare: a schema problem and a broken reference in one file.
    home = mkdtempSync(join(tmpdir(), 'crosslink-start-'));
    const bad = join(home, 'gcp.yml');
    writeFileSync(
      bad,
      'version: 1\nregion: 5\nserviceAccounts: []\nfunctions:\n  - { name: fn, source: functions/gcp/handlers/index.ts, entryPoint: intake, serviceAccount: nobody, trigger: { http: { invokers: [] } } }\n',
    );
    // Act
    const { child, output } = launch(
      process.execPath,
      [join(ROOT, 'scripts', 'start.ts'), '--gcp-config', bad],
      home,
      false,
    );
    const code = await new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
    // Assess: nothing started (no emulator line), each problem on its own line.
    expect(code, output()).toBe(2);
    expect(output().trim().split('\n')).toEqual([
      `npm start: ${bad}: region: must be a string`,
      `npm start: ${bad}: functions[0].serviceAccount: names the service account nobody, which serviceAccounts does not list`,
    ]);
  });
});

/** Starts `npm start` (or its script) on free ports, with its output collected. */
function launch(
  command: string,
  args: string[],
  home: string,
  detached: boolean,
  env: Record<string, string> = {},
) {
  const child = spawn(command, args, {
    cwd: ROOT,
    env: {
      ...process.env,
      ...env,
      CROSSLINK_HOME: home,
      CROSSLINK_AWS_ENDPOINT: 'http://127.0.0.1:0',
      CROSSLINK_GCP_ENDPOINT: 'http://127.0.0.1:0',
    },
    detached,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => {
    out += d.toString();
  });
  child.stderr.on('data', (d: Buffer) => {
    out += d.toString();
  });
  return { child, output: () => out };
}

/** Resolves once `npm start` printed that it is ready; throws with its output if it exits first. */
function ready(child: ChildProcess, output: () => string, timeoutMs: number): Promise<true> {
  return until(
    'ready',
    () => {
      if (child.exitCode !== null) throw new Error(`npm start exited ${child.exitCode}:\n${output()}`);
      return /ready in \d+ ms/.test(output()) ? true : undefined;
    },
    timeoutMs,
  );
}

/** Whether a process exists (not a zombie). */
function pidAlive(pid: number): boolean {
  try {
    return !/^\S+ \(.*\) Z /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

function processLine(pid: number): string {
  try {
    return `${pid} ${readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ').slice(0, 120)}`;
  } catch {
    return String(pid);
  }
}

/** `root` and every process below it, from /proc (Linux). */
function descendants(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(entry)]);
    } catch {
      // Gone while listing.
    }
  }
  const found: number[] = [];
  const pending = [root];
  while (pending.length > 0) {
    const pid = pending.pop() as number;
    found.push(pid);
    pending.push(...(children.get(pid) ?? []));
  }
  return found;
}
