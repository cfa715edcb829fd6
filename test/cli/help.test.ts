/**
 * The CLI's help and its behaviour in a pipeline, as a user meets them: every help screen fits 100
 * columns, each verb's help gives an example that parses, and a reader that closes the pipe early
 * (`| head -1`) ends the command quietly.
 */
import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '#scripts/cli/main.ts';
import { commands } from '#scripts/commands/index.ts';

const BIN = resolve(import.meta.dirname, '../../scripts/crosslink.ts');

async function run(...args: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(args, { out: (l) => out.push(l), err: (l) => err.push(l), cwd: '/', env: {} });
  return { code, out, err };
}

describe('crosslink --help', () => {
  it('lists every verb within 100 columns and says how to get a verb’s help', async () => {
    // Act
    const r = await run('--help');
    // Assess
    expect(r.code).toBe(0);
    for (const line of r.out) expect(line.length, line).toBeLessThanOrEqual(100);
    for (const c of commands) expect(r.out.some((l) => l.startsWith(`  ${c.noun} ${c.verb} `))).toBe(true);
    expect(r.out.join('\n')).toContain('crosslink <noun> <verb> --help');
    expect(r.out.join('\n')).not.toMatch(/until the Google edge/);
  });

  // `doctor` is a noun without a verb.
  const words = (c: (typeof commands)[number]) => [c.noun, c.verb].filter(Boolean).join(' ');
  it.each(commands.map((c) => [words(c), c] as const))(
    '%s --help: usage, flags and one example, within 100 columns',
    async (name, c) => {
      // Act
      const r = await run(...name.split(' '), '--help');
      // Assess
      expect(r.code).toBe(0);
      for (const line of r.out) expect(line.length, line).toBeLessThanOrEqual(100);
      expect(r.out[0]).toMatch(new RegExp(`^usage: crosslink ${name}`));
      for (const flag of Object.keys(c.options ?? {})) expect(r.out.join('\n')).toContain(`--${flag}`);
      const example = r.out[r.out.indexOf('example:') + 1]?.trim() ?? '';
      expect(example === `crosslink ${name}` || example.startsWith(`crosslink ${name} `)).toBe(true);
    },
  );
});

describe('crosslink in a pipeline', () => {
  it('ends quietly with exit 0 when the reader closes the pipe before the output is written', async () => {
    // Prepare: the reader is gone before the command writes (as `| head -1` after its line).
    const child = spawn(process.execPath, [BIN, '--help'], { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.destroy();
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    // Act
    const code = await new Promise<number | null>((ok) => child.once('exit', (c) => ok(c)));
    // Assess: no stack trace, no error exit.
    expect(stderr).toBe('');
    expect(code).toBe(0);
  });
});
