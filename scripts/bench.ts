#!/usr/bin/env node
/**
 * `npm run bench [name...] [--readme]`: runs every bench/*.ts (or the named ones) one after another.
 * Each bench module exports `run()`, prints its own figures and ratios, and may return its figures
 * (`Figure[]`: each beside its goal). With `--readme`, each returned set replaces that bench's block
 * in README.md (scripts/bench-figures.ts), stamped with the date and the machine: the README's
 * figures are the run's output, never typed. Benchmarks, not tests: these machines are shared, so
 * figures are printed, never asserted.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { type Figure, machine, renderBlock, withBlock } from './bench-figures.ts';

const root = resolve(import.meta.dirname, '..');
const dir = join(root, 'bench');
const args = process.argv.slice(2);
const readme = args.includes('--readme');
const wanted = args.filter((a) => a !== '--readme');
const unknownFlag = wanted.find((a) => a.startsWith('-'));
if (unknownFlag) {
  console.error(`npm run bench: unknown option ${unknownFlag} (benches by name, and --readme)`);
  process.exit(2);
}
const files = readdirSync(dir)
  .filter((f) => f.endsWith('.ts'))
  .filter((f) => wanted.length === 0 || wanted.includes(f.replace(/\.ts$/, '')))
  .sort();
const missing = wanted.filter((w) => !files.includes(`${w}.ts`));
if (missing.length) {
  console.error(`npm run bench: no bench named ${missing.join(', ')} in bench/`);
  process.exit(2);
}
const date = new Date().toISOString().slice(0, 10);
const on = machine();
console.log(`crosslink bench  ${date}  ${on}`);
const results = new Map<string, Figure[]>();
const failed: string[] = [];
for (const f of files) {
  const mod = (await import(pathToFileURL(join(dir, f)).href)) as {
    run?: () => Promise<Figure[] | undefined>;
  };
  if (typeof mod.run !== 'function') throw new Error(`bench/${f} exports no run()`);
  const name = f.replace(/\.ts$/, '');
  console.log(`\n== ${name}`);
  try {
    const figures = await mod.run();
    if (figures?.length) results.set(name, figures);
  } catch (e) {
    // One bench that fails leaves the others' figures; the run still exits 1.
    failed.push(name);
    console.error(`bench ${name} failed: ${(e as Error).stack ?? e}`);
    results.set(name, [
      {
        figure: `${name}: the bench failed`,
        measured: (e as Error).message.split('\n')[0] ?? '',
        goal: 'a figure',
        met: false,
      },
    ]);
  }
}
if (readme) {
  const path = join(root, 'README.md');
  let text = readFileSync(path, 'utf8');
  for (const [name, figures] of results) text = withBlock(text, name, renderBlock(name, figures, date, on));
  writeFileSync(path, text);
  console.log(`\nREADME.md: figures of ${[...results.keys()].join(', ') || 'no bench'} written`);
}
if (failed.length) {
  console.error(`\nfailed: ${failed.join(', ')}`);
  process.exitCode = 1;
}
