#!/usr/bin/env node
/**
 * `npm run chaos -- --seeds N [--from S]`: runs seeds S .. S+N-1 (default 1 .. 10), each a scenario
 * drawn by fast-check (scenario.ts), on one local cloud shared by all of them (runner.ts), and
 * prints a line per seed and a summary table: scenarios, faults injected, invariant checks,
 * failures. A failing seed is shrunk (within --shrink-budget, default 15m of wall time; --no-shrink
 * to skip) and reported with the command that replays the shrunk scenario:
 * `npm run chaos -- --seed S --path P`. `--broken <name>` runs against a deliberately broken build
 * (broken.ts: a patched copy of the repository). Exits 1 when a seed failed, 2 on a usage error.
 */
import { createWriteStream } from 'node:fs';
import { parseArgs } from 'node:util';
import { parseDuration } from '#core/clock.ts';
import { ROOT } from '../support/both-halves.ts';
import { BREAKS, type BreakName, brokenCopy } from './broken.ts';
import { startChaosCloud } from './cloud.ts';
import { drInvariants, drWorkload, enableDr } from './dr.ts';
import { registerInvariant, registerWorkload } from './registry.ts';
import { failureReport, runSeed, type SeedOutcome } from './runner.ts';

/**
 * The functions' sandboxes echo what they write to this process's stdout and stderr; the runs keep
 * it (the invariants read it), the report does not need it: it is echoed only with --verbose, or
 * written to the file `--log` names (each seed's part after a line naming it), so that a seed that
 * failed in a long batch can be read afterwards without a replay, which may take another road.
 */
const out = process.stdout.write.bind(process.stdout);
const err = process.stderr.write.bind(process.stderr);
const say = (line: string) => out(`${line}\n`);

function usage(message: string): never {
  err(
    `${message}\nusage: npm run chaos -- [--seeds N] [--from S] | --seed S [--path P]  [--no-shrink] [--shrink-budget 15m] [--max-links 2] [--max-faults 6] [--max-vpns 2] [--broken ${Object.keys(BREAKS).join('|')}] [--no-dr] [--verbose | --log FILE]\n`,
  );
  process.exit(2);
}

function positiveInt(name: string, v: string | undefined, fallback: number, min = 1): number {
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) usage(`--${name} must be an integer >= ${min} (got ${v})`);
  return n;
}

let args: ReturnType<typeof parse>;
function parse() {
  return parseArgs({
    options: {
      seeds: { type: 'string' },
      from: { type: 'string' },
      seed: { type: 'string' },
      path: { type: 'string' },
      'no-shrink': { type: 'boolean' },
      'shrink-budget': { type: 'string' },
      'max-links': { type: 'string' },
      'max-faults': { type: 'string' },
      'max-vpns': { type: 'string' },
      broken: { type: 'string' },
      verbose: { type: 'boolean' },
      log: { type: 'string' },
      'no-dr': { type: 'boolean' },
    },
    strict: true,
  });
}
try {
  args = parse();
} catch (err) {
  usage((err as Error).message);
}
const v = args.values;
if (v.seed !== undefined && (v.seeds !== undefined || v.from !== undefined))
  usage('--seed replays one seed: it goes without --seeds and --from');
if (v.path !== undefined && v.seed === undefined) usage('--path replays a shrunk scenario of one --seed');
if (v.path !== undefined && !/^\d+(:\d+)*$/.test(v.path))
  usage(`--path must be fast-check's path, e.g. 0:1:3 (got ${v.path})`);
const from = v.seed !== undefined ? positiveInt('seed', v.seed, 1, 0) : positiveInt('from', v.from, 1, 0);
const count = v.seed !== undefined ? 1 : positiveInt('seeds', v.seeds, 10);
let shrinkBudgetMs = 15 * 60_000;
if (v['shrink-budget'] !== undefined) {
  try {
    shrinkBudgetMs = parseDuration(v['shrink-budget']);
  } catch {
    usage(`--shrink-budget must be a duration such as 10m (got ${v['shrink-budget']})`);
  }
}
const limits = {
  maxLinks: positiveInt('max-links', v['max-links'], 2),
  maxFaults: positiveInt('max-faults', v['max-faults'], 6, 0),
  maxVpns: positiveInt('max-vpns', v['max-vpns'], 2, 0),
};

if (v.broken !== undefined && !(v.broken in BREAKS))
  usage(`--broken must be one of ${Object.keys(BREAKS).join(', ')} (got ${v.broken})`);
if (v.verbose && v.log !== undefined) usage('--log keeps what --verbose prints: give one of them');
const log = v.log === undefined ? undefined : createWriteStream(v.log, { flags: 'a' });
if (!v.verbose) {
  const sink = (chunk: string | Uint8Array) => (log ? log.write(chunk) : true);
  process.stdout.write = sink as typeof process.stdout.write;
  process.stderr.write = sink as typeof process.stderr.write;
}
const broken = v.broken === undefined ? undefined : brokenCopy(v.broken as BreakName);
// The DR failover (dr.ts) beside the links: a DR cloud of its own per scenario, from the same build.
registerWorkload(drWorkload);
for (const i of drInvariants) registerInvariant(i);
enableDr(v['no-dr'] ? undefined : { root: broken ?? ROOT });
const cloud = await startChaosCloud({ ownEmulators: true, ...(broken ? { repoDir: broken } : {}) });
/** What a replay needs besides the seed and path: the same arbitrary (limits) and build. */
const replayArgs = [
  ...(v['max-links'] ? ['--max-links', v['max-links']] : []),
  ...(v['max-faults'] ? ['--max-faults', v['max-faults']] : []),
  ...(v['max-vpns'] ? ['--max-vpns', v['max-vpns']] : []),
  ...(v.broken ? ['--broken', v.broken] : []),
  ...(v['no-dr'] ? ['--no-dr'] : []),
];
let stopping = false;
const stop = async () => {
  if (stopping) return;
  stopping = true;
  await cloud.stop();
};
for (const signal of ['SIGINT', 'SIGTERM'] as const)
  process.once(signal, () => {
    err(`\n${signal}: stopping the local cloud\n`);
    void stop().finally(() => process.exit(130));
  });

say(
  `crosslink chaos  ${new Date().toISOString()}  seeds ${from}..${from + count - 1}  cloud ready in ${cloud.bootMs} ms${broken ? `  BROKEN BUILD: ${BREAKS[v.broken as BreakName].what}` : ''}`,
);
const outcomes: SeedOutcome[] = [];
const started = Date.now();
try {
  for (let seed = from; seed < from + count; seed++) {
    log?.write(`\n===== chaos seed ${seed} ${new Date().toISOString()} =====\n`);
    let runsOfSeed = 0;
    const o = await runSeed(cloud, seed, {
      limits,
      shrink: !v['no-shrink'] && v.path === undefined,
      shrinkBudgetMs,
      ...(v.path ? { path: v.path } : {}),
      // Each shrinking run, as it ends (the first is printed below).
      onRun: (r) => {
        if (r !== undefined && runsOfSeed++ > 0)
          say(
            `  shrinking: ${r.violations.length === 0 ? 'held' : 'failed'} with ${r.scenario.faults.length} fault(s), ${r.scenario.links.length} link(s), ${(r.wallMs / 1000).toFixed(0)} s${v.verbose ? `\n${r.steps.map((s) => `      ${s}`).join('\n')}` : ''}`,
          );
      },
    });
    outcomes.push(o);
    const r = o.first;
    say(
      `seed ${seed}: ${r.violations.length === 0 ? 'held' : 'FAILED'}  ${r.scenario.links.length} link(s), ${r.scenario.vpns?.length ?? 0} VPN(s), ${r.faults.injected} fault(s) injected, ${r.checks} checks, ${(r.wallMs / 1000).toFixed(1)} s`,
    );
    if (r.violations.length > 0 || v.verbose) say(r.steps.map((s) => `    ${s}`).join('\n'));
    if (v.verbose) say(`  trace:\n${r.trace.map((t) => `    ${JSON.stringify(t)}`).join('\n')}`);
    if (r.violations.length > 0) say(failureReport(o, replayArgs));
    if (r.violations.length > 0 && log)
      say(`  function output: ${v.log} (after "===== chaos seed ${seed} ")`);
  }
} finally {
  await stop();
  await new Promise<void>((resolve) => (log ? log.end(resolve) : resolve()));
}

const failed = outcomes.filter((o) => o.first.violations.length > 0);
const sum = (f: (o: SeedOutcome) => number) => outcomes.reduce((n, o) => n + f(o), 0);
const rows: [string, string][] = [
  ['scenarios', String(outcomes.length)],
  ['runs (shrinking included)', String(sum((o) => o.runs))],
  ['links', String(sum((o) => o.first.scenario.links.length))],
  ['VPNs', String(sum((o) => o.first.scenario.vpns?.length ?? 0))],
  ['faults scheduled', String(sum((o) => o.first.scenario.faults.length))],
  ['faults injected', String(sum((o) => o.faultsInjected))],
  ['DR scenarios run', String(outcomes.filter((o) => o.first.steps.some((l) => / dr @/.test(l))).length)],
  ['invariant checks', String(sum((o) => o.checks))],
  ['failures', String(failed.length)],
  [
    'wall time',
    `${((Date.now() - started) / 1000).toFixed(0)} s, after ${(cloud.bootMs / 1000).toFixed(0)} s of boot`,
  ],
];
const width = Math.max(...rows.map(([k]) => k.length));
say(`\n${rows.map(([k, val]) => `${k.padEnd(width)}  ${val}`).join('\n')}`);
if (failed.length > 0) say(`\nfailed seeds: ${failed.map((o) => o.seed).join(', ')}`);
process.exit(failed.length > 0 ? 1 : 0);
