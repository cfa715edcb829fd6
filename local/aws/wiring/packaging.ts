/**
 * Packaging a service for the local cloud: `npx osls package` runs only when the inputs changed (a
 * SHA-256 of serverless.yml and the service's files, kept beside the template), under a lock
 * directory with the owner's pid (taken over when that process is gone), so that parallel test
 * files and `npm start` never package the same directory at once.
 */

import { AsyncLocalStorage } from 'node:async_hooks';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ProcessGroup, pidAlive } from '../../processes.ts';

const LOCK_DIR = '.crosslink-package.lock';
const IGNORED_DIRS = new Set(['node_modules', '.serverless', '.esbuild', '.git', '.crosslink', LOCK_DIR]);
const HASH_FILE = '.crosslink-inputs.sha256';
export const TEMPLATE = 'cloudformation-template-update-stack.json';

/**
 * SHA-256 over the service's inputs: every file under `serviceDir` but build output and
 * dependencies, or only the files and directories `inputs` names (relative to `serviceDir`).
 */
export function inputsHash(serviceDir: string, inputs?: readonly string[]): string {
  const hash = createHash('sha256');
  const walk = (p: string) => {
    if (statSync(p).isDirectory()) {
      for (const name of readdirSync(p).sort()) if (!IGNORED_DIRS.has(name)) walk(join(p, name));
    } else {
      hash
        .update(`${relative(serviceDir, p)}\0`)
        .update(readFileSync(p))
        .update('\0');
    }
  };
  if (inputs) {
    for (const i of [...inputs].sort()) if (existsSync(join(serviceDir, i))) walk(join(serviceDir, i));
  } else walk(serviceDir);
  return hash.digest('hex');
}

/**
 * The variables the packaging reads and their values: every `${env:NAME...}` of serverless.yml and
 * every `env.NAME` / `process.env.NAME` of the `.cjs` files it loads (config/, stacks/). A package
 * made under other values (another network account's roles, another relay audience) is not reused.
 */
export function packagingVariables(
  serviceDir: string,
  env: Record<string, string | undefined>,
): Record<string, string | null> {
  const names = new Set<string>();
  const template = join(serviceDir, 'serverless.yml');
  if (existsSync(template))
    for (const m of readFileSync(template, 'utf8').matchAll(/\$\{env:([A-Za-z_][A-Za-z0-9_]*)/g))
      names.add(m[1] as string);
  for (const dir of ['config', 'stacks']) {
    const d = join(serviceDir, dir);
    if (!existsSync(d)) continue;
    for (const f of readdirSync(d).filter((n) => n.endsWith('.cjs')))
      for (const m of readFileSync(join(d, f), 'utf8').matchAll(/\benv\.([A-Z][A-Z0-9_]*)/g))
        names.add(m[1] as string);
  }
  return Object.fromEntries([...names].sort().map((n) => [n, env[n] ?? null]));
}

/** The locks the current async context holds: a nested call runs at once, a concurrent one waits. */
const holding = new AsyncLocalStorage<ReadonlySet<string>>();

/**
 * Runs `fn` holding the packaging lock of `serviceDir` (re-entrant for calls made inside `fn`). The
 * lock is a directory holding the owner's pid; a lock whose owner is gone is taken over. An abort
 * of `signal` stops the wait.
 */
export async function withPackageLock<T>(
  serviceDir: string,
  fn: () => Promise<T>,
  timeoutMs = 300_000,
  signal?: AbortSignal,
): Promise<T> {
  const lock = join(serviceDir, LOCK_DIR);
  const held = holding.getStore();
  if (held?.has(lock)) return fn();
  const t0 = Date.now();
  for (;;) {
    try {
      mkdirSync(lock);
      writeFileSync(join(lock, 'pid'), String(process.pid));
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      let owner = Number.NaN;
      let age = 0;
      try {
        age = Date.now() - statSync(lock).mtimeMs;
        owner = Number(readFileSync(join(lock, 'pid'), 'utf8'));
      } catch {
        // Being created or removed: look again.
      }
      // The owner is gone, or it died between making the directory and writing its pid.
      const ownerGone = Number.isInteger(owner) && owner > 0 ? !pidAlive(owner) : age > 10_000;
      if (ownerGone) {
        rmSync(lock, { recursive: true, force: true });
        continue;
      }
      if (Date.now() - t0 > timeoutMs)
        throw new Error(`${lock}: held by pid ${owner} for over ${timeoutMs / 1000} s`);
      signal?.throwIfAborted();
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  try {
    return await holding.run(new Set([...(held ?? []), lock]), fn);
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

export interface PackageOptions {
  log?: (m: string) => void;
  force?: boolean;
  inputs?: readonly string[];
  /**
   * Variables serverless.yml reads at packaging (`${env:...}`, config/account-roles.cjs) beyond the
   * process's own. Their values are part of the inputs' hash (packagingVariables).
   */
  environment?: Record<string, string>;
  /**
   * Stops the packaging: `osls package` and everything in its process group are ended (SIGTERM,
   * SIGKILL after a grace) before the promise rejects, so a test that gives up leaves nothing
   * running and no lock held. Waiting for another process's lock stops too.
   */
  signal?: AbortSignal;
  /** Wall ms `osls package` may run before it is stopped as on an abort (default 10 minutes). */
  timeoutMs?: number;
}

/** Wall ms `osls package` runs at most unless told otherwise: a guard against a hang only. */
export const PACKAGE_TIMEOUT_MS = 600_000;
/** Wall ms a stopped `osls package` has to exit after SIGTERM before its group gets SIGKILL. */
const STOP_GRACE_MS = 2_000;

/**
 * Runs `osls package` in `serviceDir` unless the template there was made from the same inputs.
 * Offline and without AWS credentials, as the packaging step needs neither.
 */
export async function packageService(
  serviceDir: string,
  options: PackageOptions = {},
): Promise<{ templateFile: string; regenerated: boolean }> {
  options.signal?.throwIfAborted();
  return withPackageLock(serviceDir, () => packageLocked(serviceDir, options), undefined, options.signal);
}

async function packageLocked(
  serviceDir: string,
  options: PackageOptions,
): Promise<{ templateFile: string; regenerated: boolean }> {
  const outDir = join(serviceDir, '.serverless');
  const templateFile = join(outDir, TEMPLATE);
  const hashFile = join(outDir, HASH_FILE);
  const hash = createHash('sha256')
    .update(inputsHash(serviceDir, options.inputs))
    .update(JSON.stringify(packagingVariables(serviceDir, { ...process.env, ...options.environment })))
    .digest('hex');
  if (
    !options.force &&
    existsSync(templateFile) &&
    existsSync(hashFile) &&
    readFileSync(hashFile, 'utf8').trim() === hash
  ) {
    return { templateFile, regenerated: false };
  }
  const osls = fileURLToPath(import.meta.resolve('osls/bin/serverless.js'));
  options.log?.(`osls package in ${serviceDir}`);
  const env = { ...process.env };
  for (const k of Object.keys(env)) if (k.startsWith('AWS_')) delete env[k];
  options.signal?.throwIfAborted();
  // In a group of its own, registered with the reaper: a SIGKILL of the local cloud while it
  // packages does not leave osls running. An abort, the timeout and this process's exit end the
  // whole group (osls starts esbuild children of its own).
  const group = new ProcessGroup();
  const child = group.spawn(process.execPath, [osls, 'package'], {
    cwd: serviceDir,
    env: { ...env, ...options.environment, SLS_TELEMETRY_DISABLED: '1', SLS_NOTIFICATIONS_MODE: 'off' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const killOnExit = () => group.killAll();
  process.once('exit', killOnExit);
  let stopped: Error | undefined;
  const stop = (why: string) => {
    if (stopped) return;
    stopped = new Error(`osls package (pid ${child.pid}) in ${serviceDir} stopped: ${why}`);
    void group.stopAll(STOP_GRACE_MS);
  };
  const timeoutMs = options.timeoutMs ?? PACKAGE_TIMEOUT_MS;
  const timer = setTimeout(() => stop(`it ran over ${timeoutMs / 1000} s`), timeoutMs);
  const onAbort = () => stop(`aborted (${String(options.signal?.reason ?? 'no reason')})`);
  options.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    await new Promise<void>((resolve, reject) => {
      let output = '';
      child.stdout?.on('data', (d) => {
        output += d;
      });
      child.stderr?.on('data', (d) => {
        output += d;
      });
      child.on('error', reject);
      // `close` comes once the leader exited and its pipes closed; a stop waits for the group too.
      child.on('close', (code) => {
        if (stopped) void group.stopAll(STOP_GRACE_MS).then(() => reject(stopped));
        else if (code === 0) resolve();
        else reject(new Error(`osls package failed (exit ${code}):\n${output.slice(-2000)}`));
      });
    });
  } finally {
    clearTimeout(timer);
    options.signal?.removeEventListener('abort', onAbort);
    process.removeListener('exit', killOnExit);
  }
  writeFileSync(hashFile, `${hash}\n`);
  return { templateFile, regenerated: true };
}
