/**
 * `crosslink relay dead-letters ls` and `crosslink relay redrive` refuse a bad command line before
 * they reach a cloud, naming the flag and the reason (exit 2); `--target cloud` without the Google
 * project says which flag or variable gives it. The commands against a local cloud:
 * test/e2e/relay-redrive.test.ts.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { describe, expect, it } from 'vitest';
import { main } from '#scripts/cli/main.ts';

async function cli(args: string[], env: Record<string, string> = {}) {
  const out: string[] = [];
  const err: string[] = [];
  const cwd = mkdtempSync(`${tmpdir()}/crosslink-relay-cli-`);
  const code = await main(args, { out: (l) => out.push(l), err: (l) => err.push(l), cwd, env });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

describe('crosslink relay', () => {
  it.each([
    [['relay', 'redrive', '--side', 'azure'], '--side must be aws or gcp, got "azure"'],
    [['relay', 'redrive', '--max', '0'], '--max must be a whole number from 1 to 10000, got "0"'],
    [
      ['relay', 'dead-letters', 'ls', '--max', 'lots'],
      '--max must be a whole number from 1 to 10000, got "lots"',
    ],
    [['relay', 'dead-letters', 'show'], 'use: relay dead-letters ls'],
    [
      ['relay', 'redrive', '--side', 'gcp', '--target', 'cloud'],
      '--project is required with --target cloud (or set CROSSLINK_GCP_PROJECT)',
    ],
    [['relay', 'redrive', '--side', 'aws', '--target', 'cloud'], '--region is required with --target cloud'],
  ])('refuses %j: %s, exit 2', async (args, message) => {
    // Act
    const r = await cli(args);
    // Assess
    expect(r.err).toContain(message);
    expect(r.code).toBe(2);
  });

  it('says how to reach a cloud when no local cloud runs, exit 2', async () => {
    const r = await cli(['relay', 'dead-letters', 'ls']);
    expect(r.err).toContain('no local cloud is running: run `npm start`, or pass --target cloud');
    expect(r.code).toBe(2);
  });
});
