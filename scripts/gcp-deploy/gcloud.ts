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

/** The real gcloud binary (`CLOUDSDK_GCLOUD` or `gcloud` on PATH). */
export function spawnGcloud(bin = process.env.CLOUDSDK_GCLOUD ?? 'gcloud'): Gcloud {
  return {
    run: (args) =>
      new Promise((resolveRun) => {
        const child = spawn(bin, [...args], { stdio: ['ignore', 'pipe', 'pipe'] });
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
