/**
 * The figures a bench returns, each beside its goal, and the README blocks `npm run bench --
 * --readme` writes from them: one block per bench between `<!-- bench:NAME -->` and
 * `<!-- /bench:NAME -->`, replaced where it is, added at the end of the "Figures" section where it is
 * not. The figures are the run's, never typed: a README figure is the last run's output.
 */
import { cpus, loadavg, totalmem } from 'node:os';

/** One measured figure beside its goal. `met` is absent where the figure has no goal to meet. */
export interface Figure {
  figure: string;
  measured: string;
  goal: string;
  met?: boolean;
}

/** The machine a run is on, as the README prints it beside the figures. */
export function machine(): string {
  const cores = cpus();
  const model = (cores[0]?.model ?? 'unknown CPU').replace(/\s+/g, ' ').trim();
  const load = loadavg()
    .map((l) => l.toFixed(1))
    .join(' ');
  return `${model} x${cores.length}, ${Math.round(totalmem() / 2 ** 30)} GiB, node ${process.version} ${process.arch}, load average ${load}`;
}

const cell = (s: string) => s.replace(/\|/g, '\\|');

/** A markdown table with its columns padded, as the repository's formatter lays tables out. */
export function table(header: readonly string[], rows: readonly (readonly string[])[]): string[] {
  const all = [header, ...rows].map((r) => r.map(cell));
  const widths = header.map((_, c) => Math.max(3, ...all.map((r) => (r[c] ?? '').length)));
  const line = (r: readonly string[]) => `| ${r.map((v, c) => v.padEnd(widths[c] as number)).join(' | ')} |`;
  return [line(all[0] as string[]), line(widths.map((w) => '-'.repeat(w))), ...all.slice(1).map(line)];
}

/** The markdown block of one bench's figures. */
export function renderBlock(bench: string, figures: readonly Figure[], date: string, on: string): string {
  const rows = figures.map((f) => [
    f.figure,
    f.measured,
    f.goal,
    f.met === undefined ? '' : f.met ? 'met' : 'missed',
  ]);
  return [
    `<!-- bench:${bench} -->`,
    '',
    `\`npm run bench -- ${bench}\`, ${date}, ${on}:`,
    '',
    ...table(['figure', 'measured', 'goal', 'verdict'], rows),
    '',
    `<!-- /bench:${bench} -->`,
  ].join('\n');
}

export const FIGURES_HEADING = '## Figures';

/**
 * `readme` with the block of `bench` replaced by `block`, or added at the end of the Figures section
 * when it has none yet; a README without that section is refused.
 */
export function withBlock(readme: string, bench: string, block: string): string {
  const open = `<!-- bench:${bench} -->`;
  const close = `<!-- /bench:${bench} -->`;
  const at = readme.indexOf(open);
  if (at >= 0) {
    const end = readme.indexOf(close, at);
    if (end < 0) throw new Error(`README.md: ${open} has no ${close}`);
    return readme.slice(0, at) + block + readme.slice(end + close.length);
  }
  const section = readme.indexOf(`\n${FIGURES_HEADING}\n`);
  if (section < 0)
    throw new Error(`README.md has no "${FIGURES_HEADING}" section to add ${bench}'s figures to`);
  const next = readme.indexOf('\n## ', section + 1);
  const insertAt = next < 0 ? readme.length : next;
  return `${readme.slice(0, insertAt).trimEnd()}\n\n${block}\n${readme.slice(insertAt)}`;
}
