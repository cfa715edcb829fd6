import { describe, expect, it } from 'vitest';
import { renderBlock, table, withBlock } from '../../scripts/bench-figures.ts';

const README = '# x\n\n## Figures\n\nintro\n\n## Next\n\ntext\n';
const block = (bench: string, measured: string) =>
  renderBlock(bench, [{ figure: 'a | b', measured, goal: '<= 2', met: measured === '1' }], '2026-12-06', 'm');

describe('the README figures npm run bench -- --readme writes', () => {
  it('adds a bench block at the end of the Figures section, then replaces it in place', () => {
    const once = withBlock(README, 'demo', block('demo', '1'));
    expect(once.indexOf('<!-- bench:demo -->')).toBeGreaterThan(once.indexOf('intro'));
    expect(once.indexOf('<!-- /bench:demo -->')).toBeLessThan(once.indexOf('## Next'));
    expect(once).toContain('| a \\| b | 1        | <= 2 | met     |');
    const twice = withBlock(once, 'demo', block('demo', '3'));
    expect(twice.match(/<!-- bench:demo -->/g)).toHaveLength(1);
    expect(twice).toContain('| a \\| b | 3        | <= 2 | missed  |');
    expect(twice).not.toContain('| 1 ');
    expect(withBlock(twice, 'other', block('other', '1')).indexOf('bench:other')).toBeGreaterThan(
      twice.indexOf('/bench:demo'),
    );
  });

  it('refuses a README without a Figures section, or with a block left open', () => {
    expect(() => withBlock('# x\n', 'demo', block('demo', '1'))).toThrow(/no "## Figures" section/);
    expect(() => withBlock('<!-- bench:demo -->\n', 'demo', block('demo', '1'))).toThrow(/has no/);
  });

  it('pads each column to its widest cell, at least three wide', () => {
    expect(table(['a', 'bb'], [['xxxx', '']])).toEqual([
      '| a    | bb  |',
      '| ---- | --- |',
      '| xxxx |     |',
    ]);
  });
});
