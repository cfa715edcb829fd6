#!/usr/bin/env node
/**
 * `npm run bench [name...]`: runs every bench/*.ts (or the named ones) one after another. Each bench
 * module exports `run(): Promise<void>` and prints its own figures and ratios. Benchmarks, not tests:
 * these machines are shared, so figures are printed, never asserted.
 */
import { readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const dir = resolve(import.meta.dirname, '..', 'bench');
const wanted = process.argv.slice(2);
const files = readdirSync(dir)
  .filter((f) => f.endsWith('.ts'))
  .filter((f) => wanted.length === 0 || wanted.includes(f.replace(/\.ts$/, '')))
  .sort();
console.log(
  `crosslink bench  ${new Date().toISOString().slice(0, 10)}  node ${process.version}  ${process.arch}`,
);
for (const f of files) {
  const mod = (await import(pathToFileURL(join(dir, f)).href)) as { run?: () => Promise<void> };
  if (typeof mod.run !== 'function') throw new Error(`bench/${f} exports no run()`);
  console.log(`\n== ${f.replace(/\.ts$/, '')}`);
  await mod.run();
}
