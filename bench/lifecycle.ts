/**
 * One whole link lifecycle in the whole-system tests (request -> ACTIVE on both sides ->
 * DECOMMISSIONED on both sides, through the CLI only), in wall time beside the 20 s goal: the
 * lifecycles of test/e2e/links-cli.test.ts, run by vitest as the suite runs them, timed by vitest
 * (its JSON report). Twice: the AWS-first lifecycle alone, then the file's four lifecycles at once
 * (as the suite runs them). With each, where the file's wall time went on the driven clock
 * (test/support/clock-driver.ts `ClockTimes`, written by the harness when CROSSLINK_E2E_TIMES
 * names a file): virtual time flowed while something ran or jumped while nothing did, and the wall
 * time spent busy, in the quiet window before a jump, and in the jumps; what was in flight; and
 * how many watcher runs each cloud ran at once and refused.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Figure } from '../scripts/bench-figures.ts';
import type { E2eTimes } from '../test/support/both-halves.ts';

const root = resolve(import.meta.dirname, '..');
const FILE = 'test/e2e/links-cli.test.ts';
const GOAL_MS = 20_000;
/** The four lifecycles of the file (their names start so); the fifth test fails a request early. */
const LIFECYCLE = /^(AWS first|Google first)[^:]*: .*ACTIVE, then DECOMMISSIONED$/;

interface Run {
  /** Each lifecycle's time; `failed` when it did not end well (vitest's duration is then to its failure or timeout). */
  lifecycles: { name: string; ms: number; failed: boolean }[];
  times: E2eTimes | undefined;
}

async function runFile(testName?: string): Promise<Run> {
  const dir = mkdtempSync(join(tmpdir(), 'crosslink-bench-lifecycle-'));
  const report = join(dir, 'report.json');
  const timesFile = join(dir, 'clock.json');
  try {
    const args = ['vitest', 'run', FILE, '--reporter=json', `--outputFile=${report}`];
    if (testName) args.push('-t', testName);
    const code = await new Promise<number | null>((done) => {
      const child = spawn('npx', args, {
        cwd: root,
        env: { ...process.env, CROSSLINK_E2E_TIMES: timesFile },
        stdio: ['ignore', 'ignore', 'inherit'],
      });
      child.on('exit', done);
    });
    const json = JSON.parse(readFileSync(report, 'utf8')) as {
      testResults: { assertionResults: { title: string; status: string; duration?: number }[] }[];
    };
    const results = json.testResults.flatMap((f) => f.assertionResults);
    const timed = results.filter((r) => LIFECYCLE.test(r.title) && r.status !== 'skipped');
    if (timed.length === 0) throw new Error(`${FILE} ran no lifecycle (exit ${code}): see its output`);
    let times: E2eTimes | undefined;
    try {
      times = JSON.parse(readFileSync(timesFile, 'utf8')) as E2eTimes;
    } catch {
      times = undefined;
    }
    return {
      lifecycles: timed.map((r) => ({
        name: r.title.split(':')[0] as string,
        ms: r.duration ?? Number.NaN,
        failed: r.status !== 'passed',
      })),
      times,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
/** A lifecycle's time as measured: a failed one's time is to its failure (a timeout: its bound). */
const took = (l: { ms: number; failed: boolean }) => `${s(l.ms)}${l.failed ? ' (failed)' : ''}`;

function printTimes(label: string, times: E2eTimes | undefined): void {
  if (!times) return;
  const t = times.clock;
  console.log(
    `  ${label}: ${t.jumps} jumps carried ${s(t.jumpedVirtualMs)} of virtual time in ${s(t.jumpWallMs)} of wall time; ${s(t.flowedVirtualMs)} of virtual time flowed; wall time busy ${s(t.busyWallMs)}, quiet before a jump ${s(t.quietWallMs)}`,
  );
  const top = Object.entries(t.busyWith).slice(0, 8);
  console.log(`  in flight (wall time): ${top.map(([k, ms]) => `${k} ${s(ms)}`).join('; ')}`);
  const watcher = times.lambda['crosslink-dev-watcher'];
  const google = times.google.watcher;
  if (watcher)
    console.log(
      `  AWS watcher: at most ${watcher.peak} at once, ${watcher.throttles} throttled, ${watcher.coldStarts} cold starts; Google watcher: at most ${google?.peak ?? '?'} at once, ${google?.refused ?? '?'} refused (429)`,
    );
}

export async function run(): Promise<Figure[]> {
  const alone = await runFile('AWS first: requested by alice');
  const one = alone.lifecycles[0];
  if (!one) throw new Error('the AWS-first lifecycle did not run');
  console.log(`one lifecycle alone (${one.name}): ${took(one)} (goal <= 20 s)`);
  printTimes('the file, that lifecycle alone', alone.times);
  const four = await runFile();
  const slowest = four.lifecycles.reduce((a, b) => (b.ms > a.ms ? b : a));
  console.log(
    `four lifecycles at once: ${four.lifecycles.map((l) => `${l.name} ${took(l)}`).join(', ')} (goal <= 20 s each)`,
  );
  printTimes('the whole file', four.times);
  return [
    {
      figure: `one link lifecycle in the e2e, alone (${FILE}, AWS first)`,
      measured: took(one),
      goal: '<= 20 s',
      met: !one.failed && one.ms <= GOAL_MS,
    },
    {
      figure: `the slowest of ${FILE}'s four lifecycles, run at once`,
      measured: took(slowest),
      goal: '<= 20 s',
      met: !slowest.failed && slowest.ms <= GOAL_MS,
    },
  ];
}
