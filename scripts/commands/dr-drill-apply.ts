/**
 * `crosslink dr drill <plan> --apply --report <file> --client-url <url> [--hold <d>]`, and
 * `--apply --end`: the drill run through the deployed AWS executor (docs/dr-executor.md "Drills").
 * The start and the end are `drill` controls on the AWS intake's control route, signed as the caller
 * (recorded with the principal IAM verified); the moves are followed on `GET /dr/{service}/run`; the
 * client of the service is ./dr-drill-client.ts; the runner ./dr-drill-run.ts; the report
 * functions/core/dr/drill-report.ts, written as JSON to `--report` and printed.
 * Exit codes: 0 the drill passed, 6 it did not (a move failed, stalled or did not end, the hold ended
 * early by the executor, an objective missed: the report names it), 2 bad input, 3 a control refused.
 */
import { randomUUID } from 'node:crypto';
import { stat, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { sleep } from '#core/clock.ts';
import { drill } from '#core/dr/drill.ts';
import { drillReportLines } from '#core/dr/drill-report.ts';
import { executorCloud } from '#core/dr/executor.ts';
import { type DrPlan, parseDrPlan } from '#core/dr/plan.ts';
import type { CommandContext } from '../cli/command.ts';
import { EXIT, UsageError } from '../cli/errors.ts';
import { parseOrReport, readInput } from './dr.ts';
import { type ResolveA, type SendRequest, serviceClient } from './dr-drill-client.ts';
import { runDrill } from './dr-drill-run.ts';

const CLIENT_INTERVAL_MS = 1000;
const CLIENT_TIMEOUT_MS = 5000;
const POLL_MS = 5000;
/** Beyond a move's actions' timeouts (and its approval's): the record's TTL and the relay's crossing. */
const MOVE_SLACK_MS = 10 * 60_000;

/** `--report`: a file in an existing folder, not a folder. */
export async function reportOption(home: string, value: unknown): Promise<string> {
  if (typeof value !== 'string' || value.length === 0)
    throw new UsageError("missing --report <file>: where the drill's report (JSON) is written");
  const path = resolve(home, value);
  const folder = await stat(dirname(path)).catch(() => undefined);
  if (!folder?.isDirectory())
    throw new UsageError(`--report: ${value}: the folder ${dirname(value)} does not exist`);
  if ((await stat(path).catch(() => undefined))?.isDirectory())
    throw new UsageError(`--report: ${value} is a folder, not a file`);
  return path;
}

/** `--client-url`: the service's URL the drill's client requests, by its DNS name. */
export function clientUrlOption(value: unknown): URL {
  if (typeof value !== 'string')
    throw new UsageError(
      "missing --client-url <url>: the service's URL (by its DNS name) that the drill's client requests",
    );
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new UsageError(`--client-url: "${value}" is not a URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new UsageError(`--client-url: ${value}: must be http or https`);
  if (/^[\d.]+$|^\[/.test(url.hostname))
    throw new UsageError(
      `--client-url: ${value}: name the service by its DNS name, not an address: the drill measures the name's flip`,
    );
  return url;
}

async function planOf(ctx: CommandContext, file: string): Promise<DrPlan | number> {
  const read = await readInput(ctx.home, file, ctx.io);
  if ('code' in read) return read.code;
  const plan = parseOrReport(file, ctx.io, () => parseDrPlan(read.text, file));
  if (!plan) return EXIT.usage;
  const executor = executorCloud(plan);
  if (executor !== 'aws')
    throw new UsageError(
      `--apply: ${file}: ${plan.service}'s traffic switch is on ${executor}, which executes it; a drill runs through the executor's control route, which only AWS's deployment serves: dr drill --apply runs plans AWS executes`,
    );
  return plan;
}

/**
 * What the drill's client and waits run on: the machine's clock and resolver for the command; a
 * test of the local cloud gives its virtual clock and the local world's DNS and serving, which
 * answer the local cloud's names (`resolvesLocalNames`).
 */
export interface DrillEnv {
  now(): number;
  sleep(ms: number): Promise<void>;
  resolveA?: ResolveA;
  send?: SendRequest;
  resolvesLocalNames: boolean;
}

const SYSTEM_ENV: DrillEnv = { now: Date.now, sleep, resolvesLocalNames: false };

async function intake(ctx: CommandContext, env: DrillEnv = SYSTEM_ENV) {
  const target = await ctx.resolveTarget();
  if (target.kind === 'local' && !env.resolvesLocalNames)
    throw new UsageError(
      "--apply: the local cloud serves its DNS names (Route 53, Cloud DNS) to its own world only, not to a client on this machine, so the drill's client could not resolve the service: run the drill with --target cloud",
    );
  // Loaded here: the intake client's SDK signer would slow the dry run's start.
  const { intakeFor } = await import('../cli/intake-client.ts');
  return (await intakeFor(ctx, 'aws')).client;
}

/** `--apply --end`: records the drill's end (the failback), for a drill stopped before it. */
export async function endDrill(ctx: CommandContext, file: string): Promise<number> {
  const plan = await planOf(ctx, file);
  if (typeof plan === 'number') return plan;
  const client = await intake(ctx);
  const answer = await client.drControl(plan.service, { control: 'drill', phase: 'end' }, randomUUID());
  ctx.io.out(`${plan.service}: drill ended by ${answer.control.by} at ${answer.control.time}`);
  for (const d of answer.decisions)
    ctx.io.out(`epoch ${d.epoch} ${d.decision}${d.approval ? ` (${d.approval})` : ''}`);
  return EXIT.ok;
}

export async function applyDrill(
  ctx: CommandContext,
  o: { file: string; holdMs: number; report: string; url: URL },
  env: DrillEnv = SYSTEM_ENV,
): Promise<number> {
  const plan = await planOf(ctx, o.file);
  if (typeof plan === 'number') return plan;
  const client = await intake(ctx, env);
  const schedule = drill(plan, { holdMs: o.holdMs });
  const http = serviceClient({
    url: o.url,
    primary: plan.primary.cloud,
    standby: plan.standby.cloud,
    timeoutMs: CLIENT_TIMEOUT_MS,
    now: env.now,
    ...(env.resolveA && { resolveA: env.resolveA }),
    ...(env.send && { send: env.send }),
  });
  let interrupts = 0;
  const onInterrupt = () => {
    interrupts++;
  };
  process.on('SIGINT', onInterrupt);
  try {
    const { report } = await runDrill(
      {
        drill: schedule,
        rpo: plan.objectives.rpo,
        endCommand: `crosslink dr drill ${o.file} --apply --end`,
        approveCommand: (epoch) => `crosslink dr approve ${o.file} ${epoch}`,
        intervalMs: CLIENT_INTERVAL_MS,
        pollMs: POLL_MS,
        moveWaitMs: (move) => {
          const m = move === 'failover' ? schedule.failover : schedule.failback;
          const approval = m.approval === 'required' ? plan.settings.approvalTimeoutMs : 0;
          return m.actions.reduce((sum, a) => sum + a.timeoutMs, 0) + approval + MOVE_SLACK_MS;
        },
      },
      {
        now: env.now,
        sleep: env.sleep,
        control: async (phase) => {
          const a = await client.drControl(plan.service, { control: 'drill', phase }, randomUUID());
          return { time: Date.parse(a.control.time), by: a.control.by, decisions: a.decisions };
        },
        run: async () => (await client.drRun(plan.service)).run,
        request: () => http.request(),
        interrupts: () => interrupts,
        say: (line) => ctx.io.out(line),
      },
    );
    await writeFile(o.report, `${JSON.stringify({ schedule, report }, null, 2)}\n`);
    for (const line of drillReportLines(report)) ctx.io.out(line);
    ctx.io.out(`report written to ${o.report}`);
    return report.passed ? EXIT.ok : EXIT.otherEnd;
  } finally {
    process.off('SIGINT', onInterrupt);
  }
}
