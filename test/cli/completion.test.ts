/**
 * `crosslink completion bash|zsh`: the bash script, sourced in a real bash, registers `complete -F
 * _crosslink crosslink` and completes nouns, a noun's verbs, a verb's flags (its own and the
 * global ones) and a noun that is its own command's flags; the zsh script wraps the same function
 * in bashcompinit.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from '#scripts/cli/main.ts';

const dir = mkdtempSync(join(tmpdir(), 'crosslink-completion-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function script(shell: string) {
  const out: string[] = [];
  const code = await main(['completion', shell], {
    out: (l) => out.push(l),
    err: () => {},
    cwd: dir,
    env: {},
  });
  expect(code).toBe(0);
  return `${out.join('\n')}\n`;
}

/** COMPREPLY for the words typed (the last one being completed), in a bash that sourced the script. */
function complete(file: string, ...typed: string[]) {
  const words = ['crosslink', ...typed].map((w) => `'${w}'`).join(' ');
  const r = spawnSync(
    'bash',
    [
      '-c',
      `source '${file}'; COMP_WORDS=(${words}); COMP_CWORD=${typed.length}; _crosslink; printf '%s\\n' "\${COMPREPLY[@]}"`,
    ],
    { encoding: 'utf8' },
  );
  expect(r.stderr).toBe('');
  return r.stdout.split('\n').filter(Boolean).sort();
}

describe('crosslink completion bash', () => {
  it('registers the function for crosslink and completes nouns, verbs and flags', async () => {
    const file = join(dir, 'crosslink.bash');
    writeFileSync(file, await script('bash'));
    const registered = spawnSync('bash', ['-c', `source '${file}'; complete -p crosslink`], {
      encoding: 'utf8',
    });
    expect(registered.stdout.trim()).toBe('complete -F _crosslink crosslink');
    expect(complete(file, 'li')).toEqual(['link']);
    expect(complete(file, 'd')).toEqual(['doctor', 'dr']);
    expect(complete(file, 'link', 'ap')).toEqual(['approve']);
    expect(complete(file, 'link', 'approve', 'lk-1', '--r')).toEqual(['--reason']);
    expect(complete(file, 'link', 'request', 'x.yaml', '--ti')).toEqual(['--timeout']);
    expect(complete(file, 'doctor', '--st')).toEqual(['--stage']);
    expect(complete(file, 'doctor', '--gcp-')).toEqual(['--gcp-config', '--gcp-intake', '--gcp-region']);
    expect(complete(file, 'completion', '')).toEqual(['bash', 'zsh']);
  });
});

describe('crosslink completion zsh', () => {
  it('loads bashcompinit and defines the same function', async () => {
    const text = await script('zsh');
    expect(text).toMatch(/^# zsh completion for crosslink/);
    expect(text).toContain('autoload -U +X bashcompinit && bashcompinit');
    expect(text).toContain('complete -F _crosslink crosslink');
    // The function itself runs in bash too (what bashcompinit emulates).
    const file = join(dir, 'crosslink.zsh-body.bash');
    writeFileSync(
      file,
      text
        .split('\n')
        .filter((l) => !l.startsWith('autoload'))
        .join('\n'),
    );
    expect(complete(file, 'link', 'sh')).toEqual(['show']);
  });
});
