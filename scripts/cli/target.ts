/**
 * Where commands act: the local cloud (when `.crosslink/local.json` exists and its pid is alive) or
 * the real clouds (`--target cloud`).
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { NoTargetError, UsageError } from './errors.ts';

/** The handshake `npm start` writes (docs/architecture.md, "Local cloud handshake"). */
export interface LocalHandshake {
  version: 1;
  pid: number;
  clock: { mode: 'scaled' | 'manual'; scale: number };
  aws: { endpoint: string; region: string; accountId: string } | null;
  gcp: { endpoint: string; project: string; region: string; tokenUri: string; jwksUri: string } | null;
  pubsubEmulatorHost: string | null;
  firestoreEmulatorHost: string | null;
  intakes: { aws: string | null; gcp: string | null };
  /** The Google route for the operators' controls of a plan Google executes (absent where not deployed). */
  drControls?: { gcp: string | null };
  admin: string | null;
  /** Base URL of the protected services' health endpoints (absent before they existed). */
  serviceHealth?: string;
}

export type Target = { kind: 'local'; local: LocalHandshake; home: string } | { kind: 'cloud' };

export function handshakePath(home: string): string {
  return join(home, '.crosslink', 'local.json');
}

/**
 * Whether the process that wrote the handshake still runs: signal 0 checks without signalling, and
 * EPERM means it runs under another user.
 */
function isAlive(pid: number): boolean {
  try {
    return process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The running local cloud's handshake, or undefined when there is none (or its process is gone). */
export async function readHandshake(home: string): Promise<LocalHandshake | undefined> {
  let raw: string;
  try {
    raw = await readFile(handshakePath(home), 'utf8');
  } catch {
    return undefined;
  }
  try {
    const h = JSON.parse(raw) as LocalHandshake;
    return h.version === 1 && Number.isInteger(h.pid) && isAlive(h.pid) ? h : undefined;
  } catch {
    return undefined;
  }
}

export async function resolveTarget(requested: string | undefined, home: string): Promise<Target> {
  if (requested !== undefined && requested !== 'local' && requested !== 'cloud') {
    throw new UsageError(`--target must be local or cloud, got "${requested}"`);
  }
  if (requested === 'cloud') return { kind: 'cloud' };
  const local = await readHandshake(home);
  if (local) return { kind: 'local', local, home };
  throw new NoTargetError(
    requested === 'local'
      ? 'the local cloud is not running (no live .crosslink/local.json): run `npm start` first'
      : 'no local cloud is running: run `npm start`, or pass --target cloud to act on real accounts',
  );
}
