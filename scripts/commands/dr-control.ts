/**
 * `crosslink dr pause|resume <plan-file>` and `crosslink dr approve <plan-file> <epoch>`: an
 * operator's control, recorded in a signal log file after checking it against the decisions that log
 * leads to (docs/dr-executor.md). Offline: they read files and run the core.
 * Exit codes: 0 recorded, 2 malformed plan or signal log, 3 refused (nothing recorded).
 */
import { appendFile, readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { approvalIssues, runFromDecisions } from '#core/dr/executor.ts';
import { replay } from '#core/dr/failover-decider.ts';
import { iso } from '#core/dr/failover-state.ts';
import type { ControlRecord } from '#core/dr/signal-log.ts';
import type { Command } from '../cli/command.ts';
import { EXIT, UsageError } from '../cli/errors.ts';
import { describeDecision, type Output, readPlanAndLog, timeOption } from './dr.ts';

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
  if (opts.control === 'approve') {
    const epoch = opts.epoch as number;
    const issues = approvalIssues(runFromDecisions(plan, result.decisions, time), plan.service, epoch, time);
    if (issues.length > 0) {
      for (const i of issues) out.err(`${plan.service}: ${i.path}: ${i.reason}`);
      return EXIT.refused;
    }
  } else if (
    (opts.control === 'pause') ===
    (result.state.paused !== null && result.state.paused.plan === true)
  ) {
    out.err(`${plan.service}: already ${opts.control === 'pause' ? 'paused' : 'running (not paused)'}`);
    return EXIT.refused;
  }
  const pending = result.decisions.findLast((d) => d.approval === 'pending');
  const control: ControlRecord = {
    time,
    control: opts.control,
    service: plan.service,
    by: opts.by,
    ...(opts.control === 'approve' && pending && { decision: pending.decision as 'failover' | 'failback' }),
  };
  const text = await readFile(resolve(opts.home, opts.signals), 'utf8');
  const newline = text.length > 0 && !text.endsWith('\n') ? '\n' : '';
  await appendFile(resolve(opts.home, opts.signals), `${newline}${JSON.stringify(control)}\n`);
  const after = replay(plan, [...records, control]);
  const what =
    opts.control === 'approve'
      ? `approved the ${control.decision} of epoch ${opts.epoch}`
      : opts.control === 'pause'
        ? 'paused: the decider holds this plan, a run under way holds between actions'
        : 'resumed';
  out.out(`${plan.service}: ${what} (by ${opts.by} at ${time}), recorded in ${opts.signals}`);
  for (const d of after.decisions.slice(result.decisions.length))
    for (const line of describeDecision(d)) out.out(line);
  return EXIT.ok;
}

/** The options the control commands share. */
const CONTROL_OPTIONS = {
  signals: { type: 'string', description: 'the signal log (JSON lines) the control is recorded in' },
  by: {
    type: 'string',
    description: 'the principal recording it (IAM principal ARN or Google account email)',
  },
  at: { type: 'string', description: 'when (RFC 3339); default now' },
} as const;

function controlCommand(control: 'pause' | 'resume', summary: string): Command {
  return {
    noun: 'dr',
    verb: control,
    args: '<plan-file> --signals <file> --by <principal> [--at <time>]',
    summary,
    example: `crosslink dr ${control} plan.yaml --signals signals.jsonl --by alice@example.com`,
    positionals: { min: 1, max: 1 },
    options: CONTROL_OPTIONS,
    run: (ctx) => runControl(ctx, control),
  };
}

async function runControl(
  ctx: Parameters<Command['run']>[0],
  control: ControlOptions['control'],
): Promise<number> {
  const { signals, by, at } = ctx.options;
  if (typeof signals !== 'string') throw new UsageError('missing --signals <file>');
  if (typeof by !== 'string' || by.length === 0) throw new UsageError('missing --by <principal>');
  let epoch: number | undefined;
  if (control === 'approve') {
    const text = ctx.positionals[1] as string;
    epoch = Number(text);
    if (!/^\d+$/.test(text) || epoch < 1)
      throw new UsageError(`<epoch>: "${text}" is not an epoch (a positive integer, as dr status shows it)`);
  }
  return drControl(
    {
      plan: ctx.positionals[0] as string,
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
  args: '<plan-file> <epoch> --signals <file> --by <principal> [--at <time>]',
  summary: 'approve the failover or failback waiting at <epoch>',
  example: 'crosslink dr approve plan.yaml 3 --signals signals.jsonl --by carol@example.com',
  positionals: { min: 2, max: 2 },
  options: CONTROL_OPTIONS,
  run: (ctx) => runControl(ctx, 'approve'),
};

/** The operator's controls of a DR plan. */
export const drControlCommands: Command[] = [pause, resume, approve];
