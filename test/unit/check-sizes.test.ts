import { describe, expect, it } from 'vitest';
import { functionsOf } from '#scripts/check-sizes.ts';
import { checkTree } from '../support/tree-check.ts';

/** The doc's "Size limits" section with these exception rows. */
function doc(rows: string[] = []): string {
  return [
    '# Architecture',
    '',
    '## Size limits',
    '',
    '| file | unit | reason |',
    '| ---- | ---- | ------ |',
    ...rows,
    '',
    '## Next',
    '',
    '| not | an | exception |',
    '| --- | -- | --------- |',
    '| `functions/x.ts` | `f` | unrelated table |',
    '',
  ].join('\n');
}

/** A function declaration of exactly `lines` lines. */
function fn(name: string, lines: number): string {
  return [`export function ${name}() {`, ...Array.from({ length: lines - 2 }, () => '  work();'), '}'].join(
    '\n',
  );
}

/** The check on a tree of `files`, with the doc's section (no exceptions) unless `files` brings its own. */
const check = (files: Record<string, string>) =>
  checkTree('check-sizes.ts', { 'docs/architecture.md': doc(), ...files });

describe('the size check', () => {
  it('passes units at their limits', async () => {
    const r = await check({
      'functions/core/a.ts': `${fn('a', 100)}\n`,
      'local/b.ts': 'x\n'.repeat(600),
      'scripts/c.ts': `${fn('c', 300)}\n`,
    });
    expect(r.out).toContain('every file and function within its limit');
    expect(r.code).toBe(0);
  });

  it('fails a file over 600 lines in functions/, scripts/ or local/, and not elsewhere', async () => {
    const r = await check({
      'local/world.ts': 'x\n'.repeat(601),
      'scripts/long.ts': 'y\n'.repeat(700),
      'test/long.test.ts': 'z\n'.repeat(900),
    });
    expect(r.code).toBe(1);
    expect(r.out).toContain('local/world.ts: 601 lines, over the 600-line limit for a file');
    expect(r.out).toContain('scripts/long.ts: 700 lines');
    expect(r.out).not.toContain('test/long.test.ts');
  });

  it('fails a function over 100 lines in functions/, naming it and its line', async () => {
    const r = await check({ 'functions/core/x.ts': `const a = 1;\n${fn('importAwsExport', 101)}\n` });
    expect(r.code).toBe(1);
    expect(r.out).toContain(
      'functions/core/x.ts:2: function importAwsExport is 101 lines, over the 100-line limit',
    );
  });

  it('takes the exceptions from the doc, and fails a stale one or more than five', async () => {
    const long = { 'functions/core/x.ts': `${fn('big', 120)}\n`, 'local/y.ts': 'x\n'.repeat(650) };
    const allowed = await check({
      ...long,
      'docs/architecture.md': doc([
        '| `functions/core/x.ts` | `big` | a table of cases |',
        '| `local/y.ts` | (file) | generated |',
      ]),
    });
    expect(allowed.out).toContain('within its limit');
    expect(allowed.code).toBe(0);

    const stale = await check({
      ...long,
      'docs/architecture.md': doc([
        '| `functions/core/x.ts` | `big` | a table of cases |',
        '| `local/y.ts` | (file) | generated |',
        '| `functions/core/x.ts` | `gone` | was long |',
      ]),
    });
    expect(stale.code).toBe(1);
    expect(stale.out).toContain(
      'the size exception for functions/core/x.ts gone names nothing over its limit',
    );

    const six = await check({
      ...long,
      'docs/architecture.md': doc(
        Array.from({ length: 6 }, (_, i) => `| \`functions/core/x.ts\` | \`f${i}\` | reason |`),
      ),
    });
    expect(six.code).toBe(1);
    expect(six.out).toContain('6 size exceptions, at most 5');
  });

  it('refuses a doc without the section, or a row without its reason', async () => {
    const none = await check({ 'docs/architecture.md': '# Architecture\n' });
    expect(none.code).toBe(1);
    expect(none.out).toContain('no "Size limits" section');
    const bare = await check({ 'docs/architecture.md': doc(['| `functions/core/x.ts` | `big` | |']) });
    expect(bare.code).toBe(1);
    expect(bare.out).toContain('needs | file | unit | reason |, each filled');
  });
});

describe('the functions a module has', () => {
  it('names declarations, methods, arrows assigned to names and nested functions, with their lines', () => {
    const source = [
      'export function top(a: number): number {', // 1
      '  const inner = (b: number) => {', // 2
      '    return b;', // 3
      '  };', // 4
      '  return inner(a);', // 5
      '}', // 6
      'export class Store {', // 7
      '  #n = 0;', // 8
      '  get size(): number {', // 9
      '    return this.#n;', // 10
      '  }', // 11
      '  async put(x: string): Promise<void> {', // 12
      '    await Promise.resolve(x);', // 13
      '  }', // 14
      '}', // 15
      'export const handler = async (e: unknown) => e;', // 16
      'const table = { route: function () { return 1; } };', // 17
      // Characters of more than one byte before a function do not shift its lines.
      `[1].map((x) => x + 1); // ${'é'.repeat(80)}`, // 18
      'export default function () {', // 19
      '  return 0;', // 20
      '}', // 21
    ].join('\n');
    expect(functionsOf('m.ts', source)).toEqual([
      { name: 'top', line: 1, lines: 6 },
      { name: 'top.inner', line: 2, lines: 3 },
      { name: 'Store.size', line: 9, lines: 3 },
      { name: 'Store.put', line: 12, lines: 3 },
      { name: 'handler', line: 16, lines: 1 },
      { name: 'route', line: 17, lines: 1 },
      { name: '(anonymous)', line: 18, lines: 1 },
      { name: 'default', line: 19, lines: 3 },
    ]);
  });
});
