/**
 * The AWS half's Lambda packages as `osls package` makes them (one zip per function): each
 * function's bundle size, and its module initialisation (the import Lambda's INIT runs, in a fresh
 * process, median of 15) beside the same handler unbundled (its sources with Node's type stripping
 * and node_modules), side by side in one run, each figure beside its goal: a bundle of at most
 * 250 KB, an init of at most a third of the unbundled one. Functions whose zips hold the same bytes
 * are measured once (the same code initialises the same way); bundled and unbundled imports are
 * taken in turn, so both see the same load. Figures only: times depend on the
 * shared machine; test/contract/serverless-template.test.ts checks what the packages hold. The
 * figures it returns (two a function, then the counts) are the README's "Lambda packages" block
 * (`npm run bench -- lambda-packages --readme`).
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { packageService } from '#local/aws/wiring/packaging.ts';
import { unzip } from '#local/aws/zip.ts';
import { AWS_HALF_INPUTS, AWS_HALF_PACKAGING } from '#local/aws-half.ts';
import type { Figure } from '../scripts/bench-figures.ts';

const root = resolve(import.meta.dirname, '..');
const RUNS = 15;
export const MAX_BUNDLE_KB = 250;
export const MAX_INIT_RATIO = 1 / 3;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
}

/** Milliseconds to import `file` in a fresh process that has nothing of this one's environment. */
function initOnce(file: string): number {
  const probe = `const t=performance.now();await import(${JSON.stringify(pathToFileURL(file).href)});process.stdout.write(String(performance.now()-t));`;
  const out = spawnSync(process.execPath, ['--input-type=module', '-e', probe], {
    cwd: dirname(file),
    env: { TZ: ':UTC', LANG: 'en_US.UTF-8' },
    encoding: 'utf8',
  });
  if (out.status !== 0) throw new Error(`${file}: ${out.stderr}`);
  return Number(out.stdout);
}

/**
 * Medians of RUNS imports of each file, taken in turn (bundled, unbundled, bundled...): on a shared
 * machine both see the same load, so their ratio holds when the absolute times do not.
 */
function initMs(bundled: string, unbundled: string): { bundled: number; unbundled: number } {
  const b: number[] = [];
  const u: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    b.push(initOnce(bundled));
    u.push(initOnce(unbundled));
  }
  return { bundled: median(b), unbundled: median(u) };
}

const verdict = (ok: boolean) => (ok ? 'ok' : 'MISSED');

export async function run(): Promise<Figure[]> {
  const { templateFile } = await packageService(root, {
    inputs: AWS_HALF_INPUTS,
    environment: { ...AWS_HALF_PACKAGING },
  });
  const template = JSON.parse(readFileSync(templateFile, 'utf8')) as {
    Resources: Record<
      string,
      { Type: string; Properties: { FunctionName: string; Handler: string; Code: { S3Key: string } } }
    >;
  };
  const fns = Object.entries(template.Resources)
    .filter(([, r]) => r.Type === 'AWS::Lambda::Function')
    .map(([, r]) => {
      const zip = join(dirname(templateFile), r.Properties.Code.S3Key.split('/').pop() as string);
      const dot = r.Properties.Handler.lastIndexOf('.');
      return {
        name: r.Properties.FunctionName,
        zip,
        module: r.Properties.Handler.slice(0, dot),
      };
    })
    .sort((a, b) => a.name.localeCompare(b.name));

  const cpu = cpus();
  console.log(
    `machine: ${cpu[0]?.model ?? 'unknown cpu'} x${cpu.length}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB (shared: read the ratios)`,
  );
  console.log(`${fns.length} functions, one zip each; module init = median of ${RUNS} fresh processes`);
  console.log(
    `goals: bundle <= ${MAX_BUNDLE_KB} KB, init <= 1/${1 / MAX_INIT_RATIO} of unbundled (ratio <= ${MAX_INIT_RATIO.toFixed(2)})\n`,
  );

  // Measured once per distinct zip and handler module: the same code initialises the same way.
  const measured = new Map<
    string,
    { kb: number; zipKb: number; ms: number; unbundledMs: number; first: string }
  >();
  const rows: string[] = [];
  const figures: Figure[] = [];
  rows.push(
    `${'function'.padEnd(38)} ${'bundle KB'.padStart(9)} ${'zip KB'.padStart(7)} size   ${'init ms'.padStart(7)} ${'unbundled'.padStart(9)} ${'ratio'.padStart(6)} init`,
  );
  let sizeMissed = 0;
  let initMissed = 0;
  for (const fn of fns) {
    const key = `${createHash('sha256').update(readFileSync(fn.zip)).digest('hex')} ${fn.module}`;
    let m = measured.get(key);
    if (!m) {
      const dir = mkdtempSync(join(tmpdir(), 'crosslink-bench-artifact-'));
      try {
        unzip(fn.zip, dir);
        const file = join(dir, `${fn.module}.mjs`);
        // The unbundled handler: the module the Handler names, from the sources.
        const times = initMs(file, join(root, `${fn.module}.ts`));
        m = {
          kb: statSync(file).size / 1024,
          zipKb: statSync(fn.zip).size / 1024,
          ms: times.bundled,
          unbundledMs: times.unbundled,
          first: fn.name,
        };
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
      measured.set(key, m);
    }
    const ratio = m.ms / m.unbundledMs;
    const sizeOk = m.kb <= MAX_BUNDLE_KB;
    const initOk = ratio <= MAX_INIT_RATIO;
    if (!sizeOk) sizeMissed++;
    if (!initOk) initMissed++;
    const same = m.first === fn.name ? '' : `  (same zip as ${m.first})`;
    figures.push(
      {
        figure: `${fn.name}: bundle (zip)`,
        measured: `${m.kb.toFixed(0)} KB (${m.zipKb.toFixed(0)} KB)`,
        goal: `<= ${MAX_BUNDLE_KB} KB`,
        met: sizeOk,
      },
      {
        figure: `${fn.name}: init, bundled / unbundled`,
        measured: `${ratio.toFixed(2)} (${m.ms.toFixed(0)} / ${m.unbundledMs.toFixed(0)} ms)`,
        goal: `<= ${MAX_INIT_RATIO.toFixed(2)}`,
        met: initOk,
      },
    );
    rows.push(
      `${fn.name.padEnd(38)} ${m.kb.toFixed(0).padStart(9)} ${m.zipKb.toFixed(0).padStart(7)} ${verdict(sizeOk).padEnd(6)} ${m.ms.toFixed(0).padStart(7)} ${m.unbundledMs.toFixed(0).padStart(9)} ${ratio.toFixed(2).padStart(6)} ${verdict(initOk)}${same}`,
    );
  }
  for (const r of rows) console.log(r);
  console.log(
    `\nsize goal met by ${fns.length - sizeMissed}/${fns.length}, init goal by ${fns.length - initMissed}/${fns.length}`,
  );
  figures.push(
    {
      figure: 'functions within the bundle goal',
      measured: `${fns.length - sizeMissed} of ${fns.length}`,
      goal: `${fns.length} of ${fns.length}`,
      met: sizeMissed === 0,
    },
    {
      figure: 'functions within the init goal',
      measured: `${fns.length - initMissed} of ${fns.length}`,
      goal: `${fns.length} of ${fns.length}`,
      met: initMissed === 0,
    },
  );
  return figures;
}
