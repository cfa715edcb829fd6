/**
 * The real Google emulators, run by the local cloud: the Pub/Sub emulator and the Firestore
 * emulator (`gcloud emulators firestore start`). Each starts in its own process group on a free
 * port (or the one asked for), is polled until it answers, and is stopped by signalling its whole
 * group: a SIGTERM to `gcloud` alone leaves the emulator's Java process running.
 *
 * Both run on wall-clock time (they know nothing of the virtual clock).
 */
import type { ChildProcess } from 'node:child_process';
import { accessSync, constants, readdirSync, readFileSync, realpathSync } from 'node:fs';
import { createServer } from 'node:net';
import { delimiter, dirname, join } from 'node:path';
import { ProcessGroup } from '../processes.ts';

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
  /** Wall ms to wait for readiness (default 60 s: Firestore's JVM takes ~15 s on a small machine). */
  readyTimeoutMs?: number;
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

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function onPath(name: string, env: NodeJS.ProcessEnv): string | undefined {
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const p = join(dir, name);
    if (executable(p)) return p;
  }
  return undefined;
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

/** Checks the binaries before anything starts, so `npm start` fails with one clear line per problem. */
export function checkEmulatorBinaries(options: EmulatorOptions = {}): EmulatorMissingError[] {
  const env = options.env ?? process.env;
  const problems: EmulatorMissingError[] = [];
  const java = onPath('java', env);
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
    else if (
      !executable(
        join(
          dirname(dirname(realpathSync(gcloud))),
          'platform',
          'cloud-firestore-emulator',
          'cloud_firestore_emulator',
        ),
      )
    )
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

/** Keeps the last lines a child printed, for the error when it fails to start. */
function tail(child: ChildProcess): () => string {
  const lines: string[] = [];
  const take = (chunk: Buffer) => {
    for (const l of chunk.toString('utf8').split('\n')) if (l.trim()) lines.push(l.trim());
    lines.splice(0, Math.max(0, lines.length - 8));
  };
  child.stdout?.on('data', take);
  child.stderr?.on('data', take);
  return () => lines.join('\n');
}

async function waitReady(
  name: string,
  host: string,
  child: ChildProcess,
  output: () => string,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let exited: string | undefined;
  child.once('exit', (code, signal) => {
    exited = `exited (${signal ?? `code ${code}`})`;
  });
  while (Date.now() < deadline) {
    if (exited) throw new EmulatorStartError(`the ${name} emulator ${exited} while starting:\n${output()}`);
    try {
      const res = await fetch(`http://${host}/`, { signal: AbortSignal.timeout(1_000) });
      if (res.ok) return;
    } catch {
      // Not listening yet.
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new EmulatorStartError(
    `the ${name} emulator did not answer on ${host} within ${timeoutMs} ms:\n${output()}`,
  );
}

/**
 * Starts the emulators (in parallel) and resolves when both answer. Throws EmulatorMissingError
 * (the first problem; `checkEmulatorBinaries` lists all) before starting anything.
 */
export async function startEmulators(options: EmulatorOptions = {}): Promise<Emulators> {
  const env = options.env ?? process.env;
  const log = options.log ?? (() => {});
  const problems = checkEmulatorBinaries(options);
  if (problems[0]) throw problems[0];
  const group = new ProcessGroup();
  const timeout = options.readyTimeoutMs ?? 60_000;
  const pids: number[] = [];
  const childEnv = { ...env };
  // The emulators must not think they are talking to other emulators.
  delete childEnv.PUBSUB_EMULATOR_HOST;
  delete childEnv.FIRESTORE_EMULATOR_HOST;

  const starts: Array<Promise<void>> = [];
  let pubsubHost: string | null = null;
  let firestoreHost: string | null = null;
  try {
    if (options.pubsub !== false) {
      const port = options.pubsubPort || (await freePort());
      pubsubHost = `127.0.0.1:${port}`;
      const bin = options.pubsubBinary ?? env.CROSSLINK_PUBSUB_EMULATOR ?? DEFAULT_PUBSUB_EMULATOR;
      const child = group.spawn(bin, [`--host=127.0.0.1`, `--port=${port}`], {
        stdio: ['ignore', 'pipe', 'pipe'],
        env: childEnv,
      });
      if (child.pid) pids.push(child.pid);
      starts.push(waitReady('Pub/Sub', pubsubHost, child, tail(child), timeout));
    }
    if (options.firestore !== false) {
      const port = options.firestorePort || (await freePort());
      firestoreHost = `127.0.0.1:${port}`;
      const gcloud = options.gcloudBinary ?? (onPath('gcloud', env) as string);
      const child = group.spawn(
        gcloud,
        ['emulators', 'firestore', 'start', `--host-port=${firestoreHost}`, '--quiet'],
        {
          stdio: ['ignore', 'pipe', 'pipe'],
          env: { ...childEnv, CLOUDSDK_CORE_DISABLE_PROMPTS: '1' },
        },
      );
      if (child.pid) pids.push(child.pid);
      starts.push(waitReady('Firestore', firestoreHost, child, tail(child), timeout));
    }
    const t0 = Date.now();
    await Promise.all(starts);
    log(
      `emulators answering after ${Date.now() - t0} ms (Pub/Sub ${pubsubHost ?? 'off'}, Firestore ${firestoreHost ?? 'off'})`,
    );
  } catch (err) {
    await group.stopAll();
    await Promise.allSettled(starts);
    throw err;
  }
  let stopped: Promise<void> | undefined;
  return {
    pubsubHost,
    firestoreHost,
    pids,
    stop() {
      stopped ??= group.stopAll();
      return stopped;
    },
  };
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
