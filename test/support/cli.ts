/** Running the CLI in-process against a test local cloud, as the bin does, with its output captured. */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LocalCloud } from '#local/index.ts';
import { main } from '#scripts/cli/main.ts';

export interface CliRun {
  code: number;
  out: string;
  err: string;
}

/**
 * A home folder whose `.crosslink/local.json` is `cloud`'s handshake, so commands resolve `--target`
 * to it, and a `cli(...args)` that runs there. Call `remove()` when done.
 */
export function cliAgainst(cloud: LocalCloud, prefix: string) {
  const home = mkdtempSync(join(tmpdir(), prefix));
  mkdirSync(join(home, '.crosslink'));
  writeFileSync(join(home, '.crosslink', 'local.json'), JSON.stringify(cloud.handshake()));
  const cli = async (...args: string[]): Promise<CliRun> => {
    const out: string[] = [];
    const err: string[] = [];
    const code = await main(args, { out: (l) => out.push(l), err: (l) => err.push(l), cwd: home, env: {} });
    return { code, out: out.join('\n'), err: err.join('\n') };
  };
  return { home, cli, remove: () => rmSync(home, { recursive: true, force: true }) };
}

const ROOT = join(import.meta.dirname, '..', '..');

/** Runs the CLI in the repository folder (offline commands) and captures what it prints, line by line. */
export async function crosslinkInRepo(
  ...argv: string[]
): Promise<{ code: number; out: string[]; err: string[] }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(argv, { out: (l) => out.push(l), err: (l) => err.push(l), cwd: ROOT, env: {} });
  return { code, out, err };
}
