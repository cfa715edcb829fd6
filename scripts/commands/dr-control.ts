/**
 * `crosslink dr pause|resume <plan-file>` and `crosslink dr approve <plan-file> <epoch>`: an
 * operator's control, checked against the decisions the log leads to, then recorded
 * (docs/dr-executor.md "Operations"). With `--signals <file>`, offline: they read files and run the
 * core. Without it, in the deployed signal log of the cloud executing the plan on the target (the
 * local cloud, or `--target cloud`), as the caller: the AWS intake's HTTP API for a plan AWS
 * executes, Google's `dr-control` function for a plan Google executes.
 * Exit codes: 0 recorded, 2 malformed plan or signal log, 3 refused (nothing recorded).
 */
import { randomUUID } from 'node:crypto';
import { appendFile, readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { type ControlRequest, controlIssues, controlRecord } from '#core/dr/controls.ts';
import { executorCloud } from '#core/dr/executor.ts';
import { replay } from '#core/dr/failover-decider.ts';
import { iso } from '#core/dr/failover-state.ts';
import { parseDrPlan } from '#core/dr/plan.ts';
import type { Command, CommandContext } from '../cli/command.ts';
import { EXIT, UsageError } from '../cli/errors.ts';
import { describeDecision, type Output, parseOrReport, readInput, readPlanAndLog, timeOption } from './dr.ts';

export interface ControlOptions {
  plan: string;
  signals: string;
  control: 'pause' | 'resume' | 'approve';
  by: string;
  /** For approve: the epoch of the pending move the operator saw. */
  epoch?: number;
  /** When the control is recorded (ms); now when not given. */
  at: number;
  home: string;
}

/**
 * Records a pause, a resume or an approval of the plan's service in the signal log. An approval names
 * the epoch of the move waiting for it: refused (exit 3, nothing recorded) when that epoch is not the
 * one waiting, or its approval timed out. A control earlier than the log's last line is refused (the
 * log is in time order).
 */
export async function drControl(opts: ControlOptions, out: Output): Promise<number> {
  const read = await readPlanAndLog(opts, out);
  if ('code' in read) return read.code;
  const { plan, lines } = read;
  const records = lines.map((l) => l.record);
  const time = iso(opts.at);
  const last = records.at(-1);
  if (last && Date.parse(last.time) > opts.at) {
    out.err(`--at: ${time} is before the log's last record (${last.time}); the log is in time order`);
    return EXIT.usage;
  }
  const result = replay(plan, records);
  const request: ControlRequest = {
    control: opts.control,
    ...(opts.epoch !== undefined && { epoch: opts.epoch }),
  };
  const issues = controlIssues(plan, result.decisions, result.state, request, time);
  if (issues.length > 0) {
    for (const i of issues)
      out.err(`${plan.service}: ${i.path === 'control' ? i.reason : `${i.path}: ${i.reason}`}`);
    return EXIT.refused;
  }
  const control = controlRecord(plan, result.decisions, request, opts.by, time);
  const text = await readFile(resolve(opts.home, opts.signals), 'utf8');
  const newline = text.length > 0 && !text.endsWith('\n') ? '\n' : '';
  await appendFile(resolve(opts.home, opts.signals), `${newline}${JSON.stringify(control)}\n`);
  const after = replay(plan, [...records, control]);
  const what = describeControl(opts.control, control.decision, opts.epoch);
  out.out(`${plan.service}: ${what} (by ${opts.by} at ${time}), recorded in ${opts.signals}`);
  for (const d of after.decisions.slice(result.decisions.length))
    for (const line of describeDecision(d)) out.out(line);
  return EXIT.ok;
}

/**
 * The control recorded in the deployed signal log of the cloud executing the plan, signed as the
 * caller: `POST /dr/{service}/controls` on the AWS intake's HTTP API (a plan whose traffic switch
 * is ARC), or on Google's `dr-control` function (a Cloud DNS failover policy). The principal
 * recorded is the one the cloud verified; the time is the deployment's. Refused (exit 3, nothing
 * recorded) as offline; a request retried with the same key records the control once.
 */
async function deployedControl(
  ctx: CommandContext,
  opts: { plan: string; control: ControlOptions['control']; epoch?: number },
): Promise<number> {
  const read = await readInput(ctx.home, opts.plan, ctx.io);
  if ('code' in read) return read.code;
  const plan = parseOrReport(opts.plan, ctx.io, () => parseDrPlan(read.text, opts.plan));
  if (!plan) return EXIT.usage;
  const executor = executorCloud(plan);
  // Loaded here: the intake client's SDK signer would slow the offline commands' start.
  const { intakeFor, googleDrControlFor } = await import('../cli/intake-client.ts');
  const client = executor === 'aws' ? (await intakeFor(ctx, 'aws')).client : await googleDrControlFor(ctx);
  const answer = await client.drControl(
    plan.service,
    { control: opts.control, ...(opts.epoch !== undefined && { epoch: opts.epoch }) },
    randomUUID(),
  );
  if (ctx.global.json) {
    ctx.io.out(JSON.stringify(answer, null, 2));
    return EXIT.ok;
  }
  const c = answer.control;
  ctx.io.out(
    `${plan.service}: ${describeControl(opts.control, c.decision, opts.epoch)} (by ${c.by} at ${c.time}), recorded in the deployed ${executor === 'aws' ? 'AWS' : 'Google'} signal log`,
  );
  for (const d of answer.decisions) for (const line of describeDecision(d)) ctx.io.out(line);
  return EXIT.ok;
}

const describeControl = (control: ControlOptions['control'], decision?: string, epoch?: number) =>
  control === 'approve'
    ? `approved the ${decision} of epoch ${epoch}`
    : control === 'pause'
      ? 'paused: the decider holds this plan, a run under way holds between actions'
      : 'resumed';

/** The options the control commands share. */
const CONTROL_OPTIONS = {
  signals: {
    type: 'string',
    description:
      'the signal log (JSON lines) the control is recorded in; without it, the deployed log of the cloud executing the plan',
  },
  by: {
    type: 'string',
    description:
      'with --signals: the principal recording it (IAM principal ARN or Google account email); deployed, the caller the cloud verified',
  },
  at: { type: 'string', description: 'with --signals: when (RFC 3339); default now' },
} as const;

function controlCommand(control: 'pause' | 'resume', summary: string): Command {
  return {
    noun: 'dr',
    verb: control,
    args: '<plan-file> [--signals <file> --by <principal> [--at <time>]]',
    summary,
    example: `crosslink dr ${control} plan.yaml --as bob`,
    positionals: { min: 1, max: 1 },
    options: CONTROL_OPTIONS,
    run: (ctx) => runControl(ctx, control),
  };
}

async function runControl(ctx: CommandContext, control: ControlOptions['control']): Promise<number> {
  const { signals, by, at } = ctx.options;
  let epoch: number | undefined;
  if (control === 'approve') {
    const text = ctx.positionals[1] as string;
    epoch = Number(text);
    if (!/^\d+$/.test(text) || epoch < 1)
      throw new UsageError(`<epoch>: "${text}" is not an epoch (a positive integer, as dr status shows it)`);
  }
  const plan = ctx.positionals[0] as string;
  if (signals === undefined) {
    if (by !== undefined)
      throw new UsageError(
        '--by is for a signal log file (--signals): the deployed log records the caller the cloud verified',
      );
    if (at !== undefined)
      throw new UsageError('--at is for a signal log file (--signals): the deployment records its own time');
    return deployedControl(ctx, { plan, control, ...(epoch !== undefined && { epoch }) });
  }
  if (typeof signals !== 'string') throw new UsageError('missing --signals <file>');
  if (typeof by !== 'string' || by.length === 0) throw new UsageError('missing --by <principal>');
  return drControl(
    {
      plan,
      signals,
      control,
      by,
      ...(epoch !== undefined && { epoch }),
      at: timeOption('at', at) ?? Date.now(),
      home: ctx.home,
    },
    ctx.io,
  );
}

const pause = controlCommand(
  'pause',
  'pause a DR plan: its decider holds, its run under way stops between actions',
);
const resume = controlCommand('resume', 'resume a paused DR plan');
const approve: Command = {
  noun: 'dr',
  verb: 'approve',
  args: '<plan-file> <epoch> [--signals <file> --by <principal> [--at <time>]]',
  summary: 'approve the failover or failback waiting at <epoch>',
  example: 'crosslink dr approve plan.yaml 3 --as bob',
  positionals: { min: 2, max: 2 },
  options: CONTROL_OPTIONS,
  run: (ctx) => runControl(ctx, 'approve'),
};

/** The operator's controls of a DR plan. */
export const drControlCommands: Command[] = [pause, resume, approve];
