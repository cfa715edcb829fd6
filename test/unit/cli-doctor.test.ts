/**
 * `crosslink doctor` offline: its help, the settings `--target cloud` needs (one usage line, exit 2,
 * before any call), and the line format of a check.
 */
import { describe, expect, it } from 'vitest';
import { checkLine } from '#scripts/cli/doctor.ts';
import { main } from '#scripts/cli/main.ts';

async function run(...args: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(args, {
    out: (l) => out.push(l),
    err: (l) => err.push(l),
    cwd: process.cwd(),
    env: {},
  });
  return { code, out, err };
}

describe('crosslink doctor offline', () => {
  it('has help with an example, within 100 columns', async () => {
    const r = await run('doctor', '--help');
    expect(r.code).toBe(0);
    expect(r.out.join('\n')).toMatch(/example:\n {2}crosslink doctor --target cloud --stage prod/);
    for (const l of r.out) expect(l.length).toBeLessThanOrEqual(100);
  });

  it('--target cloud names every setting it lacks and calls nothing (exit 2)', async () => {
    const r = await run('doctor', '--target', 'cloud');
    expect(r.code).toBe(2);
    expect(r.err).toEqual([
      'doctor --target cloud needs --stage <stage> (the osls stage), --region <AWS region> (or AWS_REGION), --project <Google project> (or CLOUDSDK_CORE_PROJECT)',
    ]);
    const bad = await run('doctor', 'extra');
    expect(bad.code).toBe(2);
  });

  it('prints ok with what it saw, FAIL with what is wrong and the fix', () => {
    expect(checkLine({ name: 'aws intake', ok: true, detail: 'answers' })).toBe('ok    aws intake: answers');
    expect(checkLine({ name: 'gcp apis', ok: false, detail: 'not enabled: x', fix: 'enable x' })).toBe(
      'FAIL  gcp apis: not enabled: x; fix: enable x',
    );
  });
});
