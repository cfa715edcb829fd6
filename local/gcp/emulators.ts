/**
 * The real Google emulators, run by the local cloud: the Pub/Sub emulator and the Firestore
 * emulator, each a JVM started from the emulator's own jar as its launcher (and gcloud) would start
 * it, with a class-data archive cached between starts (emulator-jvm.ts). Each starts in its own
 * process group on a free port (or the one asked for) and is stopped by signalling its whole group.
 * `launchEmulators` resolves as soon as both are spawned, with their hosts (the ports are chosen
 * before the JVMs start) and `ready`, which resolves once both answer: what only needs their
 * addresses (the IAM fronts, the function processes) starts meanwhile. Readiness is probed every
 * 25 ms and at once on each line the JVM prints.
 *
 * Both run on wall-clock time (they know nothing of the virtual clock).
 */
import type { ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync, realpathSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { ProcessGroup } from '../processes.ts';
import {
  type ClassDataArchive,
  classDataArchive,
  DEFAULT_CACHE_DIR,
  executable,
  firestoreLaunch,
  type JvmLaunch,
  javaBinary,
  onPath,
  pubsubLaunch,
} from './emulator-jvm.ts';

export const DEFAULT_PUBSUB_EMULATOR =
  '/usr/lib/google-cloud-sdk/platform/pubsub-emulator/bin/cloud-pubsub-emulator';

/** An emulator binary is not installed; the message says which and how to install it. */
export class EmulatorMissingError extends Error {
  readonly emulator: 'pubsub' | 'firestore';
  constructor(emulator: 'pubsub' | 'firestore', message: string) {
    super(message);
    this.name = 'EmulatorMissingError';
    this.emulator = emulator;
  }
}

/** An emulator did not answer in time or exited while starting (its last output is in the message). */
export class EmulatorStartError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'EmulatorStartError';
  }
}

export interface EmulatorOptions {
  /** Port per emulator; 0 (default) picks a free one. */
  pubsubPort?: number;
  firestorePort?: number;
  /** Which to start (default both). */
  pubsub?: boolean;
  firestore?: boolean;
  pubsubBinary?: string;
  /** The gcloud executable (default: found on PATH). */
  gcloudBinary?: string;
  /** Wall ms to wait for readiness (default 60 s: Firestore's JVM takes ~15 s on a loaded machine). */
  readyTimeoutMs?: number;
  /** Where the JVMs' class-data archives are kept (`<cacheDir>/jvm`; default `.crosslink/cache`). */
  cacheDir?: string;
  env?: NodeJS.ProcessEnv;
  log?: (message: string) => void;
}

export interface Emulators {
  /** `127.0.0.1:<port>`, the value of PUBSUB_EMULATOR_HOST; null when not started. */
  pubsubHost: string | null;
  /** `127.0.0.1:<port>`, the value of FIRESTORE_EMULATOR_HOST; null when not started. */
  firestoreHost: string | null;
  /** Process ids of the group leaders (tests check that nothing is left). */
  pids: number[];
  stop(): Promise<void>;
}

/** Emulators spawned: their hosts are known, `ready` resolves once both answer. */
export interface LaunchedEmulators extends Emulators {
  /** Resolves once both answer; rejects (having stopped both) when one exits or does not answer in time. */
  ready: Promise<void>;
}

/** A port free now on 127.0.0.1 (the emulators take a port number, not port 0). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/** The Firestore emulator's launcher in gcloud's SDK (what `gcloud emulators firestore start` runs). */
function firestoreLauncher(gcloud: string): string {
  return join(
    dirname(dirname(realpathSync(gcloud))),
    'platform',
    'cloud-firestore-emulator',
    'cloud_firestore_emulator',
  );
}

/** Checks the binaries before anything starts, so `npm start` fails with one clear line per problem. */
export function checkEmulatorBinaries(options: EmulatorOptions = {}): EmulatorMissingError[] {
  const env = options.env ?? process.env;
  const problems: EmulatorMissingError[] = [];
  const java = javaBinary(env);
  if (options.pubsub !== false) {
    const bin = options.pubsubBinary ?? env.CROSSLINK_PUBSUB_EMULATOR ?? DEFAULT_PUBSUB_EMULATOR;
    if (!executable(bin))
      problems.push(
        new EmulatorMissingError(
          'pubsub',
          `the Pub/Sub emulator is missing (${bin}): install it with "gcloud components install pubsub-emulator" ` +
            'or "apt-get install google-cloud-cli-pubsub-emulator", or set CROSSLINK_PUBSUB_EMULATOR to its path',
        ),
      );
    else if (!java)
      problems.push(
        new EmulatorMissingError(
          'pubsub',
          'the Pub/Sub emulator needs Java 11+ on PATH ("apt-get install default-jre-headless")',
        ),
      );
  }
  if (options.firestore !== false) {
    const gcloud = options.gcloudBinary ?? onPath('gcloud', env);
    if (!gcloud)
      problems.push(
        new EmulatorMissingError(
          'firestore',
          'the Firestore emulator needs gcloud on PATH: install the Google Cloud CLI (https://cloud.google.com/sdk/docs/install), ' +
            'then "gcloud components install cloud-firestore-emulator" or "apt-get install google-cloud-cli-firestore-emulator"',
        ),
      );
    else if (!executable(firestoreLauncher(gcloud)))
      problems.push(
        new EmulatorMissingError(
          'firestore',
          'the Firestore emulator is missing: install it with "gcloud components install cloud-firestore-emulator" ' +
            'or "apt-get install google-cloud-cli-firestore-emulator"',
        ),
      );
    else if (!java)
      problems.push(
        new EmulatorMissingError(
          'firestore',
          'the Firestore emulator needs Java 11+ on PATH ("apt-get install default-jre-headless")',
        ),
      );
  }
  return problems;
}

/**
 * Keeps the last lines a child printed, for the error when it fails to start, and calls `onOutput`
 * on each chunk (a line may say the emulator listens: the probe runs at once).
 */
function tail(child: ChildProcess, onOutput: () => void): () => string {
  const lines: string[] = [];
  const take = (chunk: Buffer) => {
    for (const l of chunk.toString('utf8').split('\n')) if (l.trim()) lines.push(l.trim());
    lines.splice(0, Math.max(0, lines.length - 8));
    onOutput();
  };
  child.stdout?.on('data', take);
  child.stderr?.on('data', take);
  return () => lines.join('\n');
}

/** Probes `host` every 25 ms, and at once when the child prints, until it answers 200. */
async function waitReady(name: string, host: string, child: ChildProcess, timeoutMs: number): Promise<void> {
  let wake: () => void = () => {};
  const output = tail(child, () => wake());
  const deadline = Date.now() + timeoutMs;
  let exited: string | undefined;
  child.once('exit', (code, signal) => {
    exited = `exited (${signal ?? `code ${code}`})`;
    wake();
  });
  while (Date.now() < deadline) {
    if (exited) throw new EmulatorStartError(`the ${name} emulator ${exited} while starting:\n${output()}`);
    try {
      const res = await fetch(`http://${host}/`, { signal: AbortSignal.timeout(1_000) });
      if (res.ok) return;
    } catch {
      // Not listening yet.
    }
    await new Promise<void>((r) => {
      const timer = setTimeout(r, 25);
      wake = () => {
        clearTimeout(timer);
        r();
      };
    });
  }
  throw new EmulatorStartError(
    `the ${name} emulator did not answer on ${host} within ${timeoutMs} ms:\n${output()}`,
  );
}

/** Spawns one emulator's JVM (with its class-data archive when it runs `java` itself). */
function spawnJvm(
  group: ProcessGroup,
  name: string,
  launch: JvmLaunch,
  cacheDir: string,
  env: NodeJS.ProcessEnv,
) {
  let archive: ClassDataArchive | undefined;
  if (launch.jar) {
    try {
      archive = classDataArchive(cacheDir, name, launch.command, launch.jar);
    } catch {
      // No archive (an unreadable Java or cache directory): the JVM starts without one.
    }
  }
  const child = group.spawn(launch.command, [...(archive?.flags ?? []), ...launch.args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env,
  });
  if (archive) {
    const keep = archive;
    child.once('exit', (code, signal) => keep.exited(code, signal));
  }
  return { child, writesArchive: archive !== undefined && !archive.mapped };
}

/**
 * How long a stop waits for the JVMs before SIGKILL: a JVM writing its class-data archive at exit
 * takes seconds more (about 10 s at a load average of 17 on 2 cores; Firestore's took over 30 s at
 * 37). Only the first stop with a given emulator and Java writes one.
 */
const STOP_GRACE_MS = 5_000;
const ARCHIVING_STOP_GRACE_MS = 60_000;

/**
 * Spawns the emulators and resolves with their hosts; `ready` resolves once both answer. Throws
 * EmulatorMissingError (the first problem; `checkEmulatorBinaries` lists all) before starting
 * anything.
 */
export async function launchEmulators(options: EmulatorOptions = {}): Promise<LaunchedEmulators> {
  const env = options.env ?? process.env;
  const log = options.log ?? (() => {});
  const problems = checkEmulatorBinaries(options);
  if (problems[0]) throw problems[0];
  const group = new ProcessGroup();
  const timeout = options.readyTimeoutMs ?? 60_000;
  const cacheDir = options.cacheDir ?? DEFAULT_CACHE_DIR;
  const pids: number[] = [];
  const childEnv = { ...env };
  // The emulators must not think they are talking to other emulators.
  delete childEnv.PUBSUB_EMULATOR_HOST;
  delete childEnv.FIRESTORE_EMULATOR_HOST;

  const starts: Array<Promise<void>> = [];
  let pubsubHost: string | null = null;
  let firestoreHost: string | null = null;
  const t0 = Date.now();
  let archiving = false;
  try {
    if (options.pubsub !== false) {
      const port = options.pubsubPort || (await freePort());
      pubsubHost = `127.0.0.1:${port}`;
      const bin = options.pubsubBinary ?? env.CROSSLINK_PUBSUB_EMULATOR ?? DEFAULT_PUBSUB_EMULATOR;
      const { child, writesArchive } = spawnJvm(
        group,
        'pubsub',
        pubsubLaunch(bin, '127.0.0.1', port, env),
        cacheDir,
        childEnv,
      );
      archiving ||= writesArchive;
      if (child.pid) pids.push(child.pid);
      starts.push(waitReady('Pub/Sub', pubsubHost, child, timeout));
    }
    if (options.firestore !== false) {
      const port = options.firestorePort || (await freePort());
      firestoreHost = `127.0.0.1:${port}`;
      const gcloud = options.gcloudBinary ?? (onPath('gcloud', env) as string);
      const { child, writesArchive } = spawnJvm(
        group,
        'firestore',
        firestoreLaunch(firestoreLauncher(gcloud), '127.0.0.1', port, env),
        cacheDir,
        childEnv,
      );
      archiving ||= writesArchive;
      if (child.pid) pids.push(child.pid);
      starts.push(waitReady('Firestore', firestoreHost, child, timeout));
    }
  } catch (err) {
    await group.stopAll();
    await Promise.allSettled(starts);
    throw err;
  }
  const ready = Promise.all(starts).then(
    () =>
      log(
        `emulators answering after ${Date.now() - t0} ms (Pub/Sub ${pubsubHost ?? 'off'}, Firestore ${firestoreHost ?? 'off'})`,
      ),
    async (err: unknown) => {
      await group.stopAll();
      await Promise.allSettled(starts);
      throw err;
    },
  );
  // Surfaced where it is awaited, not as an unhandled rejection meanwhile.
  ready.catch(() => undefined);
  let stopped: Promise<void> | undefined;
  return {
    pubsubHost,
    firestoreHost,
    pids,
    ready,
    stop() {
      if (archiving && !stopped) log('emulators: writing their class-data archives as they exit');
      stopped ??= group.stopAll(archiving ? ARCHIVING_STOP_GRACE_MS : STOP_GRACE_MS);
      return stopped;
    },
  };
}

/** Starts the emulators (in parallel) and resolves when both answer (see launchEmulators). */
export async function startEmulators(options: EmulatorOptions = {}): Promise<Emulators> {
  const launched = await launchEmulators(options);
  await launched.ready;
  const { ready: _ready, ...emulators } = launched;
  return emulators;
}

/**
 * Live (not zombie) processes whose process group is `pgid`, from /proc (Linux). Tests use it to
 * prove that stopping leaves nothing behind, the Java grandchild included.
 */
export function groupMembers(pgid: number): number[] {
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      // pid (comm) state ppid pgrp ...: comm may hold spaces, so split after its closing paren.
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[2]) === pgid && fields[0] !== 'Z') out.push(Number(name));
    } catch {
      // The process ended while we looked.
    }
  }
  return out;
}
