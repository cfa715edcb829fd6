/**
 * The gcloud port of scripts/deploy-gcp: everything the deploy knows about a Google project comes
 * from, and every change goes through, `Gcloud.run(args)`. Real runs spawn the `gcloud` binary;
 * tests pass a simulated gcloud (test/support/gcloud-sim.ts) that keeps a project's state.
 */
import { spawn } from 'node:child_process';

export interface GcloudResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface Gcloud {
  run(args: readonly string[]): Promise<GcloudResult>;
}

/**
 * The real gcloud binary (`CLOUDSDK_GCLOUD` or `gcloud` on PATH), with this process's environment
 * or `env` (e.g. `CLOUDSDK_API_ENDPOINT_OVERRIDES_<API>` and `CLOUDSDK_AUTH_ACCESS_TOKEN_FILE`).
 */
export function spawnGcloud(bin = process.env.CLOUDSDK_GCLOUD ?? 'gcloud', env = process.env): Gcloud {
  return {
    run: (args) =>
      new Promise((resolveRun) => {
        const child = spawn(bin, [...args], { stdio: ['ignore', 'pipe', 'pipe'], env });
        const out: Buffer[] = [];
        const err: Buffer[] = [];
        child.stdout.on('data', (b: Buffer) => out.push(b));
        child.stderr.on('data', (b: Buffer) => err.push(b));
        child.on('error', (e) => resolveRun({ code: 127, stdout: '', stderr: `${bin}: ${e.message}` }));
        child.on('close', (code) =>
          resolveRun({
            code: code ?? 1,
            stdout: Buffer.concat(out).toString('utf8'),
            stderr: Buffer.concat(err).toString('utf8'),
          }),
        );
      }),
  };
}

/** A gcloud call that failed: the command (as a shell line) and gcloud's first error line. */
export class GcloudError extends Error {
  readonly command: string;
  readonly stderr: string;
  constructor(args: readonly string[], result: GcloudResult) {
    const line =
      result.stderr.split('\n').find((l) => l.startsWith('ERROR')) ??
      result.stderr.trim().split('\n')[0] ??
      `exit ${result.code}`;
    super(`${shellLine(args)} failed: ${line}`);
    this.command = shellLine(args);
    this.stderr = result.stderr;
  }
}

/** True when gcloud says the resource does not exist (describe / get-iam-policy of a missing one). */
export function isNotFound(result: GcloudResult): boolean {
  return result.code !== 0 && /NOT_FOUND|not found|does not exist/i.test(result.stderr);
}

/**
 * How a deploy talks to one project through gcloud: JSON reads (`--format=json`, a missing
 * resource read as null), and mutations printed, recorded and, unless a dry run, run in order.
 */
export interface GcloudSession {
  /** The commands run (or, in a dry run, that would run), in order. */
  commands: string[][];
  /**
   * APIs a dry run's bootstrap would enable: until then the project holds nothing of theirs, so a
   * read gcloud refuses for want of one reads as empty (a list) or absent (anything else).
   */
  enabling: Set<string>;
  /** A read; `project` is the project flag's value (the session's by default), or false for none. */
  readJson<T>(args: string[], project?: string | false): Promise<T>;
  readOrNull<T>(args: string[], project?: string): Promise<T | null>;
  exec(cmds: string[][], before?: (cmd: string[]) => void): Promise<void>;
  /** A mutation's arguments: the project and `--quiet` added. */
  mut(...args: string[]): string[];
}

export function gcloudSession(o: {
  gcloud: Gcloud;
  project: string;
  dryRun: boolean;
  out: (line: string) => void;
}): GcloudSession {
  const { gcloud, project: P } = o;
  const commands: string[][] = [];
  const enabling = new Set<string>();
  const offline = (r: GcloudResult, args: string[]): unknown => {
    const api = disabledApi(r);
    if (!o.dryRun || api === undefined || !enabling.has(api)) return undefined;
    return args.includes('list') ? [] : null;
  };
  return {
    commands,
    enabling,
    mut: (...args) => [...args, `--project=${P}`, '--quiet'],
    async readJson<T>(args: string[], project: string | false = P): Promise<T> {
      const full = [...args, ...(project === false ? [] : [`--project=${project}`]), '--format=json'];
      const r = await gcloud.run(full);
      const empty = r.code !== 0 ? offline(r, args) : undefined;
      if (empty !== undefined) return empty as T;
      if (r.code !== 0) throw new GcloudError(full, r);
      return JSON.parse(r.stdout.trim() || 'null') as T;
    },
    async readOrNull<T>(args: string[], project = P): Promise<T | null> {
      const full = [...args, `--project=${project}`, '--format=json'];
      const r = await gcloud.run(full);
      if (isNotFound(r)) return null;
      const empty = r.code !== 0 ? offline(r, args) : undefined;
      if (empty !== undefined) return empty as T | null;
      if (r.code !== 0) throw new GcloudError(full, r);
      return JSON.parse(r.stdout.trim() || 'null') as T;
    },
    async exec(cmds: string[][], before?: (cmd: string[]) => void): Promise<void> {
      for (const cmd of cmds) {
        o.out(shellLine(cmd));
        commands.push(cmd);
        if (o.dryRun) continue;
        before?.(cmd);
        const r = await gcloud.run(cmd);
        if (r.code !== 0) throw new GcloudError(cmd, r);
      }
    },
  };
}

/**
 * The API gcloud says the project has not enabled (SERVICE_DISABLED: "<api> has not been used in
 * project N before or it is disabled", or "API [<api>] not enabled on project"), if that is the failure.
 */
export function disabledApi(result: GcloudResult): string | undefined {
  if (result.code === 0) return undefined;
  return /([a-z0-9-]+\.googleapis\.com)\]? (?:has not been used in project|not enabled on project)/.exec(
    result.stderr,
  )?.[1];
}

const SAFE = /^[A-Za-z0-9_\-+=/:.,@%^]+$/;

/** One argument quoted for a POSIX shell (unquoted when it needs no quoting). */
export function shellQuote(arg: string): string {
  return SAFE.test(arg) ? arg : `'${arg.replaceAll("'", `'\\''`)}'`;
}

/** `gcloud a b --c=d` as a line a shell runs with exactly these arguments. */
export function shellLine(args: readonly string[]): string {
  return ['gcloud', ...args].map(shellQuote).join(' ');
}
