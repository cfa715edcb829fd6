/**
 * How the emulators' JVMs are launched (local/gcp/emulator-jvm.ts): the jar, main class and flags
 * read from the installed launchers, the launcher run as it is when it cannot be read, and the
 * class-data archive: keyed by what it depends on, kept only after a clean exit.
 */
import { mkdirSync, mkdtempSync, readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  type ClassDataArchive,
  classDataArchive,
  firestoreLaunch,
  JVM_FLAGS,
  javaBinary,
  pubsubLaunch,
} from '#local/gcp/emulator-jvm.ts';
import { DEFAULT_PUBSUB_EMULATOR } from '#local/gcp/emulators.ts';

const SDK = '/usr/lib/google-cloud-sdk/platform';
const dirs: string[] = [];
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'crosslink-jvm-'));
  dirs.push(d);
  return d;
}

/** A jar of its own (the archive's key reads its size and modification time). */
function jarFile(): string {
  const jar = join(tempDir(), 'emulator.jar');
  writeFileSync(jar, 'jar');
  return jar;
}

/** Writes what the JVM would write at exit to the archive's temporary file. */
function writeArchive(archive: ClassDataArchive, content: string): void {
  const flag = archive.flags.find((f) => f.startsWith('-XX:ArchiveClassesAtExit='));
  if (!flag) throw new Error(`no archive is written: ${archive.flags.join(' ')}`);
  writeFileSync(flag.slice(flag.indexOf('=') + 1), content);
}

afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('the emulators launched from their jars', () => {
  it('runs the Pub/Sub launcher’s jar with its arguments', () => {
    const launch = pubsubLaunch(DEFAULT_PUBSUB_EMULATOR, '127.0.0.1', 8085, process.env);
    expect(launch.command).toBe(javaBinary(process.env));
    expect(launch.args).toEqual([
      '-jar',
      expect.stringMatching(/\/pubsub-emulator\/lib\/cloud-pubsub-emulator-[\d.]+-all\.jar$/),
      '--host=127.0.0.1',
      '--port=8085',
    ]);
  });

  it('runs the Firestore launcher’s main class with the arguments gcloud gives it', () => {
    const launch = firestoreLaunch(
      `${SDK}/cloud-firestore-emulator/cloud_firestore_emulator`,
      '127.0.0.1',
      8080,
      process.env,
    );
    expect(launch.args).toEqual([
      '-Duser.language=en',
      '-cp',
      `${SDK}/cloud-firestore-emulator/cloud-firestore-emulator.jar`,
      'com.google.cloud.datastore.emulator.firestore.CloudFirestore',
      'start',
      '--host=127.0.0.1',
      '--port=8080',
      '--database-mode=firestore-native',
    ]);
  });

  it('runs a launcher it cannot read as it is, and the Pub/Sub one when its JVM options are set', () => {
    const odd = join(tempDir(), 'cloud_firestore_emulator');
    writeFileSync(odd, '#!/bin/sh\nexec something-else "$@"\n');
    expect(firestoreLaunch(odd, '127.0.0.1', 1, process.env)).toEqual({
      command: odd,
      args: ['start', '--host=127.0.0.1', '--port=1', '--database-mode=firestore-native'],
    });
    const withOptions = pubsubLaunch(DEFAULT_PUBSUB_EMULATOR, '127.0.0.1', 1, {
      ...process.env,
      JAVA_OPTS: '-Xmx1g',
    });
    expect(withOptions).toEqual({ command: DEFAULT_PUBSUB_EMULATOR, args: ['--host=127.0.0.1', '--port=1'] });
  });
});

describe('the class-data archive', () => {
  const java = javaBinary(process.env) as string;

  it('is written on a first start, kept after a clean exit and mapped by the next start', () => {
    const cache = tempDir();
    const jar = jarFile();
    const first = classDataArchive(cache, 'pubsub', java, jar);
    expect(first.mapped).toBe(false);
    writeArchive(first, 'archive');
    first.exited(143, null); // a JVM's exit on SIGTERM
    const next = classDataArchive(cache, 'pubsub', java, jar);
    expect(next.mapped).toBe(true);
    expect(next.flags).toEqual([
      ...JVM_FLAGS,
      expect.stringMatching(/^-XX:SharedArchiveFile=.*\/jvm\/pubsub-[0-9a-f]{16}\.jsa$/),
    ]);
    expect(readdirSync(join(cache, 'jvm'))).toHaveLength(1);
  });

  it('is dropped when the JVM was killed (it may be half written)', () => {
    const cache = tempDir();
    const jar = jarFile();
    const first = classDataArchive(cache, 'pubsub', java, jar);
    writeArchive(first, 'half an archive');
    first.exited(null, 'SIGKILL');
    expect(readdirSync(join(cache, 'jvm'))).toEqual([]);
    expect(classDataArchive(cache, 'pubsub', java, jar).mapped).toBe(false);
  });

  it('is another archive once the jar changed', () => {
    const cache = tempDir();
    const jar = jarFile();
    const first = classDataArchive(cache, 'pubsub', java, jar);
    writeArchive(first, 'archive');
    first.exited(143, null);
    // A new version of the emulator at the same path: another modification time.
    utimesSync(jar, new Date(), new Date(Date.now() + 60_000));
    expect(classDataArchive(cache, 'pubsub', java, jar).mapped).toBe(false);
  });

  it('removes the temporary archives of processes that are gone, and keeps a running one’s', () => {
    const cache = tempDir();
    mkdirSync(join(cache, 'jvm'));
    // pid 2^22 + 1 is above Linux's pid_max: no process holds it.
    const stale = `pubsub-0123456789abcdef.jsa.${2 ** 22 + 1}.00ff00ff.tmp`;
    const running = `pubsub-0123456789abcdef.jsa.${process.pid}.00ff00ff.tmp`;
    writeFileSync(join(cache, 'jvm', stale), 'left by a killed local cloud');
    writeFileSync(join(cache, 'jvm', running), 'being written by a running one');
    classDataArchive(cache, 'pubsub', java, jarFile());
    expect(readdirSync(join(cache, 'jvm'))).toEqual([running]);
  });
});
