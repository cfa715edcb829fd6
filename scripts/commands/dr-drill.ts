/**
 * `crosslink dr drill <plan-file> [--hold <duration>] [--apply --report <file> --client-url <url>]`:
 * a game day that fails the plan's service over and back on schedule (docs/dr-executor.md "Drills").
 * Without --apply it prints what the drill would do (the executor, each move's actions in order with
 * where they run and their timeouts, the hold on the standby) and the RTO budget it is measured
 * against, and changes nothing. With --apply it runs the drill through the deployed AWS executor and
 * writes its report (./dr-drill-apply.ts); `--apply --end` ends a drill stopped before its end.
 * Exit codes: 0 printed (or the drill passed), 2 a malformed plan, a missing file or a bad flag
 * (named, with the reason), 3 a control refused, 6 the drill did not pass.
 */
import { formatDuration, parseDuration } from '#core/clock.ts';
import { DETECTION_PROBES, type Drill, type DrillMove, drill, PROBE_SCHEDULE_MS } from '#core/dr/drill.ts';
import { parseDrPlan } from '#core/dr/plan.ts';
import type { Command } from '../cli/command.ts';
import { EXIT, UsageError } from '../cli/errors.ts';
import { describeAction, type Output, parseOrReport, readInput } from './dr.ts';
import { applyDrill, clientUrlOption, endDrill, reportOption } from './dr-drill-apply.ts';

const DEFAULT_HOLD = '10m';

/** `--hold`: how long the drill stays on the standby before failing back. */
export function holdOption(value: unknown): number {
  const text = typeof value === 'string' ? value : DEFAULT_HOLD;
  let ms: number;
  try {
    ms = parseDuration(text);
  } catch {
    throw new UsageError(`--hold: "${text}" is not a duration (e.g. 10m, 1h)`);
  }
  if (ms < 60_000) throw new UsageError(`--hold: ${text} is under 1m: the drill must see the standby serve`);
  return ms;
}

function moveLines(n: number, m: DrillMove, executor: string): string[] {
  return [
    `${n}. ${m.move === 'failover' ? 'fail over' : 'fail back'} to ${m.to.cloud} ${m.to.region} (approval ${m.approval})`,
    ...m.actions.map(
      (a) =>
        `   ${a.index + 1}. ${describeAction(a.action)}  ${a.via === 'relay' ? 'across the relay' : a.via === 'commanded' ? `on ${executor}, through its commanded side` : `on ${executor}`}  timeout ${formatDuration(a.timeoutMs)}`,
    ),
  ];
}

export function drillLines(file: string, d: Drill): string[] {
  const b = d.budget;
  const over = b.totalMs >= b.rtoMs;
  return [
    `${d.service}: drill of ${file} (dry run: nothing changed)`,
    `executor: ${d.executor} (it owns the plan's traffic switch)`,
    ...moveLines(1, d.failover, d.executor),
    `2. hold on the standby for ${formatDuration(d.holdMs)}`,
    ...moveLines(3, d.failback, d.executor),
    `RTO budget: detection ${formatDuration(b.detectionMs)} (${DETECTION_PROBES} probes, one every ${formatDuration(PROBE_SCHEDULE_MS)}) + hysteresis ${formatDuration(b.hysteresisMs)} + actions at most ${formatDuration(b.actionsMs)} + the record's TTL = ${formatDuration(b.totalMs)} + TTL; plan RTO ${formatDuration(b.rtoMs)}${over ? ': over it if every action takes its whole timeout' : ''}`,
  ];
}

export async function drDrill(
  opts: { file: string; holdMs: number; json: boolean; home: string },
  out: Output,
): Promise<number> {
  const read = await readInput(opts.home, opts.file, out);
  if ('code' in read) return read.code;
  const plan = parseOrReport(opts.file, out, () => parseDrPlan(read.text, opts.file));
  if (!plan) return EXIT.usage;
  const d = drill(plan, { holdMs: opts.holdMs });
  if (opts.json) out.out(JSON.stringify(d, null, 2));
  else for (const line of drillLines(opts.file, d)) out.out(line);
  return EXIT.ok;
}

export const drillCommand: Command = {
  noun: 'dr',
  verb: 'drill',
  args: '<plan-file> [--hold <duration>] [--apply --report <file> --client-url <url> | --apply --end]',
  summary: 'a game day: fail the service over and back on schedule (prints the drill unless --apply)',
  example: 'crosslink dr drill config/dr-plans/example-ledger.yaml --hold 15m',
  positionals: { min: 1, max: 1 },
  options: {
    hold: {
      type: 'string',
      description: `how long to stay on the standby (default ${DEFAULT_HOLD}, at least 1m)`,
    },
    apply: {
      type: 'boolean',
      description:
        'run the drill through the deployed AWS executor (a plan AWS executes) and write its report',
    },
    report: { type: 'string', description: "with --apply: the file the drill's report (JSON) is written to" },
    'client-url': {
      type: 'string',
      description:
        "with --apply: the service's URL, by its DNS name, that the drill's client requests once a second",
    },
    end: {
      type: 'boolean',
      description: 'with --apply: end a drill stopped before its end (command the failback)',
    },
  },
  async run(ctx) {
    const holdMs = holdOption(ctx.options.hold);
    const file = ctx.positionals[0] as string;
    if (ctx.options.apply !== true) {
      for (const flag of ['report', 'client-url', 'end'])
        if (ctx.options[flag] !== undefined)
          throw new UsageError(
            `--${flag} is for --apply: without it the drill is printed and nothing changes`,
          );
    } else if (ctx.options.end === true) {
      for (const flag of ['report', 'client-url', 'hold'])
        if (ctx.options[flag] !== undefined)
          throw new UsageError(`--${flag}: --end only records the drill's end`);
      return endDrill(ctx, file);
    } else {
      const report = await reportOption(ctx.home, ctx.options.report);
      const url = clientUrlOption(ctx.options['client-url']);
      return applyDrill(ctx, { file, holdMs, report, url });
    }
    return drDrill(
      { file: ctx.positionals[0] as string, holdMs, json: ctx.global.json, home: ctx.home },
      ctx.io,
    );
  },
};
